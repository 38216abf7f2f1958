/**
 * Series queries: the values of one catalog metric (or derived metric) for some hosts, label
 * matchers, a time range and a step, from the coarsest tier whose resolution fits the step.
 *
 * - Tier: 1h when the step is at least an hour, 1m when at least a minute, raw otherwise and for
 *   ranges up to an hour. A tier serves each host up to its rollup watermark; the rest comes from
 *   the next finer tier (the last hour or so always comes from raw snapshots), so results are
 *   complete and the same whatever the tier (up to float rounding; store/test/series.test.ts).
 * - Points at t = k * step (Unix ms), each the bucket [t, t + step): a gauge's average over it
 *   (weighted by samples), a counter's rate per second (its increase in the bucket, resets
 *   counting from zero, divided by the bucket's length up to now; rollups.ts defines the
 *   increase) or with rate: false its last value. Empty buckets have no point.
 * - Matchers on any label (host included): =, !=, =~, !~; regexes are anchored (a full match,
 *   as in PromQL) and RE2's syntax and engine (regex.ts); one that does not compile is INVALID_REGEX.
 * - Aggregation across series: sum / avg / min / max by labels.
 * Values reach SQL only as parameters; the only identifiers are table and column names from
 * fixed lists.
 */
import type pg from 'pg';
import { derivedMetric, metricInfo, type Expr, type Labels, type Matcher, type MetricInfo } from './catalog.js';
import { decodeValues } from './codec.js';
import { StoreError, wrapPgError } from './errors.js';
import { bucketCount, bucketValue, labelsKey, MAX_PAIR_GAP_MS, readWatermarks, rollupSegments, TIER_SPECS, type RollupTier } from './rollups.js';
import { makeMatcher, type LabelMatcher } from './regex.js';
import { fetchRows, hostIdsByName, loadShapes, RAW_COLUMNS, toMs, type PlanEntry, type Shape } from './snapshots.js';

export type QueryTier = 'raw' | RollupTier;
export type AggregationOp = 'sum' | 'avg' | 'min' | 'max';

export interface SeriesQuery {
  /** host names, or every host. */
  hosts: readonly string[] | 'all';
  /** a catalog metric (catalog.ts) or a derived one (DERIVED_METRICS). */
  metric: string;
  matchers?: readonly Matcher[];
  /** [from, to): the first point is at floor(from / step) * step. */
  from: Date | number;
  to: Date | number;
  stepMs: number;
  aggregation?: { op: AggregationOp; by: readonly string[] };
  /** per-second rate; default true for counters (not allowed for gauges). */
  rate?: boolean;
  /** read this tier instead of choosing (benchmarks, tests). */
  tier?: QueryTier;
  /** the current time: a bucket reaching past it is divided by what has elapsed. Default Date.now(). */
  now?: Date | number;
}

export interface SeriesResult {
  tier: QueryTier;
  series: { labels: Record<string, string>; points: [number, number][] }[];
}

/** The most points one query may return (as Prometheus's 11,000). */
export const MAX_POINTS = 11_000;
const MAX_SERIES = 50_000;
// A rate's first point needs the raw sample before it (a pair is at most MAX_PAIR_GAP_MS apart).
const RAW_LOOKBACK_MS = MAX_PAIR_GAP_MS;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const AGG_OPS: readonly AggregationOp[] = ['sum', 'avg', 'min', 'max'];
const TIERS: readonly QueryTier[] = ['raw', '1m', '1h'];

/** The coarsest tier whose bucket is at most the step; raw for ranges up to an hour. */
export function chooseTier(stepMs: number, rangeMs: number): QueryTier {
  if (rangeMs <= 3_600_000) return 'raw';
  if (stepMs >= TIER_SPECS['1h'].bucketMs) return '1h';
  if (stepMs >= TIER_SPECS['1m'].bucketMs) return '1m';
  return 'raw';
}

// ---- validation -----------------------------------------------------------------------------------


function bad(message: string): StoreError {
  return new StoreError('INVALID_ARGUMENT', message);
}

