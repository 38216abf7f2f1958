/**
 * The PromQL evaluator over PerfWatch history, with Prometheus 3's semantics (promql/engine.go,
 * functions.go, aggregations): every node is evaluated at all steps of the query at once, as
 * Prometheus's range evaluation does, and yields per series one value per step (or none).
 *
 * - Instant vector selector at t: the latest sample in (t - offset - 5m, t - offset] (lookback)
 *   that has not gone stale (store: a host's series end one interval after its last snapshot
 *   before an outage, or at a snapshot that lacks them, as Prometheus's staleness markers do).
 *   `@ t0` fixes the time: t0 - offset at every step.
 * - Range vector [r] at t: the samples in (t - offset - r, t - offset]; subqueries `e[r:s]`
 *   evaluate e at the multiples of s in that window (s: 1 minute by default, Prometheus's
 *   evaluation_interval) and are then windowed the same way.
 * - Subtrees whose value does not depend on the step (`@` everywhere beneath them) are evaluated
 *   once, at the first step, and repeated (Prometheus's StepInvariantExpr).
 * - Series of a selector are ordered by their labels, as Prometheus's storage returns them, so that
 *   ties (topk, bottomk, limitk) resolve the same way.
 *
 * Rollups: a selector may read buckets instead of raw samples (see sourceOf): 1-minute ones, or
 * for windows of whole hours 1-hour ones (then 1-minute ones after the 1h watermark). A window is
 * then the buckets whose start lies in [e - r, e), e being the evaluation time rounded down to
 * the minute (the hour); docs/prometheus-api.md states the tolerance against raw evaluation.
 */
import { DeadlineError, metricInfo, readBuckets, readRawSamples, SampleLimitError, type BucketSeries, type Labels, type SampleSelector } from '@perfwatch/store';
import type pg from 'pg';
import { isComparison, isSetOp, type AggOp, type BinOp, type Expr, type MatrixSelector, type Subquery, type VectorMatching, type VectorSelector } from './ast.js';
import { execError, PromError } from './errors.js';
import { AT_MODIFIER_UNSAFE, bucketQuantile, DATE_FUNCTIONS, FUNCTIONS, extrapolatedRate, goPow, kahanC, kahanSumInc, KEEPS_NAME, linearRegression, MATH_FUNCTIONS, parseGoFloat, quantile, unixSecondsDate } from './functions.js';
import { typeOf } from './parse.js';
import { compileAnchored, RegexError } from '@perfwatch/store';
import { expandTemplate } from './regex.js';

export const LOOKBACK_MS = 5 * 60_000;
/** How far past its last step an instant selector reads to tell an outage from the next snapshot. */
const STALENESS_PEEK_MS = 120_000;
/** A subquery's step when it names none: Prometheus's default global evaluation_interval. */
export const DEFAULT_SUBQUERY_STEP_MS = 60_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Most values all series of one node may hold (steps x series), as Prometheus's --query.max-samples. */
export const MAX_POINTS_IN_MEMORY = 10_000_000;
/** Most raw samples one query may load, all selectors together. */
export const MAX_SAMPLES_LOADED = 10_000_000;

export type Tier = 'auto' | 'raw' | '1m' | '1h';

export interface EvalOptions {
  /** evaluation times: start, start + step, ... <= end (ms). An instant query: start = end. */
  start: number;
  end: number;
  step: number;
  /** which data a selector reads: auto (rollups when the step allows), raw only, or 1m / 1h where it can. */
  tier?: Tier;
  /** Unix ms after which the evaluation stops with a timeout error (Prometheus's `timeout`). */
  deadline?: number;
  /** Wall-clock now (ms), for the live edge of staleness; default Date.now(). */
  now?: number;
}

export interface Series {
  labels: Labels;
  v: Float64Array;
  /** 1 where the series has a value at that step. */
  ok: Uint8Array;
}

/** Samples of a range vector with the window they are read in: (e - range, e], e = (at ?? t) - offset. */
export interface MatrixSeries {
  labels: Labels;
  t: ArrayLike<number>;
  v: ArrayLike<number>;
}

export type Value =
  | { type: 'scalar'; v: Float64Array }
  | { type: 'vector'; series: Series[]; ordered?: boolean }
  | { type: 'string'; s: string }
  | { type: 'matrix'; series: MatrixSeries[]; range: number; offset: number; at: number | undefined };

export interface EvalResult {
  value: Value;
  times: Float64Array;
  /** what the selectors read: 'raw', '1m', '1h' (some of them). */
  tiers: Set<'raw' | '1m' | '1h'>;
}

interface Query {
  pool: pg.Pool;
  opts: EvalOptions;
  tiers: Set<'raw' | '1m' | '1h'>;
  /** raw samples loaded so far, all selectors together. */
  loaded: number;
  /** when the evaluation last let the event loop run (performance.now()). */
  lastYield: number;
}

interface Ctx {
  q: Query;
  times: Float64Array;
  n: number;
  /** the distance between steps (ms): the query's step, a subquery's; 0 for a single evaluation. */
  step: number;
}

type Vec = Extract<Value, { type: 'vector' }>;
type Scalar = Extract<Value, { type: 'scalar' }>;
type Matrix = Extract<Value, { type: 'matrix' }>;

// ---- helpers -------------------------------------------------------------------------------------------

function checkDeadline(ctx: Ctx): void {
  const d = ctx.q.opts.deadline;
  if (d !== undefined && Date.now() >= d) throw new PromError('timeout', 'query timed out in expression evaluation');
}

/** Longest the evaluation computes before it lets other requests run (ms). */
const SLICE_MS = 10;

/**
 * Lets the event loop run (other requests, /health) when this evaluation has computed for more
 * than SLICE_MS since it last did, and checks the deadline then: a heavy query shares the api's
 * one thread instead of holding it. Called between series, steps and nodes.
 */
async function pause(ctx: Ctx): Promise<void> {
  if (performance.now() - ctx.q.lastYield < SLICE_MS) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  ctx.q.lastYield = performance.now();
  checkDeadline(ctx);
}

/** The context of a step-invariant subtree: one evaluation, at the first step (Prometheus's StepInvariantExpr). */
function firstStep(ctx: Ctx): Ctx {
  return { ...ctx, times: ctx.times.subarray(0, 1), n: 1, step: 0 };
}

function checkSize(ctx: Ctx, series: number): void {
  if (series * ctx.n > MAX_POINTS_IN_MEMORY) throw execError('query processing would load too many samples into memory in query execution');
}

function newSeries(labels: Labels, n: number): Series {
  return { labels, v: new Float64Array(n), ok: new Uint8Array(n) };
}

function dropName(l: Labels): Labels {
  if (!('__name__' in l)) return l;
  const { __name__: _drop, ...rest } = l;
  return rest;
}

/** A label set's identity (names sorted). */
export function keyOf(l: Labels): string {
  const names = Object.keys(l).sort();
  let s = '';
  for (const k of names) s += `${k}\u0000${l[k]}\u0001`;
  return s;
}

/** Prometheus's labels.Compare: label by label in name order, name then value; a prefix first. */
export function compareLabels(a: Labels, b: Labels): number {
  return compareSorted(a, Object.keys(a).sort(), b, Object.keys(b).sort());
}

/** compareLabels given each side's names sorted. */
function compareSorted(a: Labels, ka: readonly string[], b: Labels, kb: readonly string[]): number {
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    const va = a[ka[i]!]!;
    const vb = b[kb[i]!]!;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return ka.length - kb.length;
}

/**
 * Sorts items by their labels as compareLabels orders them (stable), each label set's names
 * sorted once instead of at every comparison: sorting a selector's 16,000 series by
 * compareLabels made 180 MB of garbage (two sorted name arrays per comparison).
 */
function sortByLabels<T extends { labels: Labels }>(items: T[]): T[] {
  const keyed = items.map((x) => ({ x, names: Object.keys(x.labels).sort() }));
  keyed.sort((a, b) => compareSorted(a.x.labels, a.names, b.x.labels, b.names));
  for (let i = 0; i < keyed.length; i++) items[i] = keyed[i]!.x;
  return items;
}

function labelsText(l: Labels): string {
  const name = l.__name__ ?? '';
  const rest = Object.keys(l).filter((k) => k !== '__name__').sort().map((k) => `${k}=${JSON.stringify(l[k])}`);
  return `${name}{${rest.join(', ')}}`;
}

const SAME_LABELSET = 'vector cannot contain metrics with the same labelset';

