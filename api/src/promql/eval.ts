/**
 * The PromQL evaluator over PerfWatch history, with Prometheus's semantics (promql/engine.go,
 * promql/functions.go, Prometheus 3):
 *
 * - A query is evaluated at the steps start, start + step, ... <= end (an instant query: one step).
 *   Every node yields, per series, one value per step (or none), as Prometheus's range
 *   evaluation does.
 * - Instant vector selector at t: the latest sample in (t - offset - 5m, t - offset] (the
 *   lookback delta). Range vector selector [r]: the samples in (t - offset - r, t - offset].
 * - rate / increase / delta: extrapolatedRate (counter resets for rate and increase, extrapolation
 *   to the window's edges unless the first / last sample is more than 1.1 average intervals away,
 *   never below zero for counters); irate: the last two samples; deriv: least-squares slope.
 * - Every series carries __name__ and host; functions, aggregations and arithmetic drop
 *   __name__; comparisons without bool filter; vector/vector operations match one-to-one on all
 *   labels but __name__, or on(...) / ignoring(...).
 *
 * Rollups: a selector may read buckets instead of raw samples (see sourceOf): 1-minute ones, or
 * for windows of whole hours 1-hour ones (then 1-minute ones after the 1h watermark). A window is
 * then the buckets whose start lies in [e - r, e), e being the evaluation time rounded down to
 * the minute (the hour); rate/increase of a counter are the buckets' summed increases over r (no
 * extrapolation needed: a bucket's increase reaches back to the sample before it); the
 * *_over_time of a gauge come from the buckets' averages, minima, maxima and counts; an instant
 * selector reads the last bucket in [e - 5m, e): a gauge's 1-minute average, a counter's last
 * value. docs/prometheus-api.md states the tolerance against raw evaluation (tested).
 */
import { DeadlineError, labelsKey, metricInfo, readBuckets, readRawSamples, SampleLimitError, type BucketSeries, type Labels, type RawSeries, type SampleSelector } from '@perfwatch/store';
import type pg from 'pg';
import { execError, PromError } from './errors.js';
import { COMPARISON, typeOf, type AggOp, type BinOp, type Expr, type RangeFn, type Selector } from './parse.js';

export const LOOKBACK_MS = 5 * 60_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Most values all series of one node may hold (steps x series), as Prometheus's --query.max-samples. */
export const MAX_POINTS_IN_MEMORY = 10_000_000;
/** Most raw samples one selector may load. */
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
}

export interface Series {
  labels: Labels;
  v: Float64Array;
  /** 1 where the series has a value at that step. */
  ok: Uint8Array;
}

export type Value = { type: 'scalar'; v: Float64Array } | { type: 'vector'; series: Series[] };

export interface EvalResult {
  value: Value;
  times: Float64Array;
  /** what the selectors read: 'raw', '1m', '1h' (some of them). */
  tiers: Set<'raw' | '1m' | '1h'>;
}