export function compileMatchers(matchers: readonly Matcher[] | undefined): LabelMatcher[] {
  if (matchers === undefined) return [];
  if (!Array.isArray(matchers) || matchers.length > 64) throw bad('matchers must be an array of at most 64 matchers');
  return matchers.map((m, i) => {
    if (typeof m !== 'object' || m === null) throw bad(`matcher ${i} must be an object`);
    if (typeof m.label !== 'string' || !LABEL_RE.test(m.label)) throw bad(`matcher ${i}: label must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)`);
    if (typeof m.value !== 'string' || m.value.length > 4096) throw bad(`matcher ${i}: value must be a string of at most 4096 characters`);
    if (m.op !== '=' && m.op !== '!=' && m.op !== '=~' && m.op !== '!~') throw bad(`matcher ${i}: op must be one of =, !=, =~, !~`);
    try {
      return makeMatcher(m.label, m.op, m.value);
    } catch (err) {
      throw new StoreError('INVALID_REGEX', `matcher ${i}: ${m.label}${m.op}"${m.value}" is not a valid regular expression (RE2 syntax): ${(err as Error).message}`);
    }
  });
}

function matches(labels: Labels, ms: readonly LabelMatcher[]): boolean {
  // A missing label matches as the empty string (PromQL).
  for (const m of ms) if (!m.test(labels[m.label] ?? '')) return false;
  return true;
}

interface Grid {
  from: number;
  step: number;
  points: number;
  now: number;
}

function grid(q: SeriesQuery): Grid {
  const from = toMs(q.from, 'from');
  const to = toMs(q.to, 'to');
  const step = q.stepMs;
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 1) throw bad('stepMs must be a positive integer');
  if (to <= from) throw bad('to must be after from');
  const start = Math.floor(from / step) * step;
  const points = Math.ceil((to - start) / step);
  if (points > MAX_POINTS) throw bad(`the range and step make ${points} points; at most ${MAX_POINTS}: use a larger step`);
  const now = q.now === undefined ? Date.now() : toMs(q.now, 'now');
  return { from: start, step, points, now };
}

function checkHosts(hosts: unknown): readonly string[] | 'all' {
  if (hosts === 'all') return hosts;
  if (!Array.isArray(hosts) || hosts.length > 10_000 || hosts.some((h) => typeof h !== 'string')) throw bad("hosts must be 'all' or an array of host names");
  return hosts as string[];
}

// ---- accumulation ---------------------------------------------------------------------------------

/** One output series while it is being filled: per point, a weight and a sum (or the last value). */
class Acc {
  readonly w: Float64Array;
  readonly sum: Float64Array;
  constructor(readonly labels: Labels, points: number) {
    this.w = new Float64Array(points);
    this.sum = new Float64Array(points);
  }
}

type Mode = 'gauge' | 'rate' | 'last';

class Accumulator {
  readonly series = new Map<string, Acc>();
  constructor(readonly g: Grid, readonly mode: Mode) {}

  acc(key: string, labels: Labels): Acc {
    let a = this.series.get(key);
    if (!a) {
      if (this.series.size >= MAX_SERIES) throw bad(`the query matches more than ${MAX_SERIES} series: narrow it down`);
      a = new Acc(labels, this.g.points);
      this.series.set(key, a);
    }
    return a;
  }

  /** A cell at t: n samples; value = avg (gauge), increase (rate) or last value (last). */
  add(a: Acc, t: number, n: number, value: number): void {
    const k = Math.floor((t - this.g.from) / this.g.step);
    if (k < 0 || k >= this.g.points || n <= 0 || Number.isNaN(value)) return;
    if (this.mode === 'gauge') a.sum[k] = a.sum[k]! + value * n;
    else if (this.mode === 'rate') a.sum[k] = a.sum[k]! + value;
    else a.sum[k] = value;
    a.w[k] = a.w[k]! + n;
  }

