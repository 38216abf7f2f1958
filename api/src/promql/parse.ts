/**
 * PromQL text -> our AST, with the official grammar (@prometheus-io/lezer-promql, the parser of
 * Prometheus's own web UI) and the type checks Prometheus's parser makes (promql/parser/parse.go:
 * checkAST). What the engine does not evaluate is refused here as bad_data naming the construct,
 * so nothing unsupported reaches the evaluator.
 *
 * Supported: number literals; instant and range vector selectors with =, !=, =~, !~ (regexes are
 * fully anchored, as in Prometheus; JavaScript syntax, which agrees with RE2 on the common
 * subset; a leading (?i) is case-insensitive); offset; rate irate increase delta deriv;
 * avg/min/max/sum/count_over_time; sum avg min max count topk with by/without; + - * / % ^ and
 * == != > < >= <= (with bool) between scalars and vectors, vector-vector one-to-one with
 * on/ignoring; unary minus; parentheses.
 */
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { QueryError } from './errors.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';
export interface LabelMatcher {
  label: string;
  op: MatchOp;
  value: string;
  test(v: string): boolean;
}

export const RANGE_FUNCTIONS = ['rate', 'irate', 'increase', 'delta', 'deriv', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time'] as const;
export type RangeFn = (typeof RANGE_FUNCTIONS)[number];
export const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'topk'] as const;
export type AggOp = (typeof AGGREGATIONS)[number];
export const ARITHMETIC = ['+', '-', '*', '/', '%', '^'] as const;
export const COMPARISON = ['==', '!=', '>', '<', '>=', '<='] as const;
export type BinOp = (typeof ARITHMETIC)[number] | (typeof COMPARISON)[number];

export interface Selector {
  kind: 'selector';
  /** the metric name when a matcher fixes it (name or __name__="..."). */
  name: string | undefined;
  /** every matcher, __name__ included. */
  matchers: LabelMatcher[];
  /** range of a range vector selector, ms; undefined for an instant vector selector. */
  range: number | undefined;
  offset: number;
}

export type Expr =
  | { kind: 'number'; value: number }
  | Selector
  | { kind: 'call'; fn: RangeFn; arg: Selector }
  | { kind: 'agg'; op: AggOp; by: string[] | undefined; without: string[] | undefined; param: Expr | undefined; expr: Expr }
  | { kind: 'binary'; op: BinOp; lhs: Expr; rhs: Expr; bool: boolean; matching: { on: boolean; labels: string[] } | undefined }
  | { kind: 'unary'; expr: Expr };

export type ValueType = 'scalar' | 'vector' | 'matrix';

export function typeOf(e: Expr): ValueType {
  switch (e.kind) {
    case 'number':
      return 'scalar';
    case 'selector':
      return e.range === undefined ? 'vector' : 'matrix';
    case 'unary':
      return typeOf(e.expr);
    case 'binary':
      return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    default:
      return 'vector';
  }
}

const TYPE_NAMES: Record<ValueType | 'string', string> = { scalar: 'scalar', vector: 'instant vector', matrix: 'range vector', string: 'string' };

// Function identifiers and aggregation operators by lezer node name.
const FN_NODES: Record<string, RangeFn> = {
  Rate: 'rate', Irate: 'irate', Increase: 'increase', Delta: 'delta', Deriv: 'deriv',
  AvgOverTime: 'avg_over_time', MinOverTime: 'min_over_time', MaxOverTime: 'max_over_time', SumOverTime: 'sum_over_time', CountOverTime: 'count_over_time',
};
const AGG_NODES: Record<string, AggOp> = { Sum: 'sum', Avg: 'avg', Min: 'min', Max: 'max', Count: 'count', Topk: 'topk' };
const BIN_NODES: Record<string, BinOp> = {
  Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^', Eql: '==', Neq: '!=', Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=',
};
const UNSUPPORTED_NODES: Record<string, string> = {
  SubqueryExpr: 'subqueries', StepInvariantExpr: 'the @ modifier', StringLiteral: 'string literals', AnchoredExpr: 'the anchored modifier',
  SmoothedExpr: 'the smoothed modifier',
};

class Parser {
  constructor(readonly text: string) {}

  pos(offset: number): { line: number; col: number } {
    const before = this.text.slice(0, offset);
    const line = before.split('\n').length;
    return { line, col: offset - before.lastIndexOf('\n') };
  }

  fail(node: SyntaxNode | number, message: string): never {
    throw new QueryError(message, this.pos(typeof node === 'number' ? node : node.from));
  }

  src(n: SyntaxNode): string {
    return this.text.slice(n.from, n.to);
  }