/** Series with equal labels merged; two values at one step are Prometheus's "same labelset" error. */
function dedupe(series: Series[], n: number): Series[] {
  const byKey = new Map<string, Series>();
  for (const s of series) {
    const key = keyOf(s.labels);
    const have = byKey.get(key);
    if (!have) {
      byKey.set(key, s);
      continue;
    }
    for (let k = 0; k < n; k++) {
      if (!s.ok[k]) continue;
      if (have.ok[k]) throw execError(SAME_LABELSET);
      have.ok[k] = 1;
      have.v[k] = s.v[k]!;
    }
  }
  return [...byKey.values()];
}

const present = (series: Series[]) => series.filter((s) => s.ok.some((x) => x));

function scalarOf(v: Value): Float64Array {
  return (v as Scalar).v;
}

// ---- selectors -------------------------------------------------------------------------------------------

/** A selector as the store's SampleSelector (host matchers also pre-filter hosts). */
export function sampleSelector(sel: VectorSelector, deadline?: number): SampleSelector {
  const nameMatchers = sel.matchers.filter((m) => m.label === '__name__');
  const others = sel.matchers.filter((m) => m.label !== '__name__');
  const hostMatchers = others.filter((m) => m.label === 'host');
  return {
    metric: sel.name ?? ((name: string) => nameMatchers.every((m) => m.test(name))),
    ...(hostMatchers.length ? { host: (h: string) => hostMatchers.every((m) => m.test(h)) } : {}),
    // host="a": the selector names its only host (an empty name matches no host: every host has one).
    ...(hostMatchers.some((m) => m.op === '=') ? { hostNames: [hostMatchers.find((m) => m.op === '=')!.value] } : {}),
    match: (name, labels) => nameMatchers.every((m) => m.test(name)) && others.every((m) => m.test(labels[m.label] ?? '')),
    // What the tests above depend on: the name and the matchers (labels, ops, values).
    key: JSON.stringify([sel.name ?? null, sel.matchers.map((m) => [m.label, m.op, m.value])]),
    ...(deadline !== undefined ? { deadline } : {}),
  };
}

/** The times a selector reads at for each step: (at ?? t) - offset. */
function refTimes(ctx: Ctx, offset: number, at: number | undefined): Float64Array {
  const r = new Float64Array(ctx.n);
  for (let k = 0; k < ctx.n; k++) r[k] = (at ?? ctx.times[k]!) - offset;
  return r;
}

function atTime(at: VectorSelector['at']): number | undefined {
  if (!at) return undefined;
  if ('time' in at) return at.time;
  throw new Error('unresolved @ preprocessor');
}

/**
 * What a selector (under a range function fn, or plain) reads: raw samples, 1-minute buckets, or
 * 1-hour buckets (then 1-minute ones after the 1h watermark).
 */
function sourceOf(ctx: Ctx, sel: VectorSelector, range: number | undefined, fn: string | undefined): 'raw' | '1m' | '1h' {
  const tier = ctx.q.opts.tier ?? 'auto';
  if (tier === 'raw' || sel.at) return 'raw';
  const info = sel.name === undefined ? undefined : metricInfo(sel.name);
  if (!info) return 'raw';
  const r = range ?? LOOKBACK_MS;
  if (r % MINUTE !== 0) return 'raw';
  const counter = info.type === 'counter';
  const ok =
    fn === undefined ||
    fn === 'count_over_time' ||
    ((fn === 'rate' || fn === 'increase') && counter) ||
    ((fn === 'avg_over_time' || fn === 'min_over_time' || fn === 'max_over_time' || fn === 'sum_over_time') && !counter);
  if (!ok) return 'raw';
  // 1h buckets: range functions whose windows are whole hours (instant selectors never).
  const hourly = fn !== undefined && r % HOUR === 0;
  if (tier === '1h') return hourly ? '1h' : '1m';
  if (tier === '1m') return '1m';
  // auto: steps of whole minutes (a range query's, or a subquery's) reading more than 6 hours of
  // data (whole hours and windows of whole hours: the 1h tier), or a single evaluation (an alert
  // rule's instant query) whose window is longer than 6 hours.
  const start = ctx.times[0]!;
  const end = ctx.times[ctx.n - 1]!;
  const step = ctx.step;
  if (ctx.n === 1) return r > 6 * HOUR ? '1m' : 'raw';
  if (step < MINUTE || step % MINUTE !== 0 || end - start + r <= 6 * HOUR) return 'raw';
  return hourly && step % HOUR === 0 ? '1h' : '1m';
}

function tooMany(err: unknown): never {
  if (err instanceof SampleLimitError) throw execError('query processing would load too many samples into memory in query execution');
  if (err instanceof DeadlineError) throw new PromError('timeout', 'query timed out in expression evaluation');
  throw err;
}

interface Loaded {
  labels: Labels;
  t: ArrayLike<number>;
  v: ArrayLike<number>;
  end?: ArrayLike<number>;
}

/** Raw samples of the selector's series with time in [from, to] (only in `spans` when given), ordered by labels. */
async function loadRaw(ctx: Ctx, sel: VectorSelector, from: number, to: number, staleness: boolean, spans?: [number, number][], latest?: number): Promise<Loaded[]> {
  checkDeadline(ctx);
  ctx.q.tiers.add('raw');
  const budget = MAX_SAMPLES_LOADED - ctx.q.loaded;
  // Staleness: read a little past `to`, so that whether the last sample before it was followed by
  // an outage (no snapshot within 1.5 intervals) is known (intervals up to STALENESS_PEEK_MS / 1.5).
  const readTo = staleness ? to + STALENESS_PEEK_MS : to;
  const raw = await readRawSamples(ctx.q.pool, sampleSelector(sel, ctx.q.opts.deadline), from, readTo, budget, { staleness, now: ctx.q.opts.now ?? Date.now(), ...(spans ? { spans } : {}), ...(latest !== undefined ? { latest } : {}), typed: true }).catch(tooMany);
  let count = 0;
  const out: Loaded[] = raw.map((r) => {
    count += r.t.length;
    return { labels: withName(r.metric.name, r.labels), t: r.t, v: r.v, ...(r.end ? { end: r.end } : {}) };
  });
  ctx.q.loaded += count;
  checkSize(ctx, out.length);
  return sortByLabels(out);
}

/** A stored series' labels as PromQL sees them: with __name__, and without empty values (Prometheus has none). */
function withName(name: string, labels: Labels): Labels {
  const out: Labels = { __name__: name };
  for (const [k, v] of Object.entries(labels)) if (v !== '') out[k] = v;
  return out;
}

/** The bucket columns a function reads: counters v2 (last) / v3 (increase), gauges v1 (avg) / v2 (min) / v3 (max). */
function columnsFor(fn: string | undefined, sel: VectorSelector): { v1?: boolean; v2?: boolean; v3?: boolean } {
  const counter = metricInfo(sel.name!)?.type === 'counter';
  switch (fn) {
    case undefined: return counter ? { v2: true } : { v1: true };
    case 'rate':
    case 'increase':
    case 'max_over_time': return { v3: true };
    case 'min_over_time': return { v2: true };
    case 'count_over_time': return {};
    default: return { v1: true };
  }
}

async function loadBuckets(ctx: Ctx, sel: VectorSelector, window: number, tier: '1m' | '1h', fn?: string): Promise<BucketSeries[]> {
  checkDeadline(ctx);
  const w = tier === '1h' ? HOUR : MINUTE;
  const e0 = Math.floor((ctx.times[0]! - sel.offset) / w) * w;
  const e1 = Math.floor((ctx.times[ctx.n - 1]! - sel.offset) / w) * w;
  ctx.q.tiers.add(tier);
  // The buckets some step's window [e - window, e) holds, by minute from the first (a difference
  // array: each window +1 at its start, -1 at its end, summed up).
  const from = e0 - window;
  const minutes = Math.max(0, (e1 - from) / MINUTE) + 1;
  const cover = new Int32Array(minutes + 1);
  for (let k = 0; k < ctx.n; k++) {
    const e = Math.floor((ctx.times[k]! - sel.offset) / w) * w;
    cover[Math.max(0, (e - window - from) / MINUTE)]! += 1;
    cover[Math.min(minutes, (e - from) / MINUTE)]! -= 1;
  }
  const need = new Uint8Array(minutes);
  for (let m = 0, sum = 0; m < minutes; m++) {
    sum += cover[m]!;
    need[m] = sum > 0 ? 1 : 0;
  }
  const series = await readBuckets(ctx.q.pool, sampleSelector(sel, ctx.q.opts.deadline), from, e1, tier, columnsFor(fn, sel), (start) => need[(start - from) / MINUTE] === 1).catch(tooMany);
  checkSize(ctx, series.length);
  for (const b of series) b.labels = withName(b.metric.name, b.labels);
  return sortByLabels(series);
}

