/**
 * PromQL text -> the syntax tree of ast.ts, with the official grammar (@prometheus-io/lezer-promql,
 * the parser of Prometheus's own web UI) and the checks Prometheus's parser makes
 * (promql/parser/parse.go checkAST, generated_parser.y): types of arguments and operands, matching
 * modifiers, offsets and `@`, selectors that must match something. Experimental syntax Prometheus
 * keeps behind feature flags that PerfWatch does not evaluate (fill modifiers, anchored / smoothed
 * ranges, duration functions, info()) is refused as bad_data naming it.
 */
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { AGG_PARAM, AGGREGATIONS, isComparison, isSetOp, TYPE_NAMES, type AggOp, type At, type BinOp, type Expr, type MatrixSelector, type Subquery, type ValueType, type VectorMatching, type VectorSelector } from './ast.js';
import { QueryError } from './errors.js';
import { FUNCTIONS } from './functions.js';
import { makeMatcher, RegexError, type LabelMatcher, type MatchOp } from '@perfwatch/store';

export type { Expr } from './ast.js';

/** The type of an expression's value (Prometheus's Expr.Type()). */
export function typeOf(e: Expr): ValueType {
  switch (e.kind) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vector':
      return 'vector';
    case 'matrix':
    case 'subquery':
      return 'matrix';
    case 'call':
      return FUNCTIONS[e.fn]!.returns;
    case 'agg':
      return 'vector';
    case 'binary':
      return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'unary':
    case 'paren':
    case 'invariant':
      return typeOf(e.expr);
  }
}

const BIN_NODES: Record<string, BinOp> = {
  Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^', Atan2: 'atan2',
  Eql: '==', Neq: '!=', Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=',
  And: 'and', Or: 'or', Unless: 'unless',
};
const UNSUPPORTED_NODES: Record<string, string> = {
  AnchoredExpr: 'the anchored modifier (experimental)',
  SmoothedExpr: 'the smoothed modifier (experimental)',
  FillModifier: 'fill modifiers (experimental)',
};
/**
 * Functions Prometheus 3 renamed, by their old name: parsed as the new one, so queries written for
 * Prometheus 2 keep working (Prometheus 3's grammar knows only the new names).
 */
const RENAMED_FUNCTIONS: Record<string, string> = { __proto__: null, holt_winters: 'double_exponential_smoothing' } as unknown as Record<string, string>;

const UNSUPPORTED_FUNCTIONS: Record<string, string> = {
  info: 'info() (experimental: it needs info metrics, which PerfWatch history has none of)',
  histogram_quantiles: 'histogram_quantiles() (experimental)',
  start: 'start() outside @', end: 'end() outside @', range: 'range() (experimental duration expressions)', step: 'step() (experimental duration expressions)',
  start_timestamp: 'start_timestamp() (experimental)',
};

class Parser {
  /** `original`: the query as written, when `text` renamed a function in it (`renamed`'s splices). */
  constructor(readonly text: string, private readonly original = text, private readonly splices: readonly { at: number; delta: number }[] = []) {}

