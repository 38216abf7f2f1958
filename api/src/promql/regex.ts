/**
 * Regular expressions that come from requests (label matchers, label_replace), run by RE2's
 * linear-time engine (re2js, the JavaScript port of RE2) with Go's syntax and Prometheus's
 * anchoring: a matcher `=~"re"` matches a whole value, as `^(?s:re)$` does in Prometheus
 * (model/labels/regexp.go). No backtracking engine ever sees a request's pattern, so no pattern
 * can take time that grows faster than the text it runs over.
 */
import { RE2JS } from 're2js';

export class RegexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegexError';
  }
}

/** Most label values a compiled matcher remembers its answer for. */
const MEMO_LIMIT = 4096;

export interface CompiledRegex {
  /** whether the pattern matches the whole of s. */
  test(s: string): boolean;
  /** the pattern as RE2 compiled it (anchored). */
  re: RE2JS;
}

/** A syntax error of RE2 as Go's regexp words it ("error parsing regexp: missing closing ): `(a`"). */
function describe(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.startsWith('error parsing regexp') ? m : `error parsing regexp: ${m}`;
}

/** Compiles `^(?s:pattern)$` with RE2; throws RegexError with RE2's message for bad syntax. */
export function compileAnchored(pattern: string): CompiledRegex {
  let re: RE2JS;
  try {
    // Checked on its own first, so an error names the user's pattern, not our anchoring.
    RE2JS.compile(pattern);
    re = RE2JS.compile(`^(?s:${pattern})$`);
  } catch (err) {
    throw new RegexError(describe(err));
  }
  // Fast paths Prometheus takes too (FastRegexMatcher): literal text, .* and .+.
  if (pattern === '.*') return { re, test: () => true };
  if (pattern === '.+') return { re, test: (s) => s.length > 0 };
  if (/^[A-Za-z0-9_:\- ]*$/.test(pattern)) return { re, test: (s) => s === pattern };
  if (/^[A-Za-z0-9_:\- ]+(\|[A-Za-z0-9_:\- ]+)+$/.test(pattern)) {
    const set = new Set(pattern.split('|'));
    return { re, test: (s) => set.has(s) };
  }
  const memo = new Map<string, boolean>();
  return {
    re,
    test(s) {
      let r = memo.get(s);
      if (r === undefined) {
        r = re.matches(s);
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(s, r);
      }
      return r;
    },
  };
}

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  label: string;
  op: MatchOp;
  value: string;
  test(v: string): boolean;
}

/** A label matcher; regexes are RE2, fully anchored. Throws RegexError for a bad pattern. */
export function makeMatcher(label: string, op: MatchOp, value: string): LabelMatcher {
  switch (op) {
    case '=':
      return { label, op, value, test: (v) => v === value };
    case '!=':
      return { label, op, value, test: (v) => v !== value };
    case '=~': {
      const re = compileAnchored(value);
      return { label, op, value, test: re.test };
    }
    case '!~': {
      const re = compileAnchored(value);
      return { label, op, value, test: (v) => !re.test(v) };
    }
    default:
      throw new RegexError(`unknown match operator ${String(op)}`);
  }
}

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