  kids(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) if (c.name !== 'LineComment') out.push(c);
    return out;
  }

  expr(n: SyntaxNode): Expr {
    switch (n.name) {
      case 'ParenExpr': {
        const inner = this.kids(n)[0];
        if (!inner) this.fail(n, 'unexpected ")"');
        return this.expr(inner);
      }
      case 'NumberDurationLiteral':
        return { kind: 'number', value: this.number(n) };
      case 'VectorSelector':
        return this.selector(n);
      case 'MatrixSelector':
        return this.matrix(n);
      case 'OffsetExpr':
        return this.offset(n);
      case 'FunctionCall':
        return this.call(n);
      case 'AggregateExpr':
        return this.aggregate(n);
      case 'BinaryExpr':
        return this.binary(n);
      case 'UnaryExpr': {
        const [op, inner] = this.kids(n);
        const e = this.expr(inner!);
        const t = typeOf(e);
        if (t !== 'scalar' && t !== 'vector') this.fail(n, `unary expression only allowed on expressions of type scalar or instant vector, got "${TYPE_NAMES[t]}"`);
        return this.src(op!) === '-' ? { kind: 'unary', expr: e } : e;
      }
      default: {
        const what = UNSUPPORTED_NODES[n.name];
        if (what) this.fail(n, `not supported by PerfWatch's PromQL engine: ${what} ("${this.src(n).slice(0, 60)}")`);
        this.fail(n, `"${this.src(n).slice(0, 60)}" (${n.name}) is not supported by PerfWatch's PromQL engine`);
      }
    }
  }

  number(n: SyntaxNode): number {
    const s = this.src(n);
    const lower = s.toLowerCase();
    if (lower === 'inf' || lower === '+inf') return Infinity;
    if (lower === '-inf') return -Infinity;
    if (lower === 'nan') return Number.NaN;
    const v = /^0x[0-9a-f]+$/i.test(s) ? Number.parseInt(s, 16) : Number(s);
    if (!Number.isNaN(v)) return v;
    const d = parseDuration(s);
    if (d !== undefined) return d / 1000;
    return this.fail(n, `bad number or duration syntax: "${s}"`);
  }

  duration(n: SyntaxNode | null | undefined, ctx: string): number {
    if (!n) this.fail(this.text.length, `missing duration in ${ctx}`);
    const k = this.kids(n);
    if (n.name === 'DurationExpr' || n.name === 'OffsetDurationExpr') {
      if (k.length === 1) return this.duration(k[0], ctx);
      if (n.name === 'OffsetDurationExpr' && k.length === 2 && this.src(k[0]!) === '-') return -this.duration(k[1], ctx);
      if (k.length === 2 && this.src(k[0]!) === '+') return this.duration(k[1], ctx);
      this.fail(n, `duration expressions ("${this.src(n)}") are not supported by PerfWatch's PromQL engine`);
    }
    if (n.name === 'NumberDurationLiteralInDurationContext' || n.name === 'NumberDurationLiteral') {
      const s = this.src(n);
      const d = parseDuration(s) ?? (/^\d+(\.\d+)?$/.test(s) ? Number(s) * 1000 : undefined);
      if (d === undefined) this.fail(n, `bad duration syntax: "${s}"`);
      return d;
    }
    return this.fail(n, `"${this.src(n)}" is not a duration`);
  }

  string(n: SyntaxNode): string {
    return unquote(this.src(n), () => this.fail(n, `invalid string literal ${this.src(n).slice(0, 60)}`));
  }

  selector(n: SyntaxNode): Selector {
    const matchers: LabelMatcher[] = [];
    let name: string | undefined;
    for (const c of this.kids(n)) {
      if (c.name === 'Identifier') name = this.src(c);
      else if (c.name === 'LabelMatchers') {
        for (const m of this.kids(c)) {
          if (m.name === 'QuotedLabelName') {
            // {"metric.name"}: the metric name in quotes.
            if (name !== undefined) this.fail(m, `metric name must not be set twice: ${JSON.stringify(name)} or ${this.src(m)}`);
            name = this.string(this.kids(m)[0]!);
            continue;
          }
          const parts = this.kids(m);
          const labelNode = parts[0]!;
          const label = labelNode.name === 'QuotedLabelName' ? this.string(this.kids(labelNode)[0]!) : this.src(labelNode);
          const op = this.src(parts[1]!) as MatchOp;
          const value = this.string(parts[2]!);
          matchers.push(makeMatcher(label, op, value, (msg) => this.fail(m, msg)));
        }
      }
    }
    if (name !== undefined) {
      if (matchers.some((m) => m.label === '__name__')) this.fail(n, `metric name must not be set twice: ${JSON.stringify(name)} or __name__ matcher`);
      matchers.unshift(makeMatcher('__name__', '=', name, (msg) => this.fail(n, msg)));
    }
    if (!matchers.some((m) => !m.test(''))) this.fail(n, 'vector selector must contain at least one non-empty matcher');
    const nameMatcher = matchers.find((m) => m.label === '__name__' && m.op === '=');
    return { kind: 'selector', name: nameMatcher?.value, matchers, range: undefined, offset: 0 };
  }

  matrix(n: SyntaxNode): Selector {
    const [inner, dur] = this.kids(n);
    if (inner!.name !== 'VectorSelector') this.fail(n, `ranges only allowed for vector selectors`);
    const s = this.selector(inner!);
    const range = this.duration(dur, 'range');
    if (range <= 0) this.fail(dur!, `duration must be greater than 0`);
    return { ...s, range };
  }

  offset(n: SyntaxNode): Selector {
    const k = this.kids(n);
    const inner = this.expr(k[0]!);
    if (inner.kind !== 'selector') this.fail(n, 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
    if (inner.offset !== 0) this.fail(n, 'offset may not be set multiple times');
    const durNode = k.find((c) => c.name === 'OffsetDurationExpr' || c.name === 'DurationExpr' || c.name === 'NumberDurationLiteralInDurationContext');
    return { ...inner, offset: this.duration(durNode, 'offset') };
  }

  call(n: SyntaxNode): Expr {
    const [id, body] = this.kids(n);
    const fnName = this.src(id!);
    const kind = id!.firstChild?.name ?? '';
    const fn = FN_NODES[kind];
    if (!fn) this.fail(n, `function "${fnName}" is not supported by PerfWatch's PromQL engine (supported: ${RANGE_FUNCTIONS.join(', ')})`);
    const args = this.kids(body!).map((a) => this.expr(a));
    if (args.length !== 1) this.fail(n, `expected 1 argument(s) in call to "${fn}", got ${args.length}`);
    const a = args[0]!;
    if (typeOf(a) !== 'matrix' || a.kind !== 'selector') this.fail(body!, `expected type range vector in call to function "${fn}", got ${TYPE_NAMES[typeOf(a)]}`);
    return { kind: 'call', fn, arg: a };
  }

  aggregate(n: SyntaxNode): Expr {
    let op: AggOp | undefined;
    let opText = '';
    let by: string[] | undefined;
    let without: string[] | undefined;
    let args: Expr[] = [];
    let bodyNode: SyntaxNode | undefined;
    for (const c of this.kids(n)) {
      if (c.name === 'AggregateOp') {
        opText = this.src(c);
        op = AGG_NODES[c.firstChild?.name ?? ''];
        if (!op) this.fail(c, `aggregation "${opText}" is not supported by PerfWatch's PromQL engine (supported: ${AGGREGATIONS.join(', ')})`);
      } else if (c.name === 'AggregateModifier') {
        const [kw, labels] = this.kids(c);
        const names = labels ? this.kids(labels).map((l) => (l.name === 'QuotedLabelName' ? this.string(this.kids(l)[0]!) : this.src(l))) : [];
        if (kw!.name === 'By') by = names;
        else without = names;
      } else if (c.name === 'FunctionCallBody') {
        bodyNode = c;
        args = this.kids(c).map((a) => this.expr(a));
      }
    }
    const wantParam = op === 'topk';
    if (args.length !== (wantParam ? 2 : 1)) this.fail(bodyNode ?? n, wantParam ? `wrong number of arguments for aggregate expression provided, expected 2, got ${args.length}` : `wrong number of arguments for aggregate expression provided, expected 1, got ${args.length}`);
    const expr = args[args.length - 1]!;
    if (typeOf(expr) !== 'vector') this.fail(bodyNode!, `expected type instant vector in aggregation expression, got ${TYPE_NAMES[typeOf(expr)]}`);
    const param = wantParam ? args[0] : undefined;
    if (param && typeOf(param) !== 'scalar') this.fail(bodyNode!, `expected type scalar in aggregation parameter, got ${TYPE_NAMES[typeOf(param)]}`);
    return { kind: 'agg', op: op!, by, without, param, expr };
  }

  binary(n: SyntaxNode): Expr {
    const k = this.kids(n);
    const lhsNode = k[0]!;
    const rhsNode = k[k.length - 1]!;
    const opNode = k[1]!;
    const op = BIN_NODES[opNode.name];
    if (!op) {
      const what = ['And', 'Or', 'Unless'].includes(opNode.name) ? 'set operator' : 'operator';
      this.fail(opNode, `${what} "${this.src(opNode)}" is not supported by PerfWatch's PromQL engine`);
    }
    let bool = false;
    let matching: { on: boolean; labels: string[] } | undefined;
    for (const c of k.slice(2, -1)) {
      if (c.name === 'BoolModifier') bool = true;
      else if (c.name === 'MatchingModifierClause') {
        for (const m of this.kids(c)) {
          if (m.name === 'On' || m.name === 'Ignoring') matching = { on: m.name === 'On', labels: [] };
          else if (m.name === 'GroupingLabels' && matching && !matching.labels.length) matching.labels = this.kids(m).map((l) => (l.name === 'QuotedLabelName' ? this.string(this.kids(l)[0]!) : this.src(l)));
          else if (m.name === 'GroupLeft' || m.name === 'GroupRight') this.fail(m, `${this.src(m)} (many-to-one matching) is not supported by PerfWatch's PromQL engine: only one-to-one matching`);
          else if (m.name !== 'GroupingLabels') this.fail(m, `"${this.src(m)}" is not supported by PerfWatch's PromQL engine`);
        }
      } else this.fail(c, `"${this.src(c)}" is not supported by PerfWatch's PromQL engine`);
    }
    const lhs = this.expr(lhsNode);
    const rhs = this.expr(rhsNode);
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    if ((lt !== 'scalar' && lt !== 'vector') || (rt !== 'scalar' && rt !== 'vector')) this.fail(n, 'binary expression must contain only scalar and instant vector types');
    const comparison = (COMPARISON as readonly string[]).includes(op);
    if (bool && !comparison) this.fail(n, 'bool modifier can only be used on comparison operators');
    if (comparison && lt === 'scalar' && rt === 'scalar' && !bool) this.fail(n, 'comparisons between scalars must use BOOL modifier');
    if (matching && (lt !== 'vector' || rt !== 'vector')) this.fail(n, 'vector matching only allowed between instant vectors');
    return { kind: 'binary', op, lhs, rhs, bool, matching };
  }
}