  /** Per series, per point: the value, NaN where empty. */
  values(): Map<string, { labels: Labels; values: Float64Array }> {
    const out = new Map<string, { labels: Labels; values: Float64Array }>();
    const { from, step, points, now } = this.g;
    for (const [key, a] of this.series) {
      const v = new Float64Array(points).fill(Number.NaN);
      for (let k = 0; k < points; k++) {
        if (a.w[k] === 0) continue;
        if (this.mode === 'gauge') v[k] = a.sum[k]! / a.w[k]!;
        else if (this.mode === 'last') v[k] = a.sum[k]!;
        else {
          const t = from + k * step;
          const seconds = (Math.min(t + step, now) - t) / 1000;
          if (seconds > 0) v[k] = a.sum[k]! / seconds;
        }
      }
      out.set(key, { labels: a.labels, values: v });
    }
    return out;
  }
}

// ---- reading the tiers ----------------------------------------------------------------------------

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

interface Target {
  metric: MetricInfo;
  mode: Mode;
  matchers: LabelMatcher[];
}

function withHost(labels: Labels, host: string): Labels {
  return { ...labels, host };
}

/** Raw snapshots of one host in [a, b) into the accumulator. */
async function readRaw(pool: pg.Pool, acc: Accumulator, t: Target, hostId: number, host: string, a: number, b: number): Promise<void> {
  const lookback = t.mode === 'rate' ? RAW_LOOKBACK_MS : 0;
  const rows = await fetchRows(
    pool,
    `SELECT ${RAW_COLUMNS} FROM snapshots s WHERE s.host_id = $1 AND s.ts >= $2::timestamptz AND s.ts < $3::timestamptz ORDER BY s.ts`,
    [hostId, iso(a - lookback), iso(b)],
    `reading snapshots of ${host}`,
  );
  // A series' previous sample (for a rate), one per series whatever shapes its rows have.
  const prevs = new Map<string, { ts: number; v: number }>();
  const plans = new Map<Shape, { entries: { e: PlanEntry; acc: Acc; prev: { ts: number; v: number } }[]; upTo: number }>();
  let vals = new Float64Array(0);
  for (const row of rows) {
    let plan = plans.get(row.shape);
    if (!plan) {
      const entries = row.shape
        .plan()
        .filter((e) => e.metric.name === t.metric.name)
        .map((e) => ({ e, labels: withHost(e.labels, host) }))
        .filter((x) => matches(x.labels, t.matchers))
        .map(({ e, labels }) => {
          const key = labelsKey(labels);
          let prev = prevs.get(key);
          if (!prev) prevs.set(key, (prev = { ts: Number.NEGATIVE_INFINITY, v: 0 }));
          return { e, acc: acc.acc(key, labels), prev };
        });
      plan = { entries, upTo: entries.reduce((m, x) => Math.max(m, x.e.slot + 1), 0) };
      plans.set(row.shape, plan);
    }
    if (!plan.entries.length) continue;
    if (vals.length < row.shape.n) vals = new Float64Array(row.shape.n);
    decodeValues(row.vals, row.shape.n, row.ts, vals, plan.upTo);
    const inRange = row.ts >= a;
    for (const { e, acc: series, prev } of plan.entries) {
      const v = e.slot < 0 ? e.value : vals[e.slot]!;
      if (t.mode === 'rate') {
        // No previous sample: ts is -Infinity, never a pair.
        if (inRange && row.ts - prev.ts <= MAX_PAIR_GAP_MS) acc.add(series, row.ts, 1, v >= prev.v ? v - prev.v : v);
        prev.ts = row.ts;
        prev.v = v;
      } else if (inRange) acc.add(series, row.ts, 1, v);
    }
  }
}

interface SeriesRow {
  id: number;
  host_id: number;
  labels: Labels;
}

interface RollupRow {
  series_id: number;
  ms: number;
  n: string;
  v: string;
}

