/**
 * The PromQL syntax tree the evaluator walks: Prometheus's own node kinds (promql/parser/ast.go),
 * with offsets, ranges and steps in milliseconds and `@` as a time or start()/end().
 */
import type { LabelMatcher } from '@perfwatch/store';

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export const TYPE_NAMES: Record<ValueType, string> = { scalar: 'scalar', vector: 'instant vector', matrix: 'range vector', string: 'string' };

/** `@ <time>` (ms), `@ start()` or `@ end()`. */
export type At = { time: number } | { preprocessor: 'start' | 'end' };

export interface VectorSelector {
  kind: 'vector';
  /** the metric name when a matcher fixes it (name or __name__="..."). */
  name: string | undefined;
  /** every matcher, __name__ included. */
  matchers: LabelMatcher[];
  offset: number;
  at: At | undefined;
}

export interface MatrixSelector {
  kind: 'matrix';
  selector: VectorSelector;
  range: number;
}

export interface Subquery {
  kind: 'subquery';
  expr: Expr;
  range: number;
  /** 0: the default evaluation interval. */
  step: number;
  offset: number;
  at: At | undefined;
}

export const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio'] as const;
export type AggOp = (typeof AGGREGATIONS)[number];
/** Aggregations with a parameter, and its type. */
export const AGG_PARAM: Partial<Record<AggOp, ValueType>> = { topk: 'scalar', bottomk: 'scalar', quantile: 'scalar', limitk: 'scalar', limit_ratio: 'scalar', count_values: 'string' };

export const ARITHMETIC = ['+', '-', '*', '/', '%', '^', 'atan2'] as const;
export const COMPARISON = ['==', '!=', '>', '<', '>=', '<='] as const;
export const SET_OPS = ['and', 'or', 'unless'] as const;
export type BinOp = (typeof ARITHMETIC)[number] | (typeof COMPARISON)[number] | (typeof SET_OPS)[number];

export const isComparison = (op: BinOp): boolean => (COMPARISON as readonly string[]).includes(op);
export const isSetOp = (op: BinOp): boolean => (SET_OPS as readonly string[]).includes(op);

export interface VectorMatching {
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** on(...) when true, ignoring(...) (or nothing given) when false. */
  on: boolean;
  labels: string[];
  /** group_left(...) / group_right(...) labels taken from the "one" side. */
  include: string[];
}

export type Expr =
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | VectorSelector
  | MatrixSelector
  | Subquery
  | { kind: 'call'; fn: string; args: Expr[] }
  | { kind: 'agg'; op: AggOp; param: Expr | undefined; expr: Expr; grouping: string[]; without: boolean }
  | { kind: 'binary'; op: BinOp; lhs: Expr; rhs: Expr; bool: boolean; matching: VectorMatching | undefined }
  | { kind: 'unary'; op: '-' | '+'; expr: Expr }
  | { kind: 'paren'; expr: Expr }
  /** Added by the evaluator's preprocessing: a subtree whose value is the same at every step. */
  | { kind: 'invariant'; expr: Expr };