interface Ctx {
  pool: pg.Pool;
  times: Float64Array;
  n: number;
  opts: EvalOptions;
  tiers: Set<'raw' | '1m' | '1h'>;
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

/** Series with equal labels merged; two values at one step are Prometheus's "same labelset" error. */
function dedupe(series: Series[], n: number): Series[] {
  const byKey = new Map<string, Series>();
  for (const s of series) {
    const key = labelsKey(s.labels);
    const have = byKey.get(key);
    if (!have) {
      byKey.set(key, s);
      continue;
    }
    for (let k = 0; k < n; k++) {
      if (!s.ok[k]) continue;
      if (have.ok[k]) throw execError('vector cannot contain metrics with the same labelset');
      have.ok[k] = 1;
      have.v[k] = s.v[k]!;
    }
  }
  return [...byKey.values()];
}

// ---- selectors -------------------------------------------------------------------------------------

/** A selector as the store's SampleSelector (host matchers also pre-filter hosts). */
export function sampleSelector(sel: Selector, deadline?: number): SampleSelector {
  const nameMatchers = sel.matchers.filter((m) => m.label === '__name__');
  const others = sel.matchers.filter((m) => m.label !== '__name__');
  const hostMatchers = others.filter((m) => m.label === 'host');
  return {
    metric: sel.name ?? ((name: string) => nameMatchers.every((m) => m.test(name))),
    ...(hostMatchers.length ? { host: (h: string) => hostMatchers.every((m) => m.test(h)) } : {}),
    match: (name, labels) => nameMatchers.every((m) => m.test(name)) && others.every((m) => m.test(labels[m.label] ?? '')),
    ...(deadline !== undefined ? { deadline } : {}),
  };
}

/**
 * What a selector (under fn, or plain) reads: raw samples, 1-minute buckets, or 1-hour buckets
 * (then 1-minute ones after the 1h watermark).
 */
function sourceOf(ctx: Ctx, sel: Selector, fn: RangeFn | undefined): 'raw' | '1m' | '1h' {
  const tier = ctx.opts.tier ?? 'auto';
  if (tier === 'raw') return 'raw';
  const info = sel.name === undefined ? undefined : metricInfo(sel.name);
  if (!info) return 'raw';
  const r = sel.range ?? LOOKBACK_MS;
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
  // auto: a range query at steps of whole minutes reading more than 6 hours of data (whole hours
  // and windows of whole hours: the 1h tier), or an instant query (alert rules) whose window is
  // longer than 6 hours.
  const { start, end, step } = ctx.opts;
  if (end === start) return r > 6 * HOUR ? '1m' : 'raw';
  if (step < MINUTE || step % MINUTE !== 0 || end - start + r <= 6 * HOUR) return 'raw';
  return hourly && step % HOUR === 0 ? '1h' : '1m';
}

function selectorLabels(metric: string, labels: Labels): Labels {
  return { __name__: metric, ...labels };
}

function tooMany(err: unknown): never {
  if (err instanceof SampleLimitError) throw execError('query processing would load too many samples into memory in query execution');
  if (err instanceof DeadlineError) throw new PromError('timeout', 'query timed out in expression evaluation');
  throw err;
}

async function loadRaw(ctx: Ctx, sel: Selector, window: number): Promise<RawSeries[]> {
  const from = ctx.times[0]! - sel.offset - window + 1;
  const to = ctx.times[ctx.n - 1]! - sel.offset;
  ctx.tiers.add('raw');
  const series = await readRawSamples(ctx.pool, sampleSelector(sel, ctx.opts.deadline), from, to, MAX_SAMPLES_LOADED).catch(tooMany);
  checkSize(ctx, series.length);
  return series;
}

/** The bucket columns a function reads: counters v2 (last) / v3 (increase), gauges v1 (avg) / v2 (min) / v3 (max). */
function columnsFor(fn: RangeFn | undefined, sel: Selector): { v1?: boolean; v2?: boolean; v3?: boolean } {
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

async function loadBuckets(ctx: Ctx, sel: Selector, window: number, tier: '1m' | '1h', fn?: RangeFn): Promise<BucketSeries[]> {
  const w = tier === '1h' ? HOUR : MINUTE;
  const e0 = Math.floor((ctx.times[0]! - sel.offset) / w) * w;
  const e1 = Math.floor((ctx.times[ctx.n - 1]! - sel.offset) / w) * w;
  ctx.tiers.add(tier);
  const series = await readBuckets(ctx.pool, sampleSelector(sel, ctx.opts.deadline), e0 - window, e1, tier, columnsFor(fn, sel)).catch(tooMany);
  checkSize(ctx, series.length);
  return series;
}

async function instantSelector(ctx: Ctx, sel: Selector): Promise<Value> {
  const out: Series[] = [];
  if (sourceOf(ctx, sel, undefined) !== 'raw') {
    for (const b of await loadBuckets(ctx, sel, LOOKBACK_MS, '1m')) {
      const s = newSeries(selectorLabels(b.metric.name, b.labels), ctx.n);
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
  for (const r of await loadRaw(ctx, sel, LOOKBACK_MS)) {
    const s = newSeries(selectorLabels(r.metric.name, r.labels), ctx.n);
    let j = 0;
    for (let k = 0; k < ctx.n; k++) {
      const t = ctx.times[k]! - sel.offset;
      while (j < r.t.length && r.t[j]! <= t) j++;
      const i = j - 1;
      if (i >= 0 && r.t[i]! > t - LOOKBACK_MS) {
        s.ok[k] = 1;
        s.v[k] = r.v[i]!;
      }
    }
    out.push(s);
  }
  return { type: 'vector', series: out };
}

// ---- range functions on raw samples ---------------------------------------------------------------

/** Prometheus's extrapolatedRate over t[lo..hi), v[lo..hi). */
function extrapolatedRate(t: number[], v: number[], lo: number, hi: number, rangeStart: number, rangeEnd: number, isCounter: boolean, isRate: boolean): number | undefined {
  const count = hi - lo;
  if (count < 2) return undefined;
  const firstT = t[lo]!;
  const lastT = t[hi - 1]!;
  let result = v[hi - 1]! - v[lo]!;
  if (isCounter) {
    let prev = v[lo]!;
    for (let i = lo + 1; i < hi; i++) {
      const cur = v[i]!;
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (count - 1);
  const threshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= threshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter && result > 0 && v[lo]! >= 0) {
    // A counter cannot have been below zero: extrapolate at most to where it would have been 0.
    const durationToZero = sampledInterval * (v[lo]! / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= (rangeEnd - rangeStart) / 1000;
  return result * factor;
}

function rawRangeFn(fn: RangeFn, t: number[], v: number[], lo: number, hi: number, rangeStart: number, rangeEnd: number): number | undefined {
  const count = hi - lo;
  switch (fn) {
    case 'rate':
      return extrapolatedRate(t, v, lo, hi, rangeStart, rangeEnd, true, true);
    case 'increase':
      return extrapolatedRate(t, v, lo, hi, rangeStart, rangeEnd, true, false);
    case 'delta':
      return extrapolatedRate(t, v, lo, hi, rangeStart, rangeEnd, false, false);
    case 'irate': {
      if (count < 2) return undefined;
      const last = v[hi - 1]!;
      const prev = v[hi - 2]!;
      const dt = (t[hi - 1]! - t[hi - 2]!) / 1000;
      if (dt === 0) return undefined;
      return (last < prev ? last : last - prev) / dt;
    }
    case 'deriv': {
      if (count < 2) return undefined;
      // Least squares with times in seconds relative to the first sample (Prometheus's linearRegression).
      const t0 = t[lo]!;
      let sx = 0, sy = 0, sxy = 0, sxx = 0;
      let constY = true;
      for (let i = lo; i < hi; i++) {
        const x = (t[i]! - t0) / 1000;
        const y = v[i]!;
        if (y !== v[lo]) constY = false;
        sx += x;
        sy += y;
        sxy += x * y;
        sxx += x * x;
      }
      if (constY) return 0;
      const cov = sxy - (sx * sy) / count;
      const varx = sxx - (sx * sx) / count;
      return cov / varx;
    }
    case 'count_over_time':
      return count > 0 ? count : undefined;
    default: {
      if (count < 1) return undefined;
      let acc = fn === 'min_over_time' ? Infinity : fn === 'max_over_time' ? -Infinity : 0;
      let allNaN = true;
      for (let i = lo; i < hi; i++) {
        const x = v[i]!;
        if (fn === 'min_over_time') {
          if (x < acc || Number.isNaN(acc)) acc = x;
        } else if (fn === 'max_over_time') {
          if (x > acc || Number.isNaN(acc)) acc = x;
        } else acc += x;
        if (!Number.isNaN(x)) allNaN = false;
      }
      if ((fn === 'min_over_time' || fn === 'max_over_time') && allNaN) return Number.NaN;
      return fn === 'avg_over_time' ? acc / count : acc;
    }
  }
}

function bucketRangeFn(fn: RangeFn, b: BucketSeries, lo: number, hi: number, rangeMs: number): number | undefined {
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

async function rangeCall(ctx: Ctx, fn: RangeFn, sel: Selector): Promise<Value> {
  const r = sel.range!;
  const out: Series[] = [];
  const source = sourceOf(ctx, sel, fn);
  if (source !== 'raw') {
    const w = source === '1h' ? HOUR : MINUTE;
    for (const b of await loadBuckets(ctx, sel, r, source, fn)) {
      const s = newSeries(dropName(b.labels), ctx.n);
      let lo = 0;
      let hi = 0;
      for (let k = 0; k < ctx.n; k++) {
        const e = Math.floor((ctx.times[k]! - sel.offset) / w) * w;
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
  } else {
    for (const raw of await loadRaw(ctx, sel, r)) {
      const s = newSeries(dropName(raw.labels), ctx.n);
      let lo = 0;
      let hi = 0;
      for (let k = 0; k < ctx.n; k++) {
        const end = ctx.times[k]! - sel.offset;
        const start = end - r;
        while (hi < raw.t.length && raw.t[hi]! <= end) hi++;
        while (lo < hi && raw.t[lo]! <= start) lo++;
        const x = rawRangeFn(fn, raw.t, raw.v, lo, hi, start, end);
        if (x !== undefined) {
          s.ok[k] = 1;
          s.v[k] = x;
        }
      }
      out.push(s);
    }
  }
  return { type: 'vector', series: dedupe(out, ctx.n) };
}

// ---- aggregation -------------------------------------------------------------------------------------

function groupLabels(l: Labels, by: string[] | undefined, without: string[] | undefined): Labels {
  if (by) {
    const g: Labels = {};
    for (const k of by) if (l[k] !== undefined && l[k] !== '') g[k] = l[k]!;
    return g;
  }
  const drop = new Set([...(without ?? []), '__name__']);
  const g: Labels = {};
  for (const [k, v] of Object.entries(l)) if (!drop.has(k)) g[k] = v;
  return g;
}

function aggregate(ctx: Ctx, op: AggOp, by: string[] | undefined, without: string[] | undefined, param: Value | undefined, input: Series[]): Value {
  // No by and no without: one group (by ()).
  if (by === undefined && without === undefined) by = [];
  const groups = new Map<string, { labels: Labels; members: Series[] }>();
  for (const s of input) {
    const labels = groupLabels(s.labels, by, without);
    const key = labelsKey(labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, members: [] }));
    g.members.push(s);
  }
  const n = ctx.n;
  if (op === 'topk') {
    const kv = (param as { type: 'scalar'; v: Float64Array }).v;
    const out = input.map((s) => newSeries(s.labels, n));
    const index = new Map(input.map((s, i) => [s, i]));
    for (let k = 0; k < n; k++) {
      const want = kv[k]!;
      if (Number.isNaN(want)) throw execError('Parameter value is NaN');
      if (Math.abs(want) >= 2 ** 63) throw execError(`Scalar value ${want} overflows int64`);
      const limit = Math.floor(want);
      if (limit < 1) continue;
      for (const g of groups.values()) {
        const present = g.members.filter((s) => s.ok[k]);
        // Largest first; NaN is the smallest (Prometheus).
        present.sort((a, b) => {
          const x = a.v[k]!;
          const y = b.v[k]!;
          if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
          if (Number.isNaN(y)) return -1;
          return y - x;
        });
        for (const s of present.slice(0, limit)) {
          const o = out[index.get(s)!]!;
          o.ok[k] = 1;
          o.v[k] = s.v[k]!;
        }
      }
    }
    return { type: 'vector', series: out.filter((s) => s.ok.some((x) => x)) };
  }
  const out: Series[] = [];
  for (const g of groups.values()) {
    const s = newSeries(g.labels, n);
    for (let k = 0; k < n; k++) {
      let count = 0;
      let acc = 0;
      for (const m of g.members) {
        if (!m.ok[k]) continue;
        const x = m.v[k]!;
        if (count === 0) acc = op === 'count' ? 1 : x;
        else if (op === 'sum' || op === 'avg') acc += x;
        else if (op === 'count') acc += 1;
        else if (op === 'min') {
          if (x < acc || Number.isNaN(acc)) acc = x;
        } else if (op === 'max') {
          if (x > acc || Number.isNaN(acc)) acc = x;
        }
        count++;
      }
      if (count) {
        s.ok[k] = 1;
        s.v[k] = op === 'avg' ? acc / count : acc;
      }
    }
    out.push(s);
  }
  return { type: 'vector', series: out };
}

// ---- binary operators ----------------------------------------------------------------------------------

function arith(op: BinOp, a: number, b: number): number {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
    case '%': return a % b;
    case '^': return a ** b;
    case '==': return a === b ? 1 : 0;
    case '!=': return a !== b ? 1 : 0;
    case '>': return a > b ? 1 : 0;
    case '<': return a < b ? 1 : 0;
    case '>=': return a >= b ? 1 : 0;
    case '<=': return a <= b ? 1 : 0;
  }
}

const isComparison = (op: BinOp) => (COMPARISON as readonly string[]).includes(op);

/** The labels two sides match on: on(...) as an aggregation's by, ignoring(...) (or none) as its without. */
function signature(l: Labels, matching: { on: boolean; labels: string[] } | undefined): string {
  return labelsKey(matching?.on ? groupLabels(l, matching.labels, undefined) : groupLabels(l, undefined, matching?.labels));
}

function bySignature(series: Series[], matching: { on: boolean; labels: string[] } | undefined): Map<string, Series[]> {
  const out = new Map<string, Series[]>();
  for (const s of series) {
    const sig = signature(s.labels, matching);
    let l = out.get(sig);
    if (!l) out.set(sig, (l = []));
    l.push(s);
  }
  return out;
}

function resultLabels(l: Labels, op: BinOp, bool: boolean, matching: { on: boolean; labels: string[] } | undefined): Labels {
  let out = !isComparison(op) || bool ? dropName(l) : { ...l };
  if (matching?.on) {
    const keep: Labels = {};
    for (const k of matching.labels) if (out[k] !== undefined) keep[k] = out[k]!;
    out = keep;
  } else if (matching) {
    out = { ...out };
    for (const k of matching.labels) delete out[k];
  }
  return out;
}

function binary(ctx: Ctx, op: BinOp, bool: boolean, matching: { on: boolean; labels: string[] } | undefined, lhs: Value, rhs: Value): Value {
  const n = ctx.n;
  const cmp = isComparison(op);
  if (lhs.type === 'scalar' && rhs.type === 'scalar') {
    const v = new Float64Array(n);
    for (let k = 0; k < n; k++) v[k] = arith(op, lhs.v[k]!, rhs.v[k]!);
    return { type: 'scalar', v };
  }
  if (lhs.type === 'scalar' || rhs.type === 'scalar') {
    const vec = (lhs.type === 'vector' ? lhs : rhs) as { type: 'vector'; series: Series[] };
    const sc = (lhs.type === 'scalar' ? lhs : rhs) as { type: 'scalar'; v: Float64Array };
    const swap = lhs.type === 'scalar';
    const out: Series[] = [];
    for (const s of vec.series) {
      const o = newSeries(!cmp || bool ? dropName(s.labels) : s.labels, n);
      for (let k = 0; k < n; k++) {
        if (!s.ok[k]) continue;
        const a = swap ? sc.v[k]! : s.v[k]!;
        const b = swap ? s.v[k]! : sc.v[k]!;
        const x = arith(op, a, b);
        if (cmp && !bool) {
          if (x === 1) {
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
    return { type: 'vector', series: dedupe(out, n).filter((s) => s.ok.some((x) => x)) };
  }
  // vector / vector, one-to-one.
  const rightBySig = bySignature(rhs.series, matching);
  const leftBySig = bySignature(lhs.series, matching);
  const out: Series[] = [];
  for (const [sig, lefts] of leftBySig) {
    const rights = rightBySig.get(sig);
    if (!rights) continue;
    const outs = lefts.map((l) => newSeries(resultLabels(l.labels, op, bool, matching), n));
    for (let k = 0; k < n; k++) {
      let r: Series | undefined;
      for (const s of rights) {
        if (!s.ok[k]) continue;
        if (r) throw execError(`found duplicate series for the match group ${sig} on the right hand-side of the operation: [${labelsText(r.labels)}, ${labelsText(s.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`);
        r = s;
      }
      if (!r) continue;
      let seen = false;
      lefts.forEach((l, i) => {
        if (!l.ok[k]) return;
        if (seen) throw execError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        seen = true;
        const x = arith(op, l.v[k]!, r.v[k]!);
        const o = outs[i]!;
        if (cmp && !bool) {
          if (x === 1) {
            o.ok[k] = 1;
            o.v[k] = l.v[k]!;
          }
        } else {
          o.ok[k] = 1;
          o.v[k] = x;
        }
      });
    }
    out.push(...outs);
  }
  return { type: 'vector', series: dedupe(out, n).filter((s) => s.ok.some((x) => x)) };
}

function labelsText(l: Labels): string {
  const name = l.__name__ ?? '';
  const rest = Object.keys(l).filter((k) => k !== '__name__').sort().map((k) => `${k}=${JSON.stringify(l[k])}`);
  return `${name}{${rest.join(', ')}}`;
}

// ---- the walk ----------------------------------------------------------------------------------------

async function evalNode(ctx: Ctx, e: Expr): Promise<Value> {
  switch (e.kind) {
    case 'number':
      return { type: 'scalar', v: new Float64Array(ctx.n).fill(e.value) };
    case 'selector':
      if (e.range !== undefined) throw execError('a range vector cannot be evaluated here');
      return instantSelector(ctx, e);
    case 'call':
      return rangeCall(ctx, e.fn, e.arg);
    case 'unary': {
      const v = await evalNode(ctx, e.expr);
      if (v.type === 'scalar') return { type: 'scalar', v: v.v.map((x) => -x) };
      return {
        type: 'vector',
        series: dedupe(v.series.map((s) => ({ labels: dropName(s.labels), v: s.v.map((x) => -x), ok: s.ok })), ctx.n),
      };
    }
    case 'agg': {
      const [param, input] = await Promise.all([e.param ? evalNode(ctx, e.param) : Promise.resolve(undefined), evalNode(ctx, e.expr)]);
      return aggregate(ctx, e.op, e.by, e.without, param, (input as { type: 'vector'; series: Series[] }).series);
    }
    case 'binary': {
      const [l, r] = await Promise.all([evalNode(ctx, e.lhs), evalNode(ctx, e.rhs)]);
      return binary(ctx, e.op, e.bool, e.matching, l, r);
    }
  }
}

/** Evaluates a parsed expression at the steps of opts. The expression must not be a range vector. */
export async function evaluate(pool: pg.Pool, expr: Expr, opts: EvalOptions): Promise<EvalResult> {
  if (typeOf(expr) === 'matrix') throw execError('a range vector can only be evaluated by an instant query');
  const n = Math.floor((opts.end - opts.start) / opts.step) + 1;
  const times = new Float64Array(n);
  for (let k = 0; k < n; k++) times[k] = opts.start + k * opts.step;
  const ctx: Ctx = { pool, times, n, opts, tiers: new Set() };
  const value = await evalNode(ctx, expr);
  return { value, times, tiers: ctx.tiers };
}

/** The raw samples of a range vector selector at one time (an instant query of `x[5m]`). */
export async function evaluateMatrix(pool: pg.Pool, sel: Selector, time: number, deadline?: number): Promise<{ labels: Labels; t: number[]; v: number[] }[]> {
  const end = time - sel.offset;
  const series = await readRawSamples(pool, sampleSelector(sel, deadline), end - sel.range! + 1, end, MAX_SAMPLES_LOADED).catch(tooMany);
  return series.map((s) => ({ labels: selectorLabels(s.metric.name, s.labels), t: s.t, v: s.v })).filter((s) => s.t.length > 0);
}