/** Parses a PromQL expression; throws QueryError (bad_data) for syntax errors and what is not supported. */
export function parsePromQL(text: string): Expr {
  if (text.length > 10_000) throw new QueryError('the query is longer than 10,000 characters');
  const tree = parser.parse(text);
  const p = new Parser(text);
  let err: { from: number; to: number } | undefined;
  tree.iterate({
    enter(n) {
      if (err) return false;
      if (n.type.isError) {
        err = { from: n.from, to: n.to };
        return false;
      }
      return undefined;
    },
  });
  if (!text.trim()) throw new QueryError('no expression found in input', { line: 1, col: 1 });
  if (err) {
    const before = /([a-zA-Z_][a-zA-Z0-9_]*)\s*$/.exec(text.slice(0, err.from));
    if (text[err.from] === '(' && before) p.fail(err.from - before[0].length, `unknown function with name "${before[1]}"`);
    const at = text.slice(err.from, Math.max(err.to, err.from + 1)).trim();
    p.fail(err.from, at ? `unexpected "${at.slice(0, 40)}"` : 'unexpected end of input');
  }
  const top = p.kids(tree.topNode)[0];
  if (!top) throw new QueryError('no expression found in input', { line: 1, col: 1 });
  return p.expr(top);
}

/** "1h30m", "5m", "90s", "100ms", "1d", "1w", "1y" -> ms; undefined when not a duration. */
export function parseDuration(s: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(s)) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
  let ms = 0;
  for (const [, n, u] of s.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) ms += Number(n) * unit[u!]!;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** A Go-style string literal ("...", '...' or `...`) to its value. */
