/**
 * Regular expressions that come from requests (PromQL label matchers and label_replace, the JSON
 * API's =~ and !~ matchers), run by RE2's linear-time engine (re2js, the JavaScript port of RE2)
 * with Go's syntax and Prometheus's anchoring: a pattern matches a whole value, as `^(?s:re)$`
 * does in Prometheus (model/labels/regexp.go). No backtracking engine ever sees a request's
 * pattern, so no pattern can take time that grows faster than the text it runs over.
 */
import { RE2JS } from 're2js';
import type { Matcher, MatchOp } from './catalog.js';

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
    re = RE2JS.compile(`^(?s:${pattern})$`);
  } catch (err) {
    // Compiled again on its own only to fail, so the error names the user's pattern, not our anchoring.
    try {
      RE2JS.compile(pattern);
    } catch (own) {
      throw new RegexError(describe(own));
    }
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

/** A catalog Matcher (catalog.ts) with its test. */
export interface LabelMatcher extends Matcher {
  test(v: string): boolean;
}

/** A label matcher (PromQL's and the JSON API's); regexes are RE2, fully anchored. Throws RegexError for a bad pattern. */
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