/**
 * An instant vector selector at every step. `timestamps`: the value is the sample's time in
 * seconds (timestamp()), not its value.
 */
async function vectorSelector(ctx: Ctx, sel: VectorSelector, timestamps = false): Promise<Vec> {
  const at = atTime(sel.at);
  const out: Series[] = [];
  if (!timestamps && sourceOf(ctx, sel, undefined, undefined) !== 'raw') {
    for (const b of await loadBuckets(ctx, sel, LOOKBACK_MS, '1m')) {
      const s = newSeries(b.labels, ctx.n);
      const counter = b.metric.type === 'counter';
      let j = 0;
      for (let k = 0; k < ctx.n; k++) {
        const e = Math.floor((ctx.times[k]! - sel.offset) / MINUTE) * MINUTE;
        while (j < b.start.length && b.start[j]! < e) j++;
        const i = j - 1;
        if (i >= 0 && b.start[i]! >= e - LOOKBACK_MS) {
          s.ok[k] = 1;
          s.v[k] = counter ? b.v2[i]! : b.v1[i]!;
        }
      }
      out.push(s);
    }
    return { type: 'vector', series: out };
  }
  const refs = refTimes(ctx, sel.offset, at);
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of refs) {
    if (r < lo) lo = r;
    if (r > hi) hi = r;
  }
  // One evaluation time (an instant query, or @): each host's last snapshot before it and the next.
  for (const r of await loadRaw(ctx, sel, lo - LOOKBACK_MS + 1, hi, true, undefined, lo === hi ? hi : undefined)) {
    await pause(ctx);
    const s = newSeries(r.labels, ctx.n);
    for (let k = 0; k < ctx.n; k++) {
      const ref = refs[k]!;
      // The last sample at or before ref (refs ascend, or stay put under @).
      const i = lastAtOrBefore(r.t, ref);
      if (i >= 0 && r.t[i]! > ref - LOOKBACK_MS && !(r.end && ref >= r.end[i]!)) {
        s.ok[k] = 1;
        s.v[k] = timestamps ? r.t[i]! / 1000 : r.v[i]!;
      }
    }
    if (s.ok.some((x) => x)) out.push(s);
  }
  return { type: 'vector', series: out };
}

function lastAtOrBefore(t: ArrayLike<number>, ref: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! <= ref) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * The steps' windows (ref - range, ref], merged, when they cover less than half of the range from
 * the first window's start to the last step (steps longer than the window: irate(x[5m]) at 44-minute
 * steps reads 5 minutes of every 44); undefined when reading it all costs about as much.
 */
export function windowSpans(refs: ArrayLike<number>, range: number): [number, number][] | undefined {
  const n = refs.length;
  if (n < 2) return undefined;
  const spans: [number, number][] = [];
  let covered = 0;
  for (let k = 0; k < n; k++) {
    const lo = refs[k]! - range;
    const hi = refs[k]!;
    const last = spans[spans.length - 1];
    if (last && lo <= last[1]) {
      covered += hi - last[1];
      last[1] = hi;
    } else {
      spans.push([lo, hi]);
      covered += range;
    }
  }
  return covered < 0.5 * (refs[n - 1]! - refs[0]! + range) ? spans : undefined;
}

/** A range vector selector: its raw samples over every step's window. */
async function matrixSelector(ctx: Ctx, m: MatrixSelector): Promise<Matrix> {
  const at = atTime(m.selector.at);
  const refs = refTimes(ctx, m.selector.offset, at);
  const loaded = await loadRaw(ctx, m.selector, refs[0]! - m.range + 1, refs[ctx.n - 1]!, false, windowSpans(refs, m.range));
  return { type: 'matrix', series: loaded.map((l) => ({ labels: l.labels, t: l.t, v: l.v })), range: m.range, offset: m.selector.offset, at };
}

/** A subquery: its expression at the multiples of its step inside every step's window. */
async function subquery(ctx: Ctx, sq: Subquery): Promise<Matrix> {
  const at = atTime(sq.at);
  const step = sq.step || DEFAULT_SUBQUERY_STEP_MS;
  const refs = refTimes(ctx, sq.offset, at);
  const from = refs[0]! - sq.range;
  const to = refs[ctx.n - 1]!;
  // Prometheus: the first multiple of the step after (start - offset - range), Go's integer division.
  let start = step * Math.trunc(from / step);
  if (start <= from) start += step;
  const n = start > to ? 0 : Math.floor((to - start) / step) + 1;
  if (n > MAX_POINTS_IN_MEMORY) throw execError('query processing would load too many samples into memory in query execution');
  const times = new Float64Array(n);
  for (let k = 0; k < n; k++) times[k] = start + k * step;
  let series: MatrixSeries[] = [];
  if (n > 0) {
    const inner = await evalExpr({ q: ctx.q, times, n, step }, sq.expr);
    series = (inner as Vec).series.map((s) => {
      const t: number[] = [];
      const v: number[] = [];
      for (let k = 0; k < n; k++) {
        if (!s.ok[k]) continue;
        t.push(times[k]!);
        v.push(s.v[k]!);
      }
      return { labels: s.labels, t, v };
    }).filter((s) => s.t.length > 0);
  }
  return { type: 'matrix', series, range: sq.range, offset: sq.offset, at };
}

async function evalMatrix(ctx: Ctx, e: Expr): Promise<Matrix> {
  switch (e.kind) {
    case 'matrix':
      return matrixSelector(ctx, e);
    case 'subquery':
      return subquery(ctx, e);
    case 'paren':
      return evalMatrix(ctx, e.expr);
    case 'invariant':
      return evalMatrix(firstStep(ctx), e.expr);
    default:
      throw execError(`expected a range vector, got ${e.kind}`);
  }
}

// ---- range functions -------------------------------------------------------------------------------------