/** Rollup rows of one host in [a, b) into the accumulator. */
async function readRollup(pool: pg.Pool, acc: Accumulator, t: Target, tier: RollupTier, hostId: number, series: SeriesRow[], host: string, a: number, b: number): Promise<void> {
  if (!series.length) return;
  const spec = TIER_SPECS[tier];
  // Identifiers from fixed lists only. Only the column the mode needs; base64, a third less than
  // hex. Averages and sums need no order, a last value does.
  const column = t.mode === 'gauge' ? 'v1' : t.mode === 'rate' ? 'v3' : 'v2';
  let r: pg.QueryResult<RollupRow>;
  try {
    r = await pool.query<RollupRow>(
      `SELECT series_id, (extract(epoch FROM start) * 1000)::float8 AS ms, encode(n, 'base64') AS n, encode(${column}, 'base64') AS v FROM ${spec.table}
              WHERE host_id = $1 AND series_id = ANY($2::int[]) AND start >= $3::timestamptz AND start < $4::timestamptz
              ${t.mode === 'last' ? 'ORDER BY start' : ''}`,
      [hostId, series.map((s) => s.id), iso(Math.floor(a / spec.blockMs) * spec.blockMs), iso(b)],
    );
  } catch (err) {
    throw wrapPgError(err, `reading ${tier} rollups of ${host}`);
  }
  const byId = new Map(series.map((s) => {
    const labels = withHost(s.labels, host);
    const key = labelsKey(labels);
    return [s.id, acc.acc(key, labels)] as const;
  }));
  for (const row of r.rows) {
    const into = byId.get(row.series_id)!;
    const n = Buffer.from(row.n, 'base64');
    const v = Buffer.from(row.v, 'base64');
    for (let i = 0; i < spec.slots; i++) {
      const cnt = bucketCount(n, i);
      if (cnt === 0) continue;
      const ts = row.ms + i * spec.bucketMs;
      if (ts < a || ts >= b) continue;
      acc.add(into, ts, cnt, bucketValue(v, i));
    }
  }
}

async function seriesOf(pool: pg.Pool, hostIds: number[], metric: string): Promise<SeriesRow[]> {
  try {
    const r = await pool.query<SeriesRow>('SELECT id, host_id, labels FROM series WHERE host_id = ANY($1::int[]) AND metric = $2', [hostIds, metric]);
    return r.rows;
  } catch (err) {
    throw wrapPgError(err, `looking up the series of ${metric}`);
  }
}

/** Per-series values of one catalog metric on the grid. */
async function evaluateMetric(pool: pg.Pool, g: Grid, hosts: Map<string, number>, tier: QueryTier, t: Target): Promise<Map<string, { labels: Labels; values: Float64Array }>> {
  const acc = new Accumulator(g, t.mode);
  const ids = [...hosts.values()];
  const end = Math.min(g.from + g.points * g.step, g.now);
  if (!ids.length || end <= g.from) return acc.values();
  const [wms, series] = tier === 'raw' ? [new Map<string, number>(), []] : await Promise.all([readWatermarks(pool, ids), seriesOf(pool, ids, t.metric.name)]);
  // Coarse to fine: each tier up to its watermark, the rest from the next finer one.
  const order: RollupTier[] = tier === '1h' ? ['1h', '1m'] : tier === '1m' ? ['1m'] : [];
  const byHost = new Map<number, SeriesRow[]>();
  for (const s of series) {
    let l = byHost.get(s.host_id);
    if (!l) byHost.set(s.host_id, (l = []));
    l.push(s);
  }
  const work: Promise<void>[] = [];
  for (const [host, id] of hosts) {
    const mine = (byHost.get(id) ?? []).filter((s) => matches(withHost(s.labels, host), t.matchers));
    const { segments, rawFrom } = rollupSegments(wms, id, order, g.from, end);
    const reads = segments.map(({ spec, a, b }) => () => readRollup(pool, acc, t, spec.tier, id, mine, host, a, b));
    if (rawFrom < end) reads.push(() => readRaw(pool, acc, t, id, host, rawFrom, end));
    // A host's segments in time order (a counter's last value is the latest written); hosts in parallel.
    work.push(reads.reduce((p, s) => p.then(s), Promise.resolve()));
  }
  await Promise.all(work);
  return acc.values();
}

// ---- aggregation and derived metrics --------------------------------------------------------------

type Values = Map<string, { labels: Labels; values: Float64Array }>;