  pos(offset: number): { line: number; col: number } {
    // back to where it was in the query as written
    for (let i = this.splices.length - 1; i >= 0; i--) {
      const sp = this.splices[i]!;
      if (offset > sp.at) offset = Math.max(sp.at, offset - sp.delta);
    }
    const before = this.original.slice(0, offset);
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
        return { kind: 'paren', expr: this.expr(inner) };
      }
      case 'NumberDurationLiteral':
        return { kind: 'number', value: this.number(n) };
      case 'StringLiteral':
        return { kind: 'string', value: this.string(n) };
      case 'VectorSelector':
        return this.selector(n);
      case 'MatrixSelector':
        return this.matrix(n);
      case 'SubqueryExpr':
        return this.subquery(n);
      case 'OffsetExpr':
        return this.offset(n);
      case 'StepInvariantExpr':
        return this.at(n);
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
        const sign = this.src(op!) === '-' ? '-' : '+';
        // -1 is a number literal in Prometheus's parser, not a unary expression.
        if (e.kind === 'number') return { kind: 'number', value: sign === '-' ? -e.value : e.value };
        return { kind: 'unary', op: sign, expr: e };
      }
      default: {
        const what = UNSUPPORTED_NODES[n.name];
        if (what) this.fail(n, `not supported by PerfWatch's PromQL engine: ${what} ("${this.src(n).slice(0, 60)}")`);
        this.fail(n, `"${this.src(n).slice(0, 60)}" (${n.name}) is not supported by PerfWatch's PromQL engine`);
      }
    }
  }

  number(n: SyntaxNode): number {
    const s = this.src(n).replace(/\s+/g, '');
    const sign = s.startsWith('-') ? -1 : 1;
    const body = s.replace(/^[+-]/, '');
    const lower = body.toLowerCase();
    if (lower === 'inf') return sign * Infinity;
    if (lower === 'nan') return Number.NaN;
    if (/^0x[0-9a-f]+$/i.test(body)) return sign * Number.parseInt(body.slice(2), 16);
    if (/^(\d[\d_]*(\.[\d_]*)?|\.\d[\d_]*)(e[+-]?\d[\d_]*)?$/i.test(body)) {
      const v = Number(body.replace(/_/g, ''));
      if (!Number.isNaN(v)) return sign * v;
    }
    const d = parseDuration(body);
    if (d !== undefined) return (sign * d) / 1000;
    return this.fail(n, `bad number or duration syntax: "${s}"`);
  }

  /** A duration (ms) from a DurationExpr / OffsetDurationExpr / literal: constant arithmetic allowed. */
  duration(n: SyntaxNode | null | undefined, ctx: string): number {
    if (!n) this.fail(this.text.length, `missing duration in ${ctx}`);
    const k = this.kids(n);
    switch (n.name) {
      case 'DurationExpr':
      case 'OffsetDurationExpr': {
        if (k.length === 1) return this.duration(k[0], ctx);
        if (k.length === 2 && k[0]!.name === 'UnaryOp') return this.src(k[0]!) === '-' ? -this.duration(k[1], ctx) : this.duration(k[1], ctx);
        if (k.length === 3 && ['Add', 'Sub', 'Mul', 'Div', 'Mod', 'Pow'].includes(k[1]!.name)) {
          const a = this.duration(k[0], ctx) / 1000;
          const b = this.duration(k[2], ctx) / 1000;
          const secs: Record<string, number> = { Add: a + b, Sub: a - b, Mul: a * b, Div: a / b, Mod: a % b, Pow: a ** b };
          const r = secs[k[1]!.name]!;
          if (!Number.isFinite(r)) this.fail(n, `duration expression "${this.src(n)}" is not a finite duration`);
          return Math.round(r * 1000);
        }
        const what = k[0] && ['DurationStep', 'DurationRange', 'DurationMinOf', 'DurationMaxOf'].includes(k[0].name) ? `${this.src(k[0])}() in durations (experimental)` : `the duration "${this.src(n)}"`;
        return this.fail(n, `not supported by PerfWatch's PromQL engine: ${what}`);
      }
      case 'NumberDurationLiteralInDurationContext':
      case 'NumberDurationLiteral': {
        const s = this.src(n);
        const d = parseDuration(s) ?? (/^\d+(\.\d+)?$/.test(s) ? Math.round(Number(s) * 1000) : undefined);
        if (d === undefined) this.fail(n, `bad duration syntax: "${s}"`);
        return d;
      }
      default:
        if (k.length === 1 && n.name !== 'UnaryOp') return this.duration(k[0], ctx);
        return this.fail(n, `"${this.src(n)}" is not a duration`);
    }
  }

  string(n: SyntaxNode): string {
    return unquote(this.src(n), () => this.fail(n, `invalid string literal ${this.src(n).slice(0, 60)}`));
  }

  labelName(l: SyntaxNode): string {
    return l.name === 'QuotedLabelName' ? this.string(this.kids(l)[0]!) : this.src(l);
  }

  selector(n: SyntaxNode): VectorSelector {
    const matchers: LabelMatcher[] = [];
    let name: string | undefined;
    const matcher = (label: string, op: MatchOp, value: string, at: SyntaxNode): LabelMatcher => {
      try {
        return makeMatcher(label, op, value);
      } catch (err) {
        if (err instanceof RegexError) this.fail(at, err.message);
        throw err;
      }
    };
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
          const label = this.labelName(parts[0]!);
          const op = this.src(parts[1]!) as MatchOp;
          const value = this.string(parts[2]!);
          matchers.push(matcher(label, op, value, m));
        }
      }
    }
    if (name !== undefined) {
      if (matchers.some((m) => m.label === '__name__')) this.fail(n, `metric name must not be set twice: ${JSON.stringify(name)} or __name__ matcher`);
      matchers.unshift(matcher('__name__', '=', name, n));
    }
    if (!matchers.some((m) => !m.test(''))) this.fail(n, 'vector selector must contain at least one non-empty matcher');
    const nameMatcher = matchers.find((m) => m.label === '__name__' && m.op === '=');
    return { kind: 'vector', name: nameMatcher?.value, matchers, offset: 0, at: undefined };
  }

  /** The selector (or subquery) under parentheses-free modifiers, for offset and @. */
  modifiable(e: Expr): e is VectorSelector | MatrixSelector | Subquery {
    return e.kind === 'vector' || e.kind === 'matrix' || e.kind === 'subquery';
  }

  matrix(n: SyntaxNode): MatrixSelector {
    const [inner, dur] = this.kids(n);
    const e = this.expr(inner!);
    if (e.kind !== 'vector') this.fail(n, 'ranges only allowed for vector selectors');
    if (e.offset !== 0) this.fail(n, 'no offset modifiers allowed before range');
    if (e.at) this.fail(n, 'no @ modifiers allowed before range');
    const range = this.duration(dur, 'range');
    if (range <= 0) this.fail(dur!, `duration must be greater than 0`);
    return { kind: 'matrix', selector: e, range };
  }

  subquery(n: SyntaxNode): Subquery {
    const k = this.kids(n);
    const e = this.expr(k[0]!);
    const durs = k.slice(1).filter((c) => c.name === 'DurationExpr');
    const range = this.duration(durs[0], 'subquery range');
    const step = durs[1] ? this.duration(durs[1], 'subquery step') : 0;
    if (range <= 0) this.fail(durs[0]!, 'duration must be greater than 0');
    if (durs[1] && step <= 0) this.fail(durs[1], 'duration must be greater than 0');
    const t = typeOf(e);
    if (t !== 'vector') this.fail(n, `subquery is only allowed on instant vector, got ${TYPE_NAMES[t]} instead`);
    return { kind: 'subquery', expr: e, range, step, offset: 0, at: undefined };
  }

  offset(n: SyntaxNode): Expr {
    const k = this.kids(n);
    const inner = this.expr(k[0]!);
    if (!this.modifiable(inner)) this.fail(n, 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
    const durNode = k.find((c) => c.name === 'OffsetDurationExpr' || c.name === 'DurationExpr' || c.name === 'NumberDurationLiteralInDurationContext');
    const offset = this.duration(durNode, 'offset');
    if (inner.kind === 'matrix') {
      if (inner.selector.offset !== 0) this.fail(n, 'offset may not be set multiple times');
      return { ...inner, selector: { ...inner.selector, offset } };
    }
    if (inner.offset !== 0) this.fail(n, 'offset may not be set multiple times');
    return { ...inner, offset };
  }

  at(n: SyntaxNode): Expr {
    const k = this.kids(n);
    const inner = this.expr(k[0]!);
    if (!this.modifiable(inner)) this.fail(n, '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery');
    let at: At;
    const pre = k.find((c) => c.name === 'AtModifierPreprocessors');
    if (pre) at = { preprocessor: this.src(pre) === 'start' ? 'start' : 'end' };
    else {
      const num = k.find((c) => c.name === 'NumberDurationLiteral');
      const v = num ? this.number(num) : Number.NaN;
      if (!Number.isFinite(v)) this.fail(n, 'timestamp out of bounds for @ modifier');
      // Prometheus: float seconds to int64 ms, rounded.
      const ms = Math.round(v * 1000);
      if (Math.abs(ms) > 9.2e18) this.fail(n, 'timestamp out of bounds for @ modifier');
      at = { time: ms };
    }
    if (inner.kind === 'matrix') {
      if (inner.selector.at) this.fail(n, '@ <timestamp> may not be set multiple times');
      return { ...inner, selector: { ...inner.selector, at } };
    }
    if (inner.at) this.fail(n, '@ <timestamp> may not be set multiple times');
    return { ...inner, at };
  }

  call(n: SyntaxNode): Expr {
    const [id, body] = this.kids(n);
    const fn = this.src(id!);
    if (UNSUPPORTED_FUNCTIONS[fn]) this.fail(n, `not supported by PerfWatch's PromQL engine: ${UNSUPPORTED_FUNCTIONS[fn]}`);
    const sig = FUNCTIONS[fn];
    if (!sig) this.fail(n, `unknown function with name "${fn}"`);
    const args = this.kids(body!).map((a) => this.expr(a));
    const nargs = sig.args.length;
    if (sig.variadic === 0) {
      if (args.length !== nargs) this.fail(n, `expected ${nargs} argument(s) in call to "${fn}", got ${args.length}`);
    } else if (sig.variadic > 0) {
      const min = nargs - sig.variadic;
      if (args.length < min) this.fail(n, `expected at least ${min} argument(s) in call to "${fn}", got ${args.length}`);
      if (args.length > nargs) this.fail(n, `expected at most ${nargs} argument(s) in call to "${fn}", got ${args.length}`);
    } else if (args.length < nargs - 1) this.fail(n, `expected at least ${nargs - 1} argument(s) in call to "${fn}", got ${args.length}`);
    args.forEach((a, i) => {
      const want = sig.args[Math.min(i, nargs - 1)]!;
      const got = typeOf(a);
      if (got !== want) this.fail(body!, `expected type ${TYPE_NAMES[want]} in call to function "${fn}", got ${TYPE_NAMES[got]}`);
    });
    return { kind: 'call', fn, args };
  }

  aggregate(n: SyntaxNode): Expr {
    let op: AggOp | undefined;
    let grouping: string[] = [];
    let without = false;
    let args: Expr[] = [];
    let bodyNode: SyntaxNode | undefined;
    for (const c of this.kids(n)) {
      if (c.name === 'AggregateOp') {
        const text = this.src(c).toLowerCase();
        op = (AGGREGATIONS as readonly string[]).includes(text) ? (text as AggOp) : undefined;
        if (!op) this.fail(c, `aggregation "${this.src(c)}" is not supported by PerfWatch's PromQL engine`);
        if (op === 'limit_ratio') this.fail(c, `not supported by PerfWatch's PromQL engine: limit_ratio (experimental)`);
      } else if (c.name === 'AggregateModifier') {
        const [kw, labels] = this.kids(c);
        grouping = labels ? this.kids(labels).map((l) => this.labelName(l)) : [];
        without = kw!.name === 'Without';
      } else if (c.name === 'FunctionCallBody') {
        bodyNode = c;
        args = this.kids(c).map((a) => this.expr(a));
      }
    }
    const paramType = AGG_PARAM[op!];
    const want = paramType ? 2 : 1;
    if (args.length !== want) this.fail(bodyNode ?? n, `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`);
    const expr = args[args.length - 1]!;
    if (typeOf(expr) !== 'vector') this.fail(bodyNode!, `expected type instant vector in aggregation expression, got ${TYPE_NAMES[typeOf(expr)]}`);
    const param = paramType ? args[0] : undefined;
    if (param && typeOf(param) !== paramType) this.fail(bodyNode!, `expected type ${TYPE_NAMES[paramType!]} in aggregation parameter, got ${TYPE_NAMES[typeOf(param)]}`);
    return { kind: 'agg', op: op!, param, expr, grouping, without };
  }

  binary(n: SyntaxNode): Expr {
    const k = this.kids(n);
    const lhsNode = k[0]!;
    const rhsNode = k[k.length - 1]!;
    const opNode = k[1]!;
    const op = BIN_NODES[opNode.name];
    if (!op) this.fail(opNode, `operator "${this.src(opNode)}" is not supported by PerfWatch's PromQL engine`);
    let bool = false;
    let matching: VectorMatching | undefined;
    for (const c of k.slice(2, -1)) {
      if (c.name === 'BoolModifier') bool = true;
      else if (c.name === 'MatchingModifierClause') {
        matching = { card: 'one-to-one', on: false, labels: [], include: [] };
        let seenGroup = false;
        for (const m of this.kids(c)) {
          if (m.name === 'On') matching.on = true;
          else if (m.name === 'Ignoring') matching.on = false;
          else if (m.name === 'GroupLeft') {
            matching.card = 'many-to-one';
            seenGroup = true;
          } else if (m.name === 'GroupRight') {
            matching.card = 'one-to-many';
            seenGroup = true;
          } else if (m.name === 'GroupingLabels') {
            const names = this.kids(m).map((l) => this.labelName(l));
            if (seenGroup) matching.include = names;
            else matching.labels = names;
          } else this.fail(m, `"${this.src(m)}" is not supported by PerfWatch's PromQL engine`);
        }
      } else if (UNSUPPORTED_NODES[c.name]) this.fail(c, `not supported by PerfWatch's PromQL engine: ${UNSUPPORTED_NODES[c.name]}`);
      else this.fail(c, `"${this.src(c)}" is not supported by PerfWatch's PromQL engine`);
    }
    // The grammar reads `-1 ^ 2` as (-1) ^ 2; Prometheus's parser gives unary minus a lower
    // precedence than ^: -(1 ^ 2).
    const signed = op === '^' && lhsNode.name === 'NumberDurationLiteral' && /^[-+]/.test(this.src(lhsNode).trim());
    const lhs = signed ? ({ kind: 'number', value: Math.abs(this.number(lhsNode)) } as Expr) : this.expr(lhsNode);
    if (signed) {
      const inner = this.binaryOf(n, op, lhs, this.expr(rhsNode), bool, matching);
      return this.src(lhsNode).trim().startsWith('-') ? { kind: 'unary', op: '-', expr: inner } : inner;
    }
    return this.binaryOf(n, op, lhs, this.expr(rhsNode), bool, matching);
  }

  binaryOf(n: SyntaxNode, op: BinOp, lhs: Expr, rhs: Expr, bool: boolean, matching: VectorMatching | undefined): Expr {
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    if ((lt !== 'scalar' && lt !== 'vector') || (rt !== 'scalar' && rt !== 'vector')) this.fail(n, 'binary expression must contain only scalar and instant vector types');
    const comparison = isComparison(op);
    const setOp = isSetOp(op);
    if (bool && !comparison) this.fail(n, 'bool modifier can only be used on comparison operators');
    if (comparison && lt === 'scalar' && rt === 'scalar' && !bool) this.fail(n, 'comparisons between scalars must use BOOL modifier');
    if (setOp && (lt === 'scalar' || rt === 'scalar')) this.fail(n, `set operator "${op}" not allowed in binary scalar expression`);
    if (matching && (lt !== 'vector' || rt !== 'vector')) this.fail(n, 'vector matching only allowed between instant vectors');
    if (setOp) {
      if (matching && (matching.card === 'many-to-one' || matching.card === 'one-to-many')) this.fail(n, `no grouping allowed for "${op}" operation`);
      matching = { card: 'many-to-many', on: matching?.on ?? false, labels: matching?.labels ?? [], include: [] };
    }
    if (matching?.on) {
      for (const l of matching.include) if (matching.labels.includes(l)) this.fail(n, `label "${l}" must not occur in ON and GROUP clause at once`);
    }
    if (!matching && lt === 'vector' && rt === 'vector') matching = { card: 'one-to-one', on: false, labels: [], include: [] };
    return { kind: 'binary', op, lhs, rhs, bool, matching };
  }
}