/** One range function over samples [lo, hi) of a window (rangeStart, rangeEnd], at step time ts. */
function rangeFn(fn: string, t: ArrayLike<number>, v: ArrayLike<number>, lo: number, hi: number, rangeStart: number, rangeEnd: number, ts: number, p: number[]): number | undefined {
  const count = hi - lo;
  if (count < 1) return undefined;
  switch (fn) {
    case 'rate':
      return extrapolatedRate(t, v, lo, hi, rangeStart, rangeEnd, true, true);
    case 'increase':
      return extrapolatedRate(t, v, lo, hi, rangeStart, rangeEnd, true, false);
    case 'delta':
      return extrapolatedRate(t, v, lo, hi, rangeStart, rangeEnd, false, false);
    case 'irate':
    case 'idelta': {
      if (count < 2) return undefined;
      const last = v[hi - 1]!;
      const prev = v[hi - 2]!;
      const dt = t[hi - 1]! - t[hi - 2]!;
      if (dt === 0) return undefined;
      const isRate = fn === 'irate';
      let r = last;
      if (!isRate || !(last < prev)) r = last - prev;
      return isRate ? r / (dt / 1000) : r;
    }
    case 'deriv': {
      if (count < 2) return undefined;
      return linearRegression(t, v, lo, hi, t[lo]!)[0];
    }
    case 'predict_linear': {
      if (count < 2) return undefined;
      const [slope, intercept] = linearRegression(t, v, lo, hi, ts);
      return slope * p[0]! + intercept;
    }
    case 'changes':
    case 'resets': {
      let c = 0;
      let prev = v[lo]!;
      for (let i = lo + 1; i < hi; i++) {
        const cur = v[i]!;
        if (fn === 'resets' ? cur < prev : cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))) c++;
        prev = cur;
      }
      return c;
    }
    case 'count_over_time':
      return count;
    case 'present_over_time':
      return 1;
    case 'last_over_time':
      return v[hi - 1]!;
    case 'first_over_time':
      return v[lo]!;
    case 'ts_of_last_over_time':
      return t[hi - 1]! / 1000;
    case 'ts_of_first_over_time':
      return t[lo]! / 1000;
    case 'sum_over_time': {
      let sum = 0;
      let c = 0;
      for (let i = lo; i < hi; i++) [sum, c] = kahanSumInc(v[i]!, sum, c);
      return Number.isFinite(sum) ? sum + c : sum;
    }
    case 'avg_over_time': {
      let sum = v[lo]!;
      let c = 0;
      let mean = 0;
      let incremental = false;
      for (let i = lo + 1; i < hi; i++) {
        const x = v[i]!;
        const cnt = i - lo + 1;
        if (!incremental) {
          const [ns, nc] = kahanSumInc(x, sum, c);
          if (Number.isFinite(ns) || Number.isNaN(ns)) {
            sum = ns;
            c = nc;
            continue;
          }
          incremental = true;
          mean = sum / (cnt - 1);
          c /= cnt - 1;
        }
        const q = (cnt - 1) / cnt;
        [mean, c] = kahanSumInc(x / cnt, q * mean, q * c);
      }
      if (incremental) return mean + c;
      return sum / count + c / count;
    }
    case 'min_over_time':
    case 'max_over_time': {
      let m = v[lo]!;
      for (let i = lo; i < hi; i++) {
        const x = v[i]!;
        if ((fn === 'min_over_time' ? x < m : x > m) || Number.isNaN(m)) m = x;
      }
      return m;
    }
    case 'ts_of_min_over_time':
    case 'ts_of_max_over_time': {
      let m = v[lo]!;
      let at = t[lo]!;
      for (let i = lo; i < hi; i++) {
        const x = v[i]!;
        if ((fn === 'ts_of_min_over_time' ? x <= m : x >= m) || Number.isNaN(m)) {
          m = x;
          at = t[i]!;
        }
      }
      return at / 1000;
    }
    case 'stddev_over_time':
    case 'stdvar_over_time': {
      let cnt = 0;
      let mean = 0, cMean = 0, aux = 0, cAux = 0;
      for (let i = lo; i < hi; i++) {
        const x = v[i]!;
        cnt++;
        const delta = x - (mean + cMean);
        [mean, cMean] = kahanSumInc(delta / cnt, mean, cMean);
        [aux, cAux] = kahanSumInc(delta * (x - (mean + cMean)), aux, cAux);
      }
      const variance = (aux + cAux) / cnt;
      return fn === 'stddev_over_time' ? Math.sqrt(variance) : variance;
    }
    case 'quantile_over_time': {
      const values: number[] = [];
      for (let i = lo; i < hi; i++) values.push(v[i]!);
      return quantile(p[0]!, values);
    }
    case 'mad_over_time': {
      const values: number[] = [];
      for (let i = lo; i < hi; i++) values.push(v[i]!);
      const median = quantile(0.5, values.slice());
      return quantile(0.5, values.map((x) => Math.abs(x - median)));
    }
    case 'double_exponential_smoothing': {
      const [sf, tf] = p as [number, number];
      if (!(sf > 0 && sf < 1)) throw execError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf.toFixed(6)}`);
      if (!(tf > 0 && tf < 1)) throw execError(`invalid trend factor. Expected: 0 < tf < 1, got: ${tf.toFixed(6)}`);
      if (count < 2) return undefined;
      let s0 = 0;
      let s1 = v[lo]!;
      let b = v[lo + 1]! - v[lo]!;
      for (let i = 1; i < count; i++) {
        const x = sf * v[lo + i]!;
        if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
        const y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
      }
      return s1;
    }
    default:
      throw execError(`unknown range function ${fn}`);
  }
}

function bucketRangeFn(fn: string, b: BucketSeries, lo: number, hi: number, rangeMs: number): number | undefined {
  let n = 0;
  for (let i = lo; i < hi; i++) n += b.n[i]!;
  if (n === 0) return undefined;
  switch (fn) {
    case 'rate':
    case 'increase': {
      if (n < 2) return undefined;
      let inc = 0;
      for (let i = lo; i < hi; i++) inc += b.v3[i]!;
      return fn === 'rate' ? inc / (rangeMs / 1000) : inc;
    }
    case 'count_over_time':
      return n;
    case 'sum_over_time':
    case 'avg_over_time': {
      let sum = 0;
      for (let i = lo; i < hi; i++) sum += b.v1[i]! * b.n[i]!;
      return fn === 'sum_over_time' ? sum : sum / n;
    }
    case 'min_over_time': {
      let m = Infinity;
      for (let i = lo; i < hi; i++) if (b.v2[i]! < m) m = b.v2[i]!;
      return m;
    }
    case 'max_over_time': {
      let m = -Infinity;
      for (let i = lo; i < hi; i++) if (b.v3[i]! > m) m = b.v3[i]!;
      return m;
    }
    default:
      return undefined;
  }
}

/** A range function over a matrix selector read from the rollup tiers. */
async function bucketCall(ctx: Ctx, fn: string, m: MatrixSelector, source: '1m' | '1h'): Promise<Vec> {
  const r = m.range;
  const w = source === '1h' ? HOUR : MINUTE;
  const out: Series[] = [];
  for (const b of await loadBuckets(ctx, m.selector, r, source, fn)) {
    const s = newSeries(dropName(b.labels), ctx.n);
    let lo = 0;
    let hi = 0;
    for (let k = 0; k < ctx.n; k++) {
      const e = Math.floor((ctx.times[k]! - m.selector.offset) / w) * w;
      while (hi < b.start.length && b.start[hi]! < e) hi++;
      while (lo < hi && b.start[lo]! < e - r) lo++;
      const x = bucketRangeFn(fn, b, lo, hi, r);
      if (x !== undefined) {
        s.ok[k] = 1;
        s.v[k] = x;
      }
    }
    out.push(s);
  }
  return { type: 'vector', series: dedupe(out, ctx.n) };
}

/** Labels absent()/absent_over_time() give: the argument's equality matchers (not __name__). */
function absentLabels(arg: Expr): Labels {
  const sel = arg.kind === 'vector' ? arg : arg.kind === 'matrix' ? arg.selector : undefined;
  if (!sel) return {};
  const out: Labels = {};
  const has = new Set<string>();
  for (const m of sel.matchers) {
    if (m.label === '__name__') continue;
    if (m.op === '=' && !has.has(m.label)) {
      out[m.label] = m.value;
      has.add(m.label);
    } else delete out[m.label];
  }
  return out;
}

async function rangeCall(ctx: Ctx, fn: string, args: Expr[]): Promise<Vec> {
  const mi = args.findIndex((a) => typeOf(a) === 'matrix');
  const arg = args[mi]!;
  // Rollups: a plain matrix selector under a function the buckets can answer.
  if (arg.kind === 'matrix' && args.length === 1) {
    const source = sourceOf(ctx, arg.selector, arg.range, fn);
    if (source !== 'raw') return bucketCall(ctx, fn, arg, source);
  }
  const params: Float64Array[] = [];
  for (let i = 0; i < args.length; i++) if (i !== mi) params.push(scalarOf(await evalExpr(ctx, args[i]!)));
  const m = await evalMatrix(ctx, arg);
  checkDeadline(ctx);
  const keep = KEEPS_NAME.has(fn);
  const out: Series[] = [];
  const p: number[] = new Array(params.length);
  for (const ms of m.series) {
    await pause(ctx);
    const s = newSeries(keep ? ms.labels : dropName(ms.labels), ctx.n);
    let lo = 0;
    let hi = 0;
    let prevEnd = -Infinity;
    for (let k = 0; k < ctx.n; k++) {
      // Long windows (subqueries over hours at 1-second steps) take long per series: pause here too.
      if ((k & 63) === 63 && performance.now() - ctx.q.lastYield >= SLICE_MS) await pause(ctx);
      const end = (m.at ?? ctx.times[k]!) - m.offset;
      const start = end - m.range;
      if (end < prevEnd) {
        lo = 0;
        hi = 0;
      }
      prevEnd = end;
      while (hi < ms.t.length && ms.t[hi]! <= end) hi++;
      while (lo < hi && ms.t[lo]! <= start) lo++;
      for (let i = 0; i < params.length; i++) p[i] = params[i]![k]!;
      const x = fn === 'absent_over_time' ? (hi > lo ? 1 : undefined) : rangeFn(fn, ms.t, ms.v, lo, hi, start, end, ctx.times[k]!, p);
      if (x !== undefined) {
        s.ok[k] = 1;
        s.v[k] = x;
      }
    }
    out.push(s);
  }
  if (fn === 'absent_over_time') {
    const s = newSeries(absentLabels(unwrapParens(arg)), ctx.n);
    for (let k = 0; k < ctx.n; k++) {
      if (out.some((o) => o.ok[k])) continue;
      s.ok[k] = 1;
      s.v[k] = 1;
    }
    return { type: 'vector', series: present([s]) };
  }
  return { type: 'vector', series: present(dedupe(out, ctx.n)) };
}

function unwrap(e: Expr): Expr {
  return e.kind === 'paren' || e.kind === 'invariant' ? unwrap(e.expr) : e;
}

function unwrapParens(e: Expr): Expr {
  return e.kind === 'paren' ? unwrapParens(e.expr) : e;
}

// ---- other functions ---------------------------------------------------------------------------------------

/** Go's strconv.FormatFloat(v, 'f', -1, 64), for count_values' label. */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  // (most values have no exponent: no regex for them)
  if (!s.includes('e')) return s;
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, d0, rest = '', expS] = m;
  const exp = Number(expS);
  const digits = d0! + rest;
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  return `${sign}${digits}${'0'.repeat(Math.max(0, exp - rest.length))}`;
}

/** Label names Prometheus 3 accepts (UTF-8, not empty). */
function validLabelName(s: string): boolean {
  return s.length > 0 && !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));
}

/** Natural order of two strings (digits compared as numbers), Prometheus's natsort for sort_by_label. */
function natCompare(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = BigInt(x);
      const ny = BigInt(y);
      if (nx !== ny) return nx < ny ? -1 : 1;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

function mapVector(input: Vec, n: number, f: (x: number, k: number) => number, keepName = false): Vec {
  const out = input.series.map((s) => {
    const o = newSeries(keepName ? s.labels : dropName(s.labels), n);
    for (let k = 0; k < n; k++) {
      if (!s.ok[k]) continue;
      o.ok[k] = 1;
      o.v[k] = f(s.v[k]!, k);
    }
    return o;
  });
  return { type: 'vector', series: dedupe(out, n) };
}

function stringArg(e: Expr): string {
  const u = unwrap(e);
  if (u.kind !== 'string') throw execError('expected a string literal');
  return u.value;
}

async function call(ctx: Ctx, fn: string, args: Expr[]): Promise<Value> {
  const n = ctx.n;
  const sig = FUNCTIONS[fn]!;
  if (sig.args.includes('matrix')) return rangeCall(ctx, fn, args);
  if (MATH_FUNCTIONS[fn]) return mapVector((await evalExpr(ctx, args[0]!)) as Vec, n, MATH_FUNCTIONS[fn]);
  if (DATE_FUNCTIONS[fn]) {
    const f = DATE_FUNCTIONS[fn];
    if (args.length === 0) {
      const s = newSeries({}, n);
      for (let k = 0; k < n; k++) {
        s.ok[k] = 1;
        s.v[k] = f(unixSecondsDate(ctx.times[k]! / 1000));
      }
      return { type: 'vector', series: [s] };
    }
    return mapVector((await evalExpr(ctx, args[0]!)) as Vec, n, (x) => (Number.isFinite(x) ? f(unixSecondsDate(x)) : Number.NaN));
  }
  switch (fn) {
    case 'time': {
      const v = new Float64Array(n);
      for (let k = 0; k < n; k++) v[k] = ctx.times[k]! / 1000;
      return { type: 'scalar', v };
    }
    case 'pi':
      return { type: 'scalar', v: new Float64Array(n).fill(Math.PI) };
    case 'vector': {
      const v = scalarOf(await evalExpr(ctx, args[0]!));
      const s = newSeries({}, n);
      s.ok.fill(1);
      s.v.set(v);
      return { type: 'vector', series: [s] };
    }
    case 'scalar': {
      const input = (await evalExpr(ctx, args[0]!)) as Vec;
      const v = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        let found = 0;
        let x = Number.NaN;
        for (const s of input.series) {
          if (!s.ok[k]) continue;
          found++;
          x = s.v[k]!;
        }
        v[k] = found === 1 ? x : Number.NaN;
      }
      return { type: 'scalar', v };
    }
    case 'absent': {
      const input = (await evalExpr(ctx, args[0]!)) as Vec;
      const s = newSeries(absentLabels(args[0]!), n);
      for (let k = 0; k < n; k++) {
        if (input.series.some((x) => x.ok[k])) continue;
        s.ok[k] = 1;
        s.v[k] = 1;
      }
      return { type: 'vector', series: present([s]) };
    }
    case 'timestamp': {
      const a = unwrap(args[0]!);
      if (a.kind === 'vector') {
        // The samples' own times; under @ Prometheus reads at the @ time itself (its offset ignored).
        const sel = a.at ? { ...a, offset: 0 } : a;
        return mapVector(await vectorSelector(ctx, sel, true), n, (x) => x);
      }
      return mapVector((await evalExpr(ctx, args[0]!)) as Vec, n, (_x, k) => ctx.times[k]! / 1000);
    }
    case 'clamp':
    case 'clamp_min':
    case 'clamp_max': {
      const input = (await evalExpr(ctx, args[0]!)) as Vec;
      const a = scalarOf(await evalExpr(ctx, args[1]!));
      const b = fn === 'clamp' ? scalarOf(await evalExpr(ctx, args[2]!)) : undefined;
      const out = mapVector(input, n, (x, k) => {
        if (fn === 'clamp_min') return Math.max(a[k]!, x);
        if (fn === 'clamp_max') return Math.min(a[k]!, x);
        return Math.max(a[k]!, Math.min(b![k]!, x));
      });
      if (b) {
        // clamp with max < min: an empty vector at that step.
        for (const s of out.series) for (let k = 0; k < n; k++) if (b[k]! < a[k]!) s.ok[k] = 0;
        out.series = present(out.series);
      }
      return out;
    }
    case 'round': {
      const input = (await evalExpr(ctx, args[0]!)) as Vec;
      const to = args[1] ? scalarOf(await evalExpr(ctx, args[1])) : new Float64Array(n).fill(1);
      return mapVector(input, n, (x, k) => {
        const inv = 1 / to[k]!;
        return Math.floor(x * inv + 0.5) / inv;
      });
    }
    case 'sort':
    case 'sort_desc': {
      const input = (await evalExpr(ctx, args[0]!)) as Vec;
      if (n !== 1) return input;
      const series = input.series.filter((s) => s.ok[0]);
      // NaN last either way (Prometheus).
      series.sort((a, b) => {
        const x = a.v[0]!;
        const y = b.v[0]!;
        if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
        if (Number.isNaN(y)) return -1;
        return fn === 'sort' ? x - y : y - x;
      });
      return { type: 'vector', series, ordered: true };
    }
    case 'sort_by_label':
    case 'sort_by_label_desc': {
      const input = (await evalExpr(ctx, args[0]!)) as Vec;
      if (n !== 1) return input;
      const names = args.slice(1).map(stringArg);
      const series = input.series.filter((s) => s.ok[0]);
      const dir = fn === 'sort_by_label' ? 1 : -1;
      series.sort((a, b) => {
        for (const l of names) {
          const x = a.labels[l] ?? '';
          const y = b.labels[l] ?? '';
          if (x === y) continue;
          return dir * natCompare(x, y);
        }
        return dir * compareLabels(a.labels, b.labels);
      });
      return { type: 'vector', series, ordered: true };
    }
    case 'label_replace': {
      const input = (await evalExpr(ctx, args[0]!)) as Vec;
      const [dst, repl, src, regex] = args.slice(1).map(stringArg) as [string, string, string, string];
      let re;
      try {
        re = compileAnchored(regex);
      } catch (err) {
        if (err instanceof RegexError) throw execError(`invalid regular expression in label_replace(): ${regex}`);
        throw err;
      }
      if (!validLabelName(dst)) throw execError(`invalid destination label name in label_replace(): ${dst}`);
      const out = input.series.map((s) => {
        const m = re.re.matcher(s.labels[src] ?? '');
        if (!m.matches()) return s;
        const names = re.re.namedGroups() as Record<string, number>;
        const value = expandTemplate(repl, (g) => {
          const idx = /^\d+$/.test(g) ? Number(g) : names[g];
          if (idx === undefined || idx > m.groupCount()) return undefined;
          return m.group(idx) ?? undefined;
        });
        const labels: Labels = { ...s.labels };
        delete labels[dst];
        if (value) labels[dst] = value;
        return { ...s, labels };
      });
      return { type: 'vector', series: dedupe(out.map((s) => ({ labels: s.labels, v: s.v.slice(), ok: s.ok.slice() })), n) };
    }
    case 'label_join': {
      const input = (await evalExpr(ctx, args[0]!)) as Vec;
      const [dst, sep, ...srcs] = args.slice(1).map(stringArg) as [string, string, ...string[]];
      for (const src of srcs) if (!validLabelName(src)) throw execError(`invalid source label name in label_join(): ${src}`);
      if (!validLabelName(dst)) throw execError(`invalid destination label name in label_join(): ${dst}`);
      const out = input.series.map((s) => {
        const value = srcs.map((l) => s.labels[l] ?? '').join(sep);
        const labels: Labels = { ...s.labels };
        delete labels[dst];
        if (value) labels[dst] = value;
        return { labels, v: s.v.slice(), ok: s.ok.slice() };
      });
      return { type: 'vector', series: dedupe(out, n) };
    }
    case 'histogram_quantile': {
      const q = scalarOf(await evalExpr(ctx, args[0]!));
      const input = (await evalExpr(ctx, args[1]!)) as Vec;
      const groups = new Map<string, { labels: Labels; members: { le: number; s: Series }[] }>();
      for (const s of input.series) {
        const le = parseGoFloat(s.labels.le ?? '');
        if (le === undefined) continue;
        const { le: _le, ...rest } = s.labels;
        const key = keyOf(rest);
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { labels: dropName(rest), members: [] }));
        g.members.push({ le, s });
      }
      const out: Series[] = [];
      for (const g of groups.values()) {
        const o = newSeries(g.labels, n);
        for (let k = 0; k < n; k++) {
          const buckets = g.members.filter((m) => m.s.ok[k]).map((m) => ({ le: m.le, count: m.s.v[k]! }));
          if (!buckets.length) continue;
          o.ok[k] = 1;
          o.v[k] = bucketQuantile(q[k]!, buckets);
        }
        out.push(o);
      }
      return { type: 'vector', series: present(dedupe(out, n)) };
    }
    case 'histogram_count':
    case 'histogram_sum':
    case 'histogram_avg':
    case 'histogram_stddev':
    case 'histogram_stdvar':
    case 'histogram_fraction':
      // Native histograms only: PerfWatch's history has float samples, which these skip.
      for (const a of args) await evalExpr(ctx, a);
      return { type: 'vector', series: [] };
    default:
      throw execError(`function "${fn}" is not implemented`);
  }
}

// ---- aggregation ---------------------------------------------------------------------------------------------

function groupLabels(l: Labels, grouping: string[], without: boolean): Labels {
  if (!without) {
    const g: Labels = {};
    for (const k of grouping) if (l[k] !== undefined && l[k] !== '') g[k] = l[k]!;
    return g;
  }
  const drop = new Set([...grouping, '__name__']);
  const g: Labels = {};
  for (const [k, v] of Object.entries(l)) if (!drop.has(k)) g[k] = v;
  return g;
}

/** Go's container/heap over indexes with a less function. */
class Heap {
  items: number[] = [];
  constructor(readonly less: (a: number, b: number) => boolean) {}
  push(x: number): void {
    this.items.push(x);
    this.up(this.items.length - 1);
  }
  fix0(): void {
    this.down(0, this.items.length);
  }
  private up(j: number): void {
    const h = this.items;
    while (j > 0) {
      const i = Math.floor((j - 1) / 2);
      if (i === j || !this.less(h[j]!, h[i]!)) break;
      [h[i], h[j]] = [h[j]!, h[i]!];
      j = i;
    }
  }
  private down(i0: number, n: number): void {
    const h = this.items;
    let i = i0;
    for (;;) {
      const j1 = 2 * i + 1;
      if (j1 >= n || j1 < 0) break;
      let j = j1;
      const j2 = j1 + 1;
      if (j2 < n && this.less(h[j2]!, h[j1]!)) j = j2;
      if (!this.less(h[j]!, h[i]!)) break;
      [h[i], h[j]] = [h[j]!, h[i]!];
      i = j;
    }
  }
}

function kParam(f: number): number {
  if (Number.isNaN(f)) throw execError('Parameter value is NaN');
  if (f >= 2 ** 63 || f < -(2 ** 63)) throw execError(`Scalar value ${formatFloat(f)} overflows int64`);
  return Math.trunc(f);
}

async function aggregate(ctx: Ctx, op: AggOp, grouping: string[], without: boolean, paramExpr: Expr | undefined, expr: Expr): Promise<Vec> {
  const n = ctx.n;
  const param = paramExpr ? await evalExpr(ctx, paramExpr) : undefined;
  const input = ((await evalExpr(ctx, expr)) as Vec).series;
  checkDeadline(ctx);
  if (op === 'count_values') {
    const label = (param as { type: 'string'; s: string }).s;
    if (!validLabelName(label)) throw execError(`invalid label name "${label}"`);
    const out = new Map<string, Series>();
    const groupOf = input.map((s) => groupLabels(s.labels, grouping, without));
    for (let k = 0; k < n; k++) {
      await pause(ctx);
      input.forEach((s, i) => {
        if (!s.ok[k]) return;
        const labels = { ...groupOf[i]!, [label]: formatFloat(s.v[k]!) };
        const key = keyOf(labels);
        let o = out.get(key);
        if (!o) out.set(key, (o = newSeries(labels, n)));
        if (!o.ok[k]) {
          o.ok[k] = 1;
          o.v[k] = 0;
        }
        o.v[k]! += 1;
      });
    }
    return { type: 'vector', series: [...out.values()] };
  }
  const groups = new Map<string, { labels: Labels; members: Series[] }>();
  for (const s of input) {
    const labels = groupLabels(s.labels, grouping, without);
    const key = keyOf(labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, members: [] }));
    g.members.push(s);
  }
  if (op === 'topk' || op === 'bottomk' || op === 'limitk') {
    const kv = scalarOf(param!);
    const out = input.map((s) => newSeries(s.labels, n));
    const index = new Map(input.map((s, i) => [s, i]));
    for (let k = 0; k < n; k++) {
      await pause(ctx);
      const limit = kParam(kv[k]!);
      if (limit < 1) continue;
      for (const g of groups.values()) {
        const chosen: Series[] = [];
        if (op === 'limitk') {
          for (const s of g.members) if (s.ok[k] && chosen.length < limit) chosen.push(s);
        } else {
          const vals = g.members;
          const val = (i: number) => vals[i]!.v[k]!;
          // topk: the smallest kept on top; NaN is smaller than anything (Prometheus's heaps).
          const less = op === 'topk'
            ? (a: number, b: number) => Number.isNaN(val(a)) || val(a) < val(b)
            : (a: number, b: number) => Number.isNaN(val(a)) || val(a) > val(b);
          const heap = new Heap(less);
          vals.forEach((s, i) => {
            if (!s.ok[k]) return;
            const x = s.v[k]!;
            if (heap.items.length < limit) heap.push(i);
            else {
              const top = val(heap.items[0]!);
              const replace = op === 'topk' ? top < x || (Number.isNaN(top) && !Number.isNaN(x)) : top > x || (Number.isNaN(top) && !Number.isNaN(x));
              if (replace) {
                heap.items[0] = i;
                if (limit > 1) heap.fix0();
              }
            }
          });
          for (const i of heap.items) chosen.push(vals[i]!);
        }
        for (const s of chosen) {
          const o = out[index.get(s)!]!;
          o.ok[k] = 1;
          o.v[k] = s.v[k]!;
        }
      }
    }
    return { type: 'vector', series: present(out) };
  }
  const out: Series[] = [];
  if (op === 'sum') {
    // Member by member over every step, not step by step over the members: the same additions
    // in the same order at each step (kahanSumInc's, by kahanC: no pair allocated), each member's
    // arrays read once in order instead of all of them at every step (a fleet's 16,000 series).
    for (const g of groups.values()) {
      await pause(ctx);
      const s = newSeries(g.labels, n);
      const acc = new Float64Array(n);
      const c = new Float64Array(n);
      for (const m of g.members) {
        const ok = m.ok;
        const v = m.v;
        for (let k = 0; k < n; k++) {
          if (!ok[k]) continue;
          const x = v[k]!;
          c[k] = kahanC(x, acc[k]!, c[k]!);
          acc[k]! += x;
          s.ok[k] = 1;
        }
      }
      for (let k = 0; k < n; k++) if (s.ok[k]) s.v[k] = Number.isFinite(acc[k]!) ? acc[k]! + c[k]! : acc[k]!;
      out.push(s);
    }
    return { type: 'vector', series: present(out) };
  }
  const q = op === 'quantile' ? scalarOf(param!) : undefined;
  for (const g of groups.values()) {
    await pause(ctx);
    const s = newSeries(g.labels, n);
    for (let k = 0; k < n; k++) {
      let count = 0;
      let acc = 0;
      let c = 0;
      let mean = 0;
      let incremental = false;
      const values: number[] = [];
      for (const m of g.members) {
        if (!m.ok[k]) continue;
        const x = m.v[k]!;
        count++;
        switch (op) {
          case 'avg':
            if (count === 1) {
              acc = x;
              break;
            }
            if (!incremental) {
              const [ns, nc] = kahanSumInc(x, acc, c);
              if (Number.isFinite(ns) || Number.isNaN(ns)) {
                acc = ns;
                c = nc;
                break;
              }
              incremental = true;
              mean = acc / (count - 1);
              c /= count - 1;
            }
            if (!Number.isFinite(mean) && !Number.isNaN(mean)) {
              if (!Number.isFinite(x) && !Number.isNaN(x) && mean > 0 === x > 0) break;
              if (Number.isFinite(x)) break;
            }
            [mean, c] = kahanSumInc(x / count - (mean + c) / count, mean, c);
            break;
          case 'min':
            if (count === 1 || acc > x || Number.isNaN(acc)) acc = x;
            break;
          case 'max':
            if (count === 1 || acc < x || Number.isNaN(acc)) acc = x;
            break;
          case 'count':
          case 'group':
            break;
          case 'stddev':
          case 'stdvar': {
            if (count === 1) {
              mean = x;
              acc = 0;
              break;
            }
            const delta = x - mean;
            mean += delta / count;
            acc += delta * (x - mean);
            break;
          }
          case 'quantile':
            values.push(x);
            break;
        }
      }
      if (!count) continue;
      s.ok[k] = 1;
      switch (op) {
        case 'avg':
          s.v[k] = incremental ? mean + c : (acc + c) / count;
          break;
        case 'count':
          s.v[k] = count;
          break;
        case 'group':
          s.v[k] = 1;
          break;
        case 'stdvar':
          s.v[k] = acc / count;
          break;
        case 'stddev':
          s.v[k] = Math.sqrt(acc / count);
          break;
        case 'quantile':
          s.v[k] = quantile(q![k]!, values);
          break;
        default:
          s.v[k] = acc;
      }
    }
    out.push(s);
  }
  return { type: 'vector', series: present(out) };
}

// ---- binary operators --------------------------------------------------------------------------------------

/** The value of `a op b`, and (comparisons) whether it holds. */
function binop(op: BinOp, a: number, b: number): number {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
    case '%': return a % b;
    case '^': return goPow(a, b);
    case 'atan2': return Math.atan2(a, b);
    case '==': return a === b ? 1 : 0;
    case '!=': return a !== b ? 1 : 0;
    case '>': return a > b ? 1 : 0;
    case '<': return a < b ? 1 : 0;
    case '>=': return a >= b ? 1 : 0;
    case '<=': return a <= b ? 1 : 0;
    default: throw execError(`operator ${op} between numbers`);
  }
}

/** The signature two sides match on: on(...) the listed labels, ignoring(...) all but those and __name__. */
function signature(l: Labels, m: VectorMatching): string {
  if (m.on) {
    let s = '';
    for (const k of [...m.labels].sort()) if (l[k] !== undefined) s += `${k}\u0000${l[k]}\u0001`;
    return s;
  }
  return keyOf(groupLabels(l, m.labels, true));
}

function matchedLabelsText(l: Labels, m: VectorMatching): string {
  const out: Labels = {};
  if (m.on) for (const k of m.labels) {
    if (l[k] !== undefined) out[k] = l[k]!;
  }
  else Object.assign(out, groupLabels(l, m.labels, true));
  return labelsText(out);
}

/** The labels of a vector/vector result (Prometheus's resultMetric). */
function resultLabels(many: Labels, one: Labels, op: BinOp, m: VectorMatching, bool: boolean): Labels {
  let out: Labels = { ...many };
  if (!isComparison(op) || bool) delete out.__name__;
  if (m.card === 'one-to-one') {
    if (m.on) {
      const keep: Labels = {};
      for (const k of m.labels) if (out[k] !== undefined) keep[k] = out[k]!;
      out = keep;
    } else for (const k of m.labels) delete out[k];
  }
  for (const k of m.include) {
    if (one[k] !== undefined && one[k] !== '') out[k] = one[k]!;
    else delete out[k];
  }
  return out;
}

async function setOperation(ctx: Ctx, op: BinOp, m: VectorMatching, lhs: Series[], rhs: Series[], n: number): Promise<Vec> {
  const lsig = lhs.map((s) => signature(s.labels, m));
  const rsig = rhs.map((s) => signature(s.labels, m));
  const out = new Map<string, Series>();
  const emit = (s: Series, k: number) => {
    const key = keyOf(s.labels);
    let o = out.get(key);
    if (!o) out.set(key, (o = newSeries(s.labels, n)));
    if (o.ok[k]) throw execError(SAME_LABELSET);
    o.ok[k] = 1;
    o.v[k] = s.v[k]!;
  };
  for (let k = 0; k < n; k++) {
    await pause(ctx);
    const right = new Set<string>();
    rhs.forEach((s, i) => s.ok[k] && right.add(rsig[i]!));
    if (op === 'and' || op === 'unless') {
      lhs.forEach((s, i) => {
        if (s.ok[k] && right.has(lsig[i]!) === (op === 'and')) emit(s, k);
      });
    } else {
      const left = new Set<string>();
      lhs.forEach((s, i) => {
        if (!s.ok[k]) return;
        left.add(lsig[i]!);
        emit(s, k);
      });
      rhs.forEach((s, i) => {
        if (s.ok[k] && !left.has(rsig[i]!)) emit(s, k);
      });
    }
  }
  return { type: 'vector', series: [...out.values()] };
}

async function vectorBinary(ctx: Ctx, op: BinOp, bool: boolean, m: VectorMatching, lhsIn: Series[], rhsIn: Series[], n: number): Promise<Vec> {
  if (m.card === 'many-to-many') return setOperation(ctx, op, m, lhsIn, rhsIn, n);
  const cmp = isComparison(op);
  // one-to-many: the sides swap, values are computed in the original order.
  const swap = m.card === 'one-to-many';
  const many = swap ? rhsIn : lhsIn;
  const one = swap ? lhsIn : rhsIn;
  const manySig = many.map((s) => signature(s.labels, m));
  const oneBySig = new Map<string, number[]>();
  one.forEach((s, i) => {
    const sig = signature(s.labels, m);
    let l = oneBySig.get(sig);
    if (!l) oneBySig.set(sig, (l = []));
    l.push(i);
  });
  const out = new Map<string, Series>();
  const labelCache = new Map<string, Labels>();
  for (let k = 0; k < n; k++) {
    await pause(ctx);
    // The "one" side at this step, by signature; two there is many-to-many.
    const oneAt = new Map<string, Series>();
    for (const [sig, idx] of oneBySig) {
      let found: Series | undefined;
      for (const i of idx) {
        const s = one[i]!;
        if (!s.ok[k]) continue;
        if (found) {
          throw execError(`found duplicate series for the match group ${matchedLabelsText(s.labels, m)} on the ${swap ? 'left' : 'right'} hand-side of the operation: [${labelsText(s.labels)}, ${labelsText(found.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`);
        }
        found = s;
      }
      if (found) oneAt.set(sig, found);
    }
    const matched = new Map<string, Set<string> | null>();
    many.forEach((ls, i) => {
      if (!ls.ok[k]) return;
      const sig = manySig[i]!;
      const rs = oneAt.get(sig);
      if (!rs) return;
      const fl = swap ? rs.v[k]! : ls.v[k]!;
      const fr = swap ? ls.v[k]! : rs.v[k]!;
      let value = binop(op, fl, fr);
      if (cmp) {
        const keep = value === 1;
        if (bool) value = keep ? 1 : 0;
        else if (!keep) return;
        else value = fl;
      }
      const ck = `${i}\u0002${keyOf(rs.labels)}`;
      let labels = labelCache.get(ck);
      if (!labels) labelCache.set(ck, (labels = resultLabels(ls.labels, rs.labels, op, m, bool)));
      const key = keyOf(labels);
      if (m.card === 'one-to-one') {
        if (matched.has(sig)) throw execError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        matched.set(sig, null);
      } else {
        let set = matched.get(sig);
        if (!set) matched.set(sig, (set = new Set()));
        if (set.has(key)) throw execError('multiple matches for labels: grouping labels must ensure unique matches');
        set.add(key);
      }
      let o = out.get(key);
      if (!o) out.set(key, (o = newSeries(labels, n)));
      if (o.ok[k]) throw execError(SAME_LABELSET);
      o.ok[k] = 1;
      o.v[k] = value;
    });
  }
  return { type: 'vector', series: [...out.values()] };
}

async function binary(ctx: Ctx, op: BinOp, bool: boolean, matching: VectorMatching | undefined, lhs: Value, rhs: Value): Promise<Value> {
  const n = ctx.n;
  const cmp = isComparison(op);
  if (lhs.type === 'scalar' && rhs.type === 'scalar') {
    const v = new Float64Array(n);
    for (let k = 0; k < n; k++) v[k] = binop(op, lhs.v[k]!, rhs.v[k]!);
    return { type: 'scalar', v };
  }
  if (lhs.type === 'vector' && rhs.type === 'vector') {
    return vectorBinary(ctx, op, bool, matching!, lhs.series, rhs.series, n);
  }
  const vec = (lhs.type === 'vector' ? lhs : rhs) as Vec;
  const sc = (lhs.type === 'scalar' ? lhs : rhs) as Scalar;
  const swap = lhs.type === 'scalar';
  const out: Series[] = [];
  for (const s of vec.series) {
    const o = newSeries(!cmp || bool ? dropName(s.labels) : s.labels, n);
    for (let k = 0; k < n; k++) {
      if (!s.ok[k]) continue;
      const a = swap ? sc.v[k]! : s.v[k]!;
      const b = swap ? s.v[k]! : sc.v[k]!;
      const x = binop(op, a, b);
      if (cmp) {
        if (bool) {
          o.ok[k] = 1;
          o.v[k] = x;
        } else if (x === 1) {
          o.ok[k] = 1;
          o.v[k] = s.v[k]!; // the vector's value, whichever side it is on
        }
      } else {
        o.ok[k] = 1;
        o.v[k] = x;
      }
    }
    out.push(o);
  }
  return { type: 'vector', series: present(dedupe(out, n)) };
}

// ---- the walk ----------------------------------------------------------------------------------------------

async function evalExpr(ctx: Ctx, e: Expr): Promise<Value> {
  await pause(ctx);
  checkDeadline(ctx);
  const v = await evalNode(ctx, e);
  // Every node's answer is held in memory: its series x steps count toward the limit.
  if (v.type === 'vector') checkSize(ctx, v.series.length);
  return v;
}

async function evalNode(ctx: Ctx, e: Expr): Promise<Value> {
  switch (e.kind) {
    case 'number':
      return { type: 'scalar', v: new Float64Array(ctx.n).fill(e.value) };
    case 'string':
      return { type: 'string', s: e.value };
    case 'vector':
      return vectorSelector(ctx, e);
    case 'matrix':
    case 'subquery':
      return evalMatrix(ctx, e);
    case 'paren':
      return evalExpr(ctx, e.expr);
    case 'invariant': {
      if (e.expr.kind === 'number' || e.expr.kind === 'string') return evalExpr(ctx, e.expr);
      const one = await evalExpr(firstStep(ctx), e.expr);
      return broadcast(one, ctx.n);
    }
    case 'call':
      return call(ctx, e.fn, e.args);
    case 'unary': {
      const v = await evalExpr(ctx, e.expr);
      if (e.op === '+') return v;
      if (v.type === 'scalar') return { type: 'scalar', v: v.v.map((x) => -x) };
      const vec = v as Vec;
      return { type: 'vector', series: dedupe(vec.series.map((s) => ({ labels: dropName(s.labels), v: s.v.map((x) => -x), ok: s.ok })), ctx.n) };
    }
    case 'agg':
      return aggregate(ctx, e.op, e.grouping, e.without, e.param, e.expr);
    case 'binary': {
      const l = await evalExpr(ctx, e.lhs);
      const r = await evalExpr(ctx, e.rhs);
      return binary(ctx, e.op, e.bool, e.matching, l, r);
    }
  }
}

function broadcast(v: Value, n: number): Value {
  if (n === 1) return v;
  if (v.type === 'scalar') return { type: 'scalar', v: new Float64Array(n).fill(v.v[0]!) };
  if (v.type === 'vector') {
    return {
      type: 'vector',
      series: v.series.filter((s) => s.ok[0]).map((s) => ({ labels: s.labels, v: new Float64Array(n).fill(s.v[0]!), ok: new Uint8Array(n).fill(1) })),
    };
  }
  return v;
}

// ---- preprocessing: @ start()/end() and step-invariant subtrees (engine.go PreprocessExpr) ---------------

function resolveAt<T extends { at: VectorSelector['at'] }>(x: T, start: number, end: number): T {
  if (!x.at || 'time' in x.at) return x;
  return { ...x, at: { time: x.at.preprocessor === 'start' ? start : end } };
}

/** Returns [expression, isStepInvariant, shouldWrap] as Prometheus's preprocessExprHelper. */
function preprocess(e: Expr, start: number, end: number): [Expr, boolean, boolean] {
  const wrap = (x: Expr, inv: boolean, should: boolean): Expr => (inv && should ? { kind: 'invariant', expr: x } : x);
  switch (e.kind) {
    case 'vector': {
      const v = resolveAt(e, start, end);
      return [v, v.at !== undefined, v.at !== undefined];
    }
    case 'matrix': {
      const sel = resolveAt(e.selector, start, end);
      return [{ ...e, selector: sel }, sel.at !== undefined, sel.at !== undefined];
    }
    case 'subquery': {
      const [inner, inv] = preprocess(e.expr, start, end);
      const sq = resolveAt({ ...e, expr: inv ? ({ kind: 'invariant', expr: inner } as Expr) : inner }, start, end);
      return [sq, sq.at !== undefined, sq.at !== undefined];
    }
    case 'agg': {
      const [inner, inv, should] = preprocess(e.expr, start, end);
      const param = e.param ? preprocess(e.param, start, end)[0] : undefined;
      return [{ ...e, expr: inner, param }, inv, should];
    }
    case 'binary': {
      const [l, li, ls] = preprocess(e.lhs, start, end);
      const [r, ri, rs] = preprocess(e.rhs, start, end);
      if (li && ri) return [{ ...e, lhs: l, rhs: r }, true, ls || rs];
      return [{ ...e, lhs: wrap(l, li, ls), rhs: wrap(r, ri, rs) }, false, false];
    }
    case 'call': {
      const done = e.args.map((a) => preprocess(a, start, end));
      const inv = !AT_MODIFIER_UNSAFE.has(e.fn) && done.every((d) => d[1]);
      if (inv) return [{ ...e, args: done.map((d) => d[0]) }, true, done.some((d) => d[2])];
      return [{ ...e, args: done.map((d) => wrap(d[0], d[1], d[2])) }, false, false];
    }
    case 'paren':
    case 'unary': {
      const [inner, inv, should] = preprocess(e.expr, start, end);
      return [{ ...e, expr: inner }, inv, should];
    }
    case 'number':
    case 'string':
      return [e, true, false];
    case 'invariant':
      return [e, true, true];
  }
}

// ---- entry points --------------------------------------------------------------------------------------------

/** The type of a top-level value: Prometheus's result types. */
export type ResultValue =
  | Value
  | { type: 'matrixResult'; series: { labels: Labels; t: number[]; v: number[] }[] };

/**
 * Evaluates a parsed expression at the steps of opts. A range vector (an instant query of `x[5m]`
 * or a subquery) gives its samples in the window at `start`.
 */
export async function evaluate(pool: pg.Pool, expr: Expr, opts: EvalOptions): Promise<{ value: ResultValue; times: Float64Array; tiers: Set<'raw' | '1m' | '1h'> }> {
  const n = Math.floor((opts.end - opts.start) / opts.step) + 1;
  const times = new Float64Array(n);
  for (let k = 0; k < n; k++) times[k] = opts.start + k * opts.step;
  const q: Query = { pool, opts, tiers: new Set(), loaded: 0, lastYield: performance.now() };
  const [pre, inv, should] = preprocess(expr, opts.start, opts.end);
  const root: Expr = inv && should ? { kind: 'invariant', expr: pre } : pre;
  const ctx: Ctx = { q, times, n, step: n > 1 ? opts.step : 0 };
  const value = await evalExpr(ctx, root);
  if (value.type === 'matrix') {
    const e = (value.at ?? times[0]!) - value.offset;
    const series = value.series
      .map((s) => {
        const t: number[] = [];
        const v: number[] = [];
        for (let i = 0; i < s.t.length; i++) {
          if (s.t[i]! > e - value.range && s.t[i]! <= e) {
            t.push(s.t[i]!);
            v.push(s.v[i]!);
          }
        }
        return { labels: s.labels, t, v };
      })
      .filter((s) => s.t.length > 0);
    return { value: { type: 'matrixResult', series }, times, tiers: q.tiers };
  }
  return { value, times, tiers: q.tiers };
}