function aggregate(input: Values, op: AggregationOp, by: readonly string[], points: number): Values {
  const groups = new Map<string, { labels: Labels; members: Float64Array[] }>();
  for (const { labels, values } of input.values()) {
    const l: Labels = {};
    for (const k of by) if (labels[k] !== undefined) l[k] = labels[k]!;
    const key = labelsKey(l);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels: l, members: [] }));
    g.members.push(values);
  }
  const out: Values = new Map();
  for (const [key, g] of groups) {
    const v = new Float64Array(points).fill(Number.NaN);
    for (let k = 0; k < points; k++) {
      let n = 0;
      let acc = op === 'min' ? Infinity : op === 'max' ? -Infinity : 0;
      for (const m of g.members) {
        const x = m[k]!;
        if (Number.isNaN(x)) continue;
        n++;
        if (op === 'min') acc = Math.min(acc, x);
        else if (op === 'max') acc = Math.max(acc, x);
        else acc += x;
      }
      if (n) v[k] = op === 'avg' ? acc / n : acc;
    }
    out.set(key, { labels: g.labels, values: v });
  }
  return out;
}

function combine(op: 'div' | 'sub', left: Values | number, right: Values | number, points: number): Values {
  const f = op === 'div' ? (a: number, b: number) => (b === 0 ? Number.NaN : a / b) : (a: number, b: number) => a - b;
  const out: Values = new Map();
  const shape = typeof left === 'number' ? (right as Values) : left;
  for (const [key, { labels }] of shape) {
    const l = typeof left === 'number' ? undefined : left.get(key)?.values;
    const r = typeof right === 'number' ? undefined : right.get(key)?.values;
    if ((typeof left !== 'number' && !l) || (typeof right !== 'number' && !r)) continue;
    const v = new Float64Array(points);
    for (let k = 0; k < points; k++) v[k] = f(l ? l[k]! : (left as number), r ? r[k]! : (right as number));
    out.set(key, { labels, values: v });
  }
  return out;
}

async function evaluateExpr(pool: pg.Pool, g: Grid, hosts: Map<string, number>, tier: QueryTier, e: Expr | number): Promise<Values | number> {
  if (typeof e === 'number') return e;
  if (e.op === 'div' || e.op === 'sub') {
    const [l, r] = await Promise.all([evaluateExpr(pool, g, hosts, tier, e.left), evaluateExpr(pool, g, hosts, tier, e.right)]);
    if (typeof l === 'number' && typeof r === 'number') throw bad('an expression needs at least one metric');
    return combine(e.op, l, r, g.points);
  }
  const leaf = e as Extract<Expr, { metric: string }>;
  const metric = metricInfo(leaf.metric)!;
  const mode: Mode = metric.type !== 'counter' ? 'gauge' : leaf.op === 'rate' ? 'rate' : 'last';
  const values = await evaluateMetric(pool, g, hosts, tier, { metric, mode, matchers: compileMatchers(leaf.matchers) });
  // By host too: an expression combines a host's series with that host's, never across hosts.
  return aggregate(values, 'sum', leaf.sumBy.includes('host') ? leaf.sumBy : [...leaf.sumBy, 'host'], g.points);
}

// ---- the query ---------------------------------------------------------------------------------------

/**
 * Runs a series query (see the top of this file). Throws StoreError: INVALID_ARGUMENT (a bad
 * range, step, host list, matcher or aggregation), UNKNOWN_METRIC, INVALID_REGEX, or the database's.
 */