/** Where the first syntax error of a parse is. */
function firstError(tree: ReturnType<typeof parser.parse>): { from: number; to: number } | undefined {
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
  return err;
}

/** Parses a PromQL expression; throws QueryError (bad_data) for syntax errors and what is not supported. */
export function parsePromQL(text: string): Expr {
  if (text.length > 10_000) throw new QueryError('the query is longer than 10,000 characters');
  const original = text;
  const splices: { at: number; delta: number }[] = [];
  let tree;
  let err: { from: number; to: number } | undefined;
  let before: RegExpExecArray | null = null;
  for (;;) {
    tree = parser.parse(text);
    err = firstError(tree);
    if (!err) break;
    // A function the grammar does not know, followed by "(": a renamed one is parsed by its new name.
    const e = err;
    before = text[e.from] === '(' ? /([a-zA-Z_][a-zA-Z0-9_]*)\s*$/.exec(text.slice(0, e.from)) : null;
    const now = before ? RENAMED_FUNCTIONS[before[1]!] : undefined;
    if (!before || now === undefined || splices.length >= 100) break;
    const at = e.from - before[0].length;
    text = text.slice(0, at) + now + text.slice(at + before[1]!.length);
    splices.push({ at, delta: now.length - before[1]!.length });
  }
  const p = new Parser(text, original, splices);
  if (!text.trim()) throw new QueryError('no expression found in input', { line: 1, col: 1 });
  if (err) {
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