function unquote(s: string, bad: () => never): string {
  const q = s[0];
  if (s.length < 2 || s[s.length - 1] !== q) bad();
  const body = s.slice(1, -1);
  if (q === '`') return body;
  if (q !== '"' && q !== "'") bad();
  return body.replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[0-7]{3}|.)/g, (_m, e: string) => {
    switch (e[0]) {
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case 'a': return '\x07';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'v': return '\v';
      case '\\': return '\\';
      case '"': return '"';
      case "'": return "'";
      case 'u':
      case 'U':
      case 'x': return String.fromCodePoint(Number.parseInt(e.slice(1), 16));
      default:
        if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
        return bad();
    }
  });
}

/** A matcher with its test; regexes are anchored as in Prometheus ("^(?:re)$"). */
export function makeMatcher(label: string, op: MatchOp, value: string, fail: (msg: string) => never): LabelMatcher {
  switch (op) {
    case '=':
      return { label, op, value, test: (v) => v === value };
    case '!=':
      return { label, op, value, test: (v) => v !== value };
    case '=~':
    case '!~': {
      let re: RegExp;
      // RE2's leading flag groups ((?i), (?s), (?is)), common in Grafana variables, as JavaScript flags.
      const flags = /^\(\?([is]+)\)/.exec(value);
      const body = flags ? value.slice(flags[0].length) : value;
      try {
        re = new RegExp(`^(?:${body})$`, `su${flags?.[1]?.includes('i') ? 'i' : ''}`);
      } catch (err) {
        return fail(`error parsing regexp: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
      }
      return op === '=~' ? { label, op, value, test: (v) => re.test(v) } : { label, op, value, test: (v) => !re.test(v) };
    }
    default:
      return fail(`unknown match operator ${String(op)}`);
  }
}