export async function querySeries(pool: pg.Pool, q: SeriesQuery): Promise<SeriesResult> {
  if (typeof q !== 'object' || q === null) throw bad('a query is an object');
  const hostNames = checkHosts(q.hosts);
  if (typeof q.metric !== 'string' || q.metric.length > 200) throw bad('metric must be a metric name');
  const g = grid(q);
  const matchers = compileMatchers(q.matchers);
  if (q.aggregation !== undefined) {
    const a = q.aggregation;
    if (typeof a !== 'object' || a === null || !AGG_OPS.includes(a.op)) throw bad(`aggregation.op must be one of ${AGG_OPS.join(', ')}`);
    if (!Array.isArray(a.by) || a.by.length > 32 || a.by.some((l) => typeof l !== 'string' || !LABEL_RE.test(l))) throw bad('aggregation.by must be an array of label names');
  }
  if (q.tier !== undefined && !TIERS.includes(q.tier)) throw bad(`tier must be one of ${TIERS.join(', ')}`);
  if (q.rate !== undefined && typeof q.rate !== 'boolean') throw bad('rate must be true or false');
  const derived = derivedMetric(q.metric);
  const info = derived ? undefined : metricInfo(q.metric);
  if (!derived && !info) throw new StoreError('UNKNOWN_METRIC', `no metric named "${q.metric}" in the catalog`);
  if (info && q.rate && info.type !== 'counter') throw bad(`${q.metric} is a gauge: rate applies to counters`);
  if (derived && q.rate !== undefined) throw bad(`${q.metric} is a derived metric: rate does not apply`);

  const tier = q.tier ?? chooseTier(g.step, g.points * g.step);
  const hosts = await hostIdsByName(pool, hostNames);
  let values: Values;
  if (derived) {
    const v = await evaluateExpr(pool, g, hosts, tier, derived.expr);
    values = typeof v === 'number' ? new Map() : v;
    if (matchers.length) values = new Map([...values].filter(([, s]) => matches(s.labels, matchers)));
  } else {
    const mode: Mode = info!.type === 'counter' ? ((q.rate ?? true) ? 'rate' : 'last') : 'gauge';
    values = await evaluateMetric(pool, g, hosts, tier, { metric: info!, mode, matchers });
  }
  if (q.aggregation) values = aggregate(values, q.aggregation.op, q.aggregation.by, g.points);

  const series = [...values.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, s]) => {
      const points: [number, number][] = [];
      for (let k = 0; k < g.points; k++) {
        const v = s.values[k]!;
        if (Number.isFinite(v)) points.push([g.from + k * g.step, v]);
      }
      return { labels: { ...s.labels }, points };
    })
    .filter((s) => s.points.length > 0);
  return { tier, series };
}

/**
 * Values of one label of a metric (host included), over the series rolled up so far and the
 * current shape of each host (so a new disk shows up at once). Sorted.
 */
export async function labelValues(pool: pg.Pool, metric: string, label: string, hosts?: readonly string[]): Promise<string[]> {
  if (typeof metric !== 'string' || metric.length > 200) throw bad('metric must be a metric name');
  if (typeof label !== 'string' || !LABEL_RE.test(label)) throw bad('label must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)');
  const derived = derivedMetric(metric);
  if (!derived && !metricInfo(metric)) throw new StoreError('UNKNOWN_METRIC', `no metric named "${metric}" in the catalog`);
  const leaf = (e: Expr | number): string | undefined => (typeof e === 'number' ? undefined : 'metric' in e ? e.metric : (leaf(e.left) ?? leaf(e.right)));
  const name = derived ? leaf(derived.expr)! : metric;
  const byName = await hostIdsByName(pool, hosts === undefined ? 'all' : checkHosts(hosts));
  const ids = [...byName.values()];
  const names = new Map([...byName].map(([n, id]) => [id, n]));
  const out = new Set<string>();
  try {
    const r = await pool.query<{ host_id: number; v: string | null }>(
      `SELECT DISTINCT host_id, labels ->> $3 AS v FROM series WHERE host_id = ANY($1::int[]) AND metric = $2`,
      [ids, name, label],
    );
    for (const row of r.rows) {
      const v = label === 'host' ? names.get(row.host_id) : row.v;
      if (v !== null && v !== undefined) out.add(v);
    }
    const latest = await pool.query<{ host_id: number; id: number }>(
      `SELECT DISTINCT ON (host_id) host_id, id FROM snapshot_shapes WHERE host_id = ANY($1::int[]) ORDER BY host_id, id DESC`,
      [ids],
    );
    const shapes = await loadShapes(pool, latest.rows.map((x) => x.id));
    for (const row of latest.rows) {
      for (const e of shapes.get(row.id)!.plan()) {
        if (e.metric.name !== name) continue;
        const v = label === 'host' ? names.get(row.host_id) : e.labels[label];
        if (v !== undefined) out.add(v);
      }
    }
  } catch (err) {
    throw wrapPgError(err, `reading label values of ${metric}`);
  }
  return [...out].sort();
}
