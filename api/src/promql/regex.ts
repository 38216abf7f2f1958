/**
 * label_replace's templates. The patterns and matchers themselves are store's (store/src/regex.ts:
 * RE2 by re2js, fully anchored as in Prometheus), shared with the JSON API.
 */

/**
 * Go's regexp.Expand for a replacement template: `$1`, `${1}`, `$name`, `${name}`, `$$`. As in Go,
 * `$name` takes the longest run of letters, digits and underscores, so `$1x` names the group
 * "1x" (empty when there is none); a group that did not take part expands to nothing.
 */
export function expandTemplate(template: string, group: (nameOrIndex: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$' || i === template.length - 1) {
      out += c;
      continue;
    }
    const next = template[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let end = i + 1;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(inner)) {
        name = inner;
        end = close + 1;
      }
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (m) {
        name = m[0];
        end = i + 1 + m[0].length;
      }
    }
    if (name === undefined) {
      // Malformed: Go copies the '$' and goes on.
      out += c;
      continue;
    }
    out += group(name) ?? '';
    i = end - 1;
  }
  return out;
}
