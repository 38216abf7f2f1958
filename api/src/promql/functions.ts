/**
 * PromQL's functions: their signatures (promql/parser/functions.go) for the parser's type checks,
 * and the arithmetic they share, written after Prometheus 3's promql/functions.go and
 * promql/quantile.go so that the same samples give the same floats (Kahan-compensated sums,
 * Welford variances, the same extrapolation and the same quantile interpolation).
 */
import type { ValueType } from './ast.js';

export interface FunctionSignature {
  args: ValueType[];
  /** how many of the last arguments may be left out; -1: the last one repeats any number of times (also none). */
  variadic: number;
  returns: ValueType;
}

const s = (args: ValueType[], returns: ValueType, variadic = 0): FunctionSignature => ({ args, returns, variadic });
const MATH = ['abs', 'ceil', 'floor', 'exp', 'sqrt', 'ln', 'log2', 'log10', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh', 'deg', 'rad', 'sgn'];
const OVER_TIME = ['avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'stddev_over_time', 'stdvar_over_time', 'last_over_time', 'first_over_time', 'present_over_time', 'mad_over_time', 'ts_of_min_over_time', 'ts_of_max_over_time', 'ts_of_first_over_time', 'ts_of_last_over_time'];
const RATES = ['rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'changes', 'resets'];
const DATES = ['days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'hour', 'minute', 'month', 'year'];
// Native histograms: PerfWatch's history holds none, so these find nothing (as Prometheus's do on float samples).
const NATIVE_HISTOGRAM = ['histogram_count', 'histogram_sum', 'histogram_avg', 'histogram_stddev', 'histogram_stdvar'];

export const FUNCTIONS: Record<string, FunctionSignature> = {
  ...Object.fromEntries(MATH.map((f) => [f, s(['vector'], 'vector')])),
  ...Object.fromEntries(OVER_TIME.map((f) => [f, s(['matrix'], 'vector')])),
  ...Object.fromEntries(RATES.map((f) => [f, s(['matrix'], 'vector')])),
  ...Object.fromEntries(DATES.map((f) => [f, s(['vector'], 'vector', 1)])),
  ...Object.fromEntries(NATIVE_HISTOGRAM.map((f) => [f, s(['vector'], 'vector')])),
  absent: s(['vector'], 'vector'),
  absent_over_time: s(['matrix'], 'vector'),
  clamp: s(['vector', 'scalar', 'scalar'], 'vector'),
  clamp_max: s(['vector', 'scalar'], 'vector'),
  clamp_min: s(['vector', 'scalar'], 'vector'),
  double_exponential_smoothing: s(['matrix', 'scalar', 'scalar'], 'vector'),
  histogram_fraction: s(['scalar', 'scalar', 'vector'], 'vector'),
  histogram_quantile: s(['scalar', 'vector'], 'vector'),
  label_join: s(['vector', 'string', 'string', 'string'], 'vector', -1),
  label_replace: s(['vector', 'string', 'string', 'string', 'string'], 'vector'),
  pi: s([], 'scalar'),
  predict_linear: s(['matrix', 'scalar'], 'vector'),
  quantile_over_time: s(['scalar', 'matrix'], 'vector'),
  round: s(['vector', 'scalar'], 'vector', 1),
  scalar: s(['vector'], 'scalar'),
  sort: s(['vector'], 'vector'),
  sort_desc: s(['vector'], 'vector'),
  sort_by_label: s(['vector', 'string'], 'vector', -1),
  sort_by_label_desc: s(['vector', 'string'], 'vector', -1),
  time: s([], 'scalar'),
  timestamp: s(['vector'], 'vector'),
  vector: s(['scalar'], 'vector'),
};

/** Functions whose value changes with the evaluation time even when their arguments do not (engine.go AtModifierUnsafeFunctions). */
export const AT_MODIFIER_UNSAFE = new Set([...DATES, 'predict_linear', 'time', 'timestamp']);

/** Range functions whose result keeps the metric name. */
export const KEEPS_NAME = new Set(['last_over_time', 'first_over_time']);

// ---- arithmetic -----------------------------------------------------------------------------------

/** Neumaier's compensated sum step (Prometheus's kahanSumInc): returns [sum, compensation]. */
export function kahanSumInc(inc: number, sum: number, c: number): [number, number] {
  return [sum + inc, kahanC(inc, sum, c)];
}

/** The compensation after kahanSumInc's step (its sum is sum + inc), without the pair. */
export function kahanC(inc: number, sum: number, c: number): number {
  const t = sum + inc;
  if (!Number.isFinite(t) && !Number.isNaN(t)) return 0;
  return Math.abs(sum) >= Math.abs(inc) ? c + (sum - t + inc) : c + (inc - t + sum);
}

/** Go's math.Pow where it differs from JavaScript's ** (1^NaN, (-1)^±Inf). */
export function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return x ** y;
}

/** Least-squares slope and intercept at `interceptTime` (Prometheus's linearRegression); times ms. */
export function linearRegression(t: ArrayLike<number>, v: ArrayLike<number>, lo: number, hi: number, interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
  const initY = v[lo]!;
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = v[i]!;
    if (constY && i > lo && y !== initY) constY = false;
    n += 1;
    const x = (t[i]! - interceptTime) / 1e3;
    [sumX, cX] = kahanSumInc(x, sumX, cX);
    [sumY, cY] = kahanSumInc(y, sumY, cY);
    [sumXY, cXY] = kahanSumInc(x * y, sumXY, cXY);
    [sumX2, cX2] = kahanSumInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [Number.NaN, Number.NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

/**
 * Prometheus's extrapolatedRate over samples [lo, hi) of a window (rangeStart, rangeEnd] (ms):
 * rate, increase (counters: resets add the value before them, no extrapolation below zero) and delta.
 */
export function extrapolatedRate(t: ArrayLike<number>, v: ArrayLike<number>, lo: number, hi: number, rangeStart: number, rangeEnd: number, isCounter: boolean, isRate: boolean): number | undefined {
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
  let extrapolateToInterval = sampledInterval;
  if (durationToStart >= threshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter && result > 0 && v[lo]! >= 0) {
    const durationToZero = sampledInterval * (v[lo]! / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  extrapolateToInterval += durationToStart;
  if (durationToEnd >= threshold) durationToEnd = averageDurationBetweenSamples / 2;
  extrapolateToInterval += durationToEnd;
  let factor = extrapolateToInterval / sampledInterval;
  if (isRate) factor /= (rangeEnd - rangeStart) / 1000;
  return result * factor;
}

/** NaN first, then ascending (Prometheus's vectorByValueHeap order). */
export function byValueNaNFirst(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a - b;
}

/** The φ-quantile of values (Prometheus's quantile: weighted between the two nearest ranks); sorts `values`. */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  values.sort(byValueNaNFirst);
  const n = values.length;
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return values[lowerIndex]! * (1 - weight) + values[upperIndex]! * weight;
}

/** Go's almost.Equal. */
function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const minNormal = 2.2250738585072014e-308;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < minNormal) return diff < epsilon * minNormal;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

/** histogram_quantile over classic buckets (upper bound, cumulative count): Prometheus 3's bucketQuantile. */
export function bucketQuantile(q: number, buckets: { le: number; count: number }[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  buckets.sort((a, b) => (a.le < b.le ? -1 : a.le > b.le ? 1 : 0));
  if (buckets[buckets.length - 1]!.le !== Number.POSITIVE_INFINITY) return Number.NaN;
  // Coalesce buckets with the same bound.
  const bs: { le: number; count: number }[] = [];
  for (const b of buckets) {
    const last = bs[bs.length - 1];
    if (last && last.le === b.le) last.count += b.count;
    else bs.push({ le: b.le, count: b.count });
  }
  // Monotonic, ignoring numerically insignificant differences (smallDeltaTolerance 1e-12).
  let prev = bs[0]!.count;
  for (let i = 1; i < bs.length; i++) {
    const curr = bs[i]!.count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, 1e-12) || curr < prev) {
      bs[i]!.count = prev;
      continue;
    }
    prev = curr;
  }
  if (bs.length < 2) return Number.NaN;
  const observations = bs[bs.length - 1]!.count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  // sort.Search over the first len-1 buckets: the first whose count >= rank.
  let b = 0;
  while (b < bs.length - 1 && !(bs[b]!.count >= rank)) b++;
  if (b === bs.length - 1) return bs[bs.length - 2]!.le;
  if (b === 0 && bs[0]!.le <= 0) return bs[0]!.le;
  let bucketStart = 0;
  const bucketEnd = bs[b]!.le;
  let count = bs[b]!.count;
  if (b > 0) {
    bucketStart = bs[b - 1]!.le;
    count -= bs[b - 1]!.count;
    rank -= bs[b - 1]!.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

/** Go's strconv.ParseFloat for a bucket's `le` (and the like): undefined where Go errs. */
export function parseGoFloat(s: string): number | undefined {
  const t = s.trim() === s ? s : undefined;
  if (t === undefined || t === '') return undefined;
  const lower = t.toLowerCase();
  const sign = lower.startsWith('-') ? -1 : 1;
  const body = lower.replace(/^[+-]/, '');
  if (body === 'inf' || body === 'infinity') return sign * Number.POSITIVE_INFINITY;
  if (body === 'nan') return Number.NaN;
  if (/^(\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)(e[+-]?\d+)?$/.test(body)) return Number(t.replace(/_/g, ''));
  if (/^0x[0-9a-f]+$/.test(body)) return sign * Number.parseInt(body.slice(2), 16);
  return undefined;
}

/** The date functions on Unix seconds (UTC), as Go's time package gives them. */
export const DATE_FUNCTIONS: Record<string, (d: Date) => number> = {
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) => Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

/** Go's time.Unix(int64(f), 0): whole seconds toward zero. */
export function unixSecondsDate(f: number): Date {
  return new Date(Math.trunc(f) * 1000);
}

export const MATH_FUNCTIONS: Record<string, (x: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  deg: (x) => (x * 180) / Math.PI,
  rad: (x) => (x * Math.PI) / 180,
  sgn: (x) => (x < 0 ? -1 : x > 0 ? 1 : x),
};
