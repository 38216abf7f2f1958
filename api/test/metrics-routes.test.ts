/**
 * The metrics and history routes over HTTP, as a viewer (API token), against history written
 * through store's writer (insertSnapshots) and rolled up with runRollups: hosts, the catalog,
 * label values, queries (a gauge, a counter's rate across a reset, an aggregation, a derived
 * metric, matchers, the maxDataPoints bound and the tier), snapshot pages walked with the cursor,
 * the latest snapshot, and annotations (gaps, retention runs). Expected values are computed here
 * from the snapshot objects that were written, not from the api.
 */
import { expect } from 'chai';
import { insertSnapshots, runRetention, runRollups, snapshotSamples, type Snapshot } from '@perfwatch/store';
import { fakeSnapshot } from '../../store/test/helpers.js';
import { fixtureSnapshot, simulate } from '../../store/test/synth.js';
import { ADMIN, call, createUser, expectErrorShape, login, startTestApi, type Res, type TestApi } from './helpers.js';

const SEC = 1000;
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
// Four days ago at midnight UTC: every rollup block of the data is due, and "now" is past it all.
const T0 = Math.floor(Date.now() / DAY) * DAY - 4 * DAY;
const RESET_T = T0 + 3 * DAY;
const GAP_T = T0 + 3 * DAY + 6 * HOUR;

interface Series {
  labels: Record<string, string>;
  timestamps: number[];
  values: (number | null)[];
}
interface Result {
  refId: string;
  metric: string;
  type: string;
  unit: string;
  rate: boolean;
  tier: string;
  expr: string;
  stepMs: number;
  series: Series[];
}

function find(r: Result, labels: Record<string, string>): Series {
  const s = r.series.find((x) => JSON.stringify(Object.entries(x.labels).sort()) === JSON.stringify(Object.entries(labels).sort()));
  expect(s, `series ${JSON.stringify(labels)} in ${JSON.stringify(r.series.map((x) => x.labels))}`).to.not.equal(undefined);
  return s!;
}

function pairs(s: Series): [number, number | null][] {
  return s.timestamps.map((t, i) => [t, s.values[i]!]);
}

function expectClose(got: [number, number | null][], want: [number, number][]): void {
  expect(got.map((p) => p[0]), 'timestamps').to.deep.equal(want.map((p) => p[0]));
  got.forEach(([t, v], i) => {
    expect(v, new Date(t).toISOString()).to.be.a('number');
    expect(v!, new Date(t).toISOString()).to.be.closeTo(want[i]![1], Math.abs(want[i]![1]) * 1e-9 + 1e-9);
  });
}

/** The value of one sample of a snapshot, or undefined. */
function sample(s: Snapshot, metric: string, labels: Record<string, string>): number | undefined {
  return snapshotSamples(s).find((y) => y.metric.name === metric && Object.entries(labels).every(([k, v]) => y.labels[k] === v))?.value;
}

/** One series' samples, oldest first. */
function samplesOf(snaps: Snapshot[], metric: string, labels: Record<string, string>): [number, number][] {
  const out: [number, number][] = [];
  for (const s of snaps) {
    const v = sample(s, metric, labels);
    if (v !== undefined) out.push([s.ts, v]);
  }
  return out;
}

/** The grid of a query: t = k * step from floor(from / step) * step, t < to. */
function gridOf(step: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = Math.floor(from / step) * step; t < to; t += step) out.push(t);
  return out;
}

/** avg_over_time over the raw samples in (t - range, t], per grid point that has any. */
function avgOver(ss: [number, number][], step: number, from: number, to: number, range = step): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of gridOf(step, from, to)) {
    const w = ss.filter(([ts]) => ts > t - range && ts <= t);
    if (w.length) out.set(t, w.reduce((a, [, v]) => a + v, 0) / w.length);
  }
  return out;
}

/**
 * Prometheus's rate over the raw samples in (t - range, t]: the increase (a reset counting from
 * zero) extrapolated to the window's edges as promql/functions.go's extrapolatedRate does (at most
 * 1.1 average intervals, else half of one; never below zero at the start), per second.
 */
function promRate(ss: [number, number][], step: number, from: number, to: number, range: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of gridOf(step, from, to)) {
    const w = ss.filter(([ts]) => ts > t - range && ts <= t);
    if (w.length < 2) continue;
    let inc = w.at(-1)![1] - w[0]![1];
    for (let i = 1; i < w.length; i++) if (w[i]![1] < w[i - 1]![1]) inc += w[i - 1]![1];
    const sampled = (w.at(-1)![0] - w[0]![0]) / 1000;
    const avg = sampled / (w.length - 1);
    let toStart = (w[0]![0] - (t - range)) / 1000;
    const toEnd = (t - w.at(-1)![0]) / 1000;
    if (inc > 0 && w[0]![1] >= 0) toStart = Math.min(toStart, sampled * (w[0]![1] / inc));
    const extrapolated = sampled + (toStart < avg * 1.1 ? toStart : avg / 2) + (toEnd < avg * 1.1 ? toEnd : avg / 2);
    out.set(t, (inc * (extrapolated / sampled)) / (range / 1000));
  }
  return out;
}

/**
 * What a rollup tier serves at t (docs/prometheus-api.md): over the samples in [t - step, t), a
 * gauge's average, or a counter's increase (the pairs whose later sample lies there, a reset
 * counting from zero) over the step's seconds.
 */
function fromBuckets(snaps: Snapshot[], metric: string, labels: Record<string, string>, step: number, from: number, to: number, rate: boolean): Map<number, number> {
  const sums = new Map<number, [number, number]>();
  let prev: [number, number] | undefined;
  for (const [ts, v] of samplesOf(snaps, metric, labels)) {
    const p = prev;
    prev = [ts, v];
    const k = Math.floor(ts / step) * step + step;
    const cur = sums.get(k) ?? [0, 0];
    if (!rate) sums.set(k, [cur[0] + v, cur[1] + 1]);
    else if (p && ts - p[0] <= 600_000) sums.set(k, [cur[0] + (v >= p[1] ? v - p[1] : v), cur[1] + 1]);
  }
  const grid = new Set(gridOf(step, from, to));
  return new Map([...sums.entries()].filter(([k]) => grid.has(k)).sort((a, b) => a[0] - b[0]).map(([k, [sum, n]]) => [k, rate ? sum / (step / 1000) : sum / n]));
}

const MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];

describe('metrics API: hosts, catalog, label values, query, snapshots, annotations', function () {
  this.timeout(180_000);
  let t: TestApi;
  let token: string;
  let h1: Snapshot[];
  let h2: Snapshot[];
  let gappy: Snapshot[];

  const get = (path: string) => call(t.url, 'GET', path, { token });
  const query = (body: unknown) => call(t.url, 'POST', '/api/v1/query', { token, body });
  async function ok(r: Promise<Res> | Res): Promise<any> {
    const x = await r;
    expect(x.status, x.text).to.equal(200);
    return x.body;
  }

  before(async () => {
    t = await startTestApi();
    const admin = await login(t.url, ADMIN.username, ADMIN.password);
    // Everything below runs as a viewer's API token: viewers may read all of it.
    const viewer = await createUser(t.url, admin.token, { username: 'reader', role: 'viewer' });
    token = (await call(t.url, 'POST', '/api/v1/tokens', { token: viewer.session.token, body: { name: 'grafana' } })).body.token;

    const base = fixtureSnapshot('small', { compact: true });
    // Two 2-CPU hosts, 2 days and 2 hours at 60 s.
    h1 = simulate(base, 'h1', T0, 50 * 60, { intervalMs: MIN, seed: 1 });
    h2 = simulate(base, 'h2', T0, 50 * 60, { intervalMs: MIN, seed: 2 });
    for (let i = 0; i < h1.length; i += 500) await insertSnapshots(t.db, [...h1.slice(i, i + 500), ...h2.slice(i, i + 500)]);
    // A host whose context switch counter resets (a reboot) mid-range, at 10 s.
    const ctxt = [1000, 1600, 2200, 300, 900, 1500, 2100, 2700];
    await insertSnapshots(t.db, ctxt.map((v, i) => ({ ...fakeSnapshot('resetting', RESET_T + i * 10 * SEC, i), cpu: { t: {}, ctxt: v } }) as Snapshot));
    // A host at 10 s that was silent for 5 minutes: 10 minutes, a 5-minute hole, 10 minutes.
    gappy = simulate(base, 'gappy', GAP_T, 150, { intervalMs: 10 * SEC, seed: 3 }).filter((s) => s.ts < GAP_T + 10 * MIN || s.ts >= GAP_T + 15 * MIN);
    await insertSnapshots(t.db, gappy);
    const now = Date.now();
    while ((await runRollups(t.db, { tier: '1m', now })).behind);
    await runRollups(t.db, { tier: '1h', now });
  });
  after(() => t.close());

  describe('GET /api/v1/hosts', () => {
    it('lists every host with first and last snapshot times', async () => {
      const { hosts } = await ok(get('/api/v1/hosts'));
      expect(hosts.map((h: { name: string }) => h.name)).to.deep.equal(['gappy', 'h1', 'h2', 'resetting']);
      const one = hosts.find((h: { name: string }) => h.name === 'h1');
      expect(one).to.deep.equal({ name: 'h1', labels: {}, firstSeen: new Date(T0).toISOString(), lastSeen: new Date(h1.at(-1)!.ts).toISOString() });
    });
  });

  describe('GET /api/v1/metrics', () => {
    it('has the fixed, the derived and the generated families stored snapshots have, sorted', async () => {
      const { metrics } = await ok(get('/api/v1/metrics'));
      const names = metrics.map((m: { name: string }) => m.name);
      expect(names).to.deep.equal([...names].sort());
      expect(new Set(names).size).to.equal(names.length);
      const by = (n: string) => metrics.find((m: { name: string }) => m.name === n);
      expect(by('perfwatch_cpu_seconds_total')).to.deep.include({ type: 'counter', unit: 'seconds', labels: ['cpu', 'mode'], derived: false });
      expect(by('perfwatch_load_average_1m')).to.deep.include({ type: 'gauge', unit: '', labels: [], derived: false });
      expect(by('perfwatch_cpu_utilisation_ratio')).to.deep.include({ type: 'gauge', unit: 'ratio', labels: ['cpu'], derived: true });
      expect(by('perfwatch_perf_instructions_per_cycle')).to.deep.include({ derived: true });
      // meminfo families are generated from the keys stored snapshots hold...
      expect(by('perfwatch_memory_mem_total_bytes')).to.deep.include({ type: 'gauge', unit: 'bytes', derived: false });
      // ...and the compact fixture has no vmstat section, so no vmstat family is listed.
      expect(names.filter((n: string) => n.startsWith('perfwatch_vmstat_'))).to.deep.equal([]);
      for (const m of metrics) expect(m.help, m.name).to.be.a('string');
    });
  });

  describe('GET /api/v1/metrics/{name}/labels/{label}/values', () => {
    const values = async (path: string) => (await ok(get(path))).values;

    it('answers the values of a label, host included, sorted; host= limits the hosts', async () => {
      expect(await values('/api/v1/metrics/perfwatch_cpu_seconds_total/labels/cpu/values')).to.deep.equal(['0', '1']);
      expect(await values('/api/v1/metrics/perfwatch_cpu_seconds_total/labels/mode/values')).to.deep.equal([...MODES].sort());
      expect(await values('/api/v1/metrics/perfwatch_load_average_1m/labels/host/values')).to.deep.equal(['gappy', 'h1', 'h2', 'resetting']);
      expect(await values('/api/v1/metrics/perfwatch_memory_mem_free_bytes/labels/host/values')).to.deep.equal(['gappy', 'h1', 'h2']);
      expect(await values('/api/v1/metrics/perfwatch_load_average_1m/labels/host/values?host=h2&host=gappy')).to.deep.equal(['gappy', 'h2']);
      expect(await values('/api/v1/metrics/perfwatch_load_average_1m/labels/host/values?host=nosuchhost')).to.deep.equal([]);
      expect(await values('/api/v1/metrics/perfwatch_cpu_utilisation_ratio/labels/cpu/values')).to.deep.equal(['0', '1']);
    });

    it('from/to keep the hosts seen in that range', async () => {
      const p = '/api/v1/metrics/perfwatch_system_context_switches_total/labels/host/values';
      expect(await values(p)).to.deep.equal(['gappy', 'h1', 'h2', 'resetting']);
      expect(await values(`${p}?from=${RESET_T}&to=${RESET_T + MIN}`)).to.deep.equal(['resetting']);
      expect(await values(`${p}?from=${new Date(T0).toISOString()}&to=${new Date(T0 + HOUR).toISOString()}`)).to.deep.equal(['h1', 'h2']);
    });

    it('unknown metric 404 UNKNOWN_METRIC; a label the metric lacks 400 UNKNOWN_LABEL; bad names 400', async () => {
      expectErrorShape(await get('/api/v1/metrics/perfwatch_nope_total/labels/cpu/values'), 404, 'UNKNOWN_METRIC');
      const r = await get('/api/v1/metrics/perfwatch_load_average_1m/labels/cpu/values');
      expectErrorShape(r, 400, 'UNKNOWN_LABEL');
      expect(r.body.error.message).to.include('perfwatch_load_average_1m');
      expectErrorShape(await get('/api/v1/metrics/perfwatch_cpu_seconds_total/labels/1cpu/values'), 400, 'VALIDATION_FAILED');
      expectErrorShape(await get(`/api/v1/metrics/perfwatch_cpu_seconds_total/labels/cpu/values?from=${T0 + DAY}&to=${T0}`), 400, 'INVALID_ARGUMENT');
      expectErrorShape(await get('/api/v1/metrics/perfwatch_cpu_seconds_total/labels/cpu/values?from=yesterday'), 400, 'VALIDATION_FAILED');
    });
  });

  describe('POST /api/v1/query', () => {
    const hour = { from: T0 + 6 * HOUR, to: T0 + 7 * HOUR };

    it('a gauge: its mean over each step (avg_over_time) from raw snapshots for a short range, as the PromQL it names', async () => {
      const { results } = await ok(query({ ...hour, maxDataPoints: 12, targets: [{ refId: 'A', metric: 'perfwatch_load_average_1m', hosts: ['h1'] }] }));
      const r = results[0] as Result;
      expect(r).to.deep.include({ refId: 'A', metric: 'perfwatch_load_average_1m', type: 'gauge', unit: '', rate: false, tier: 'raw', stepMs: 5 * MIN });
      expect(r.expr).to.equal('avg_over_time(perfwatch_load_average_1m{host="h1"}[5m])');
      expect(r.series).to.have.length(1);
      const want = avgOver(samplesOf(h1, 'perfwatch_load_average_1m', {}), 5 * MIN, hour.from, hour.to);
      expect(want.size).to.equal(12);
      expectClose(pairs(find(r, { host: 'h1' })), [...want]);
      // The same evaluator answers the same expression on /prometheus.
      const prom = await call(t.url, 'GET', `/prometheus/api/v1/query_range?${new URLSearchParams({ query: r.expr, start: String(hour.from / 1000), end: String((hour.to - 5 * MIN) / 1000), step: '300' })}`, { token });
      expect(prom.status, prom.text).to.equal(200);
      const values = prom.body.data.result[0].values as [number, string][];
      expect(values.map(([ts, v]) => [ts * 1000, Number(v)])).to.deep.equal(pairs(r.series[0]!));
    });

    it('times as ISO strings mean the same as Unix ms', async () => {
      const target = { refId: 'A', metric: 'perfwatch_load_average_1m', hosts: ['h1'] };
      const a = await ok(query({ ...hour, maxDataPoints: 12, targets: [target] }));
      const b = await ok(query({ from: new Date(hour.from).toISOString(), to: new Date(hour.to).toISOString().replace('Z', '+00:00'), maxDataPoints: 12, targets: [target] }));
      expect(b).to.deep.equal(a);
    });

    it("a counter: Prometheus's rate per second by default, across a reset; rate: false gives the counter's value", async () => {
      const q = { from: RESET_T, to: RESET_T + 80 * SEC, maxDataPoints: 2, targets: [{ refId: 'R', metric: 'perfwatch_system_context_switches_total', hosts: ['resetting'] }] };
      const { results } = await ok(query(q));
      expect(results[0]).to.deep.include({ type: 'counter', unit: '', rate: true, tier: 'raw', stepMs: 40 * SEC, expr: 'rate(perfwatch_system_context_switches_total{host="resetting"}[1m])' });
      // Samples every 10 s from RESET_T: 1000 1600 2200 | 300 (reset: counts 300) 900 1500 2100 2700.
      // At RESET_T the 1-minute window holds one sample: no rate. At +40 s it holds 1000..900: an
      // increase of 2100 over 40 s, extrapolated at the start towards zero (40 s x 1000/2100 = 19 s,
      // over 1.1 intervals: half an interval, 5 s) and not at the end (the last sample is at t):
      // 2100 x 45/40 over 60 s.
      expect(pairs(results[0].series[0])).to.deep.equal([[RESET_T + 40 * SEC, (2100 * (45 / 40)) / 60]]);
      const raw = await ok(query({ ...q, targets: [{ ...q.targets[0], rate: false }] }));
      expect(raw.results[0]).to.deep.include({ rate: false, expr: 'perfwatch_system_context_switches_total{host="resetting"}' });
      expect(pairs(raw.results[0].series[0])).to.deep.equal([[RESET_T, 1000], [RESET_T + 40 * SEC, 900]]);
    });

    it('a counter with labels: the rate of each series equals the one computed from the snapshots', async () => {
      const { results } = await ok(query({ ...hour, maxDataPoints: 6, targets: [{ refId: 'C', metric: 'perfwatch_cpu_seconds_total', hosts: ['h1'] }] }));
      const r = results[0] as Result;
      expect(r.series).to.have.length(16);
      expect(r.unit).to.equal('seconds');
      expect(r.expr).to.equal('rate(perfwatch_cpu_seconds_total{host="h1"}[10m])');
      for (const cpu of ['0', '1']) {
        for (const mode of ['user', 'idle']) {
          const want = promRate(samplesOf(h1, 'perfwatch_cpu_seconds_total', { cpu, mode }), 10 * MIN, hour.from, hour.to, 10 * MIN);
          expect(want.size).to.equal(6);
          expectClose(pairs(find(r, { host: 'h1', cpu, mode })), [...want]);
        }
      }
    });

    it('aggregates by a label across hosts (sum by mode), and over everything (by [])', async () => {
      const target = { refId: 'S', metric: 'perfwatch_cpu_seconds_total', hosts: ['h1', 'h2'], aggregation: { op: 'sum', by: ['mode'] } };
      const { results } = await ok(query({ ...hour, maxDataPoints: 6, targets: [target] }));
      const r = results[0] as Result;
      expect(r.series.map((s) => s.labels)).to.deep.equal([...MODES].sort().map((mode) => ({ mode })));
      for (const mode of ['user', 'iowait']) {
        const want = new Map<number, number>();
        for (const snaps of [h1, h2]) for (const cpu of ['0', '1']) for (const [k, v] of promRate(samplesOf(snaps, 'perfwatch_cpu_seconds_total', { cpu, mode }), 10 * MIN, hour.from, hour.to, 10 * MIN)) want.set(k, (want.get(k) ?? 0) + v);
        expectClose(pairs(find(r, { mode })), [...want]);
      }
      // avg / max over everything: one series without labels, consistent with the per-series answer.
      const each = (await ok(query({ ...hour, maxDataPoints: 6, targets: [{ refId: 'E', metric: 'perfwatch_load_average_1m', hosts: ['h1', 'h2'] }] }))).results[0] as Result;
      const agg = await ok(query({ ...hour, maxDataPoints: 6, targets: ['avg', 'max'].map((op) => ({ refId: op, metric: 'perfwatch_load_average_1m', hosts: ['h1', 'h2'], aggregation: { op, by: [] } })) }));
      const a1 = find(each, { host: 'h1' }).values as number[];
      const a2 = find(each, { host: 'h2' }).values as number[];
      expect(agg.results[0].series).to.have.length(1);
      expect(agg.results[0].series[0].labels).to.deep.equal({});
      agg.results[0].series[0].values.forEach((v: number, i: number) => expect(v).to.be.closeTo((a1[i]! + a2[i]!) / 2, 1e-9));
      agg.results[1].series[0].values.forEach((v: number, i: number) => expect(v).to.be.closeTo(Math.max(a1[i]!, a2[i]!), 1e-9));
    });

    it('a derived metric: cpu utilisation = 1 - (idle + iowait) / all modes, per CPU', async () => {
      const { results } = await ok(query({ ...hour, maxDataPoints: 4, targets: [{ refId: 'U', metric: 'perfwatch_cpu_utilisation_ratio', hosts: ['h2'] }] }));
      const r = results[0] as Result;
      expect(r).to.deep.include({ type: 'gauge', unit: 'ratio', rate: false, stepMs: 15 * MIN });
      expect(r.expr).to.equal(
        '1 - (sum by (cpu, host) (rate(perfwatch_cpu_seconds_total{mode=~"idle|iowait", host="h2"}[15m])) / sum by (cpu, host) (rate(perfwatch_cpu_seconds_total{host="h2"}[15m])))',
      );
      for (const cpu of ['0', '1']) {
        const inc = (modes: string[]) => {
          const m = new Map<number, number>();
          for (const mode of modes) for (const [k, v] of promRate(samplesOf(h2, 'perfwatch_cpu_seconds_total', { cpu, mode }), 15 * MIN, hour.from, hour.to, 15 * MIN)) m.set(k, (m.get(k) ?? 0) + v);
          return m;
        };
        const idle = inc(['idle', 'iowait']);
        const all = inc(MODES);
        const want = [...all].map(([k, v]) => [k, 1 - idle.get(k)! / v] as [number, number]);
        expect(want).to.have.length(4);
        expectClose(pairs(find(r, { host: 'h2', cpu })), want);
        for (const [, v] of want) expect(v).to.be.within(0, 1);
      }
    });

    it('derived ratios of gauges and of rates: memory and filesystem used, disk read and write latency', async () => {
      const one = async (metric: string, matchers: unknown[] = []) => (await ok(query({ ...hour, maxDataPoints: 4, targets: [{ refId: 'D', metric, hosts: ['h1'], matchers }] }))).results[0] as Result;
      const ratio = (num: Map<number, number>, den: Map<number, number>, f: (a: number, b: number) => number) =>
        [...num].filter(([ts]) => den.get(ts)).map(([ts, v]) => [ts, f(v, den.get(ts)!)] as [number, number]);
      const gauge = (metric: string, labels: Record<string, string> = {}) => avgOver(samplesOf(h1, metric, labels), 15 * MIN, hour.from, hour.to);
      const rate = (metric: string, labels: Record<string, string>) => promRate(samplesOf(h1, metric, labels), 15 * MIN, hour.from, hour.to, 15 * MIN);

      const mem = await one('perfwatch_memory_utilisation_ratio');
      expect(mem.series.map((x) => x.labels)).to.deep.equal([{ host: 'h1' }]);
      const memWant = ratio(gauge('perfwatch_memory_mem_available_bytes'), gauge('perfwatch_memory_mem_total_bytes'), (a, b) => 1 - a / b);
      expect(memWant).to.have.length(4);
      expectClose(pairs(mem.series[0]!), memWant);

      const fs = await one('perfwatch_filesystem_used_ratio', [{ label: 'mountpoint', op: '=', value: '/' }]);
      expect(fs.series).to.have.length(1);
      const root = fs.series[0]!.labels;
      expect(root).to.include({ host: 'h1', mountpoint: '/' });
      const fsLabels = { device: root.device!, mountpoint: '/', fstype: root.fstype! };
      expectClose(pairs(fs.series[0]!), ratio(gauge('perfwatch_filesystem_avail_bytes', fsLabels), gauge('perfwatch_filesystem_size_bytes', fsLabels), (a, b) => 1 - a / b));

      for (const [metric, time, ops] of [
        ['perfwatch_disk_read_latency_seconds', 'perfwatch_disk_read_time_seconds_total', 'perfwatch_disk_reads_completed_total'],
        ['perfwatch_disk_write_latency_seconds', 'perfwatch_disk_write_time_seconds_total', 'perfwatch_disk_writes_completed_total'],
      ] as const) {
        const r = await one(metric, [{ label: 'device', op: '=', value: 'vda' }]);
        const want = ratio(rate(time, { device: 'vda' }), rate(ops, { device: 'vda' }), (a, b) => a / b);
        expect(want.length, metric).to.be.greaterThan(0);
        expectClose(pairs(find(r, { device: 'vda', host: 'h1' })), want);
      }
    });

    it('a derived metric over several hosts: one series per host and CPU (hosts are not added together); host matchers and aggregation apply', async () => {
      const one = async (target: Record<string, unknown>) => (await ok(query({ ...hour, maxDataPoints: 4, targets: [{ refId: 'U', metric: 'perfwatch_cpu_utilisation_ratio', ...target }] }))).results[0] as Result;
      const both = await one({ hosts: ['h1', 'h2'] });
      expect(both.series.map((s) => `${s.labels.host}/${s.labels.cpu}`).sort()).to.deep.equal(['h1/0', 'h1/1', 'h2/0', 'h2/1']);
      const onlyH2 = await one({ hosts: ['h2'] });
      expect(find(both, { host: 'h2', cpu: '1' })).to.deep.equal(find(onlyH2, { host: 'h2', cpu: '1' }));
      const matched = await one({ matchers: [{ label: 'host', op: '=~', value: 'h[12]' }, { label: 'cpu', op: '=', value: '0' }] });
      expect(matched.series.map((s) => `${s.labels.host}/${s.labels.cpu}`).sort()).to.deep.equal(['h1/0', 'h2/0']);
      const max = await one({ hosts: ['h1', 'h2'], aggregation: { op: 'max', by: ['cpu'] } });
      expect(max.series.map((s) => s.labels)).to.deep.equal([{ cpu: '0' }, { cpu: '1' }]);
      for (const cpu of ['0', '1']) {
        const a = find(both, { host: 'h1', cpu }).values as number[];
        const b = find(both, { host: 'h2', cpu }).values as number[];
        expect(find(max, { cpu }).values).to.deep.equal(a.map((x, i) => Math.max(x, b[i]!)));
      }
    });

    it('matchers: =, !=, =~ (anchored), !~ and host as a label', async () => {
      const run = async (matchers: unknown[], hosts?: string[]) => {
        const { results } = await ok(query({ ...hour, maxDataPoints: 2, targets: [{ refId: 'M', metric: 'perfwatch_cpu_seconds_total', hosts, matchers }] }));
        return (results[0] as Result).series.map((s) => `${s.labels.host}/${s.labels.cpu}/${s.labels.mode}`).sort();
      };
      expect(await run([{ label: 'mode', op: '=', value: 'user' }, { label: 'cpu', op: '=', value: '1' }], ['h1'])).to.deep.equal(['h1/1/user']);
      expect(await run([{ label: 'mode', op: '=~', value: 'user|sys.*' }, { label: 'host', op: '=', value: 'h2' }])).to.deep.equal(['h2/0/system', 'h2/0/user', 'h2/1/system', 'h2/1/user']);
      // anchored: "ser" matches no mode whole
      expect(await run([{ label: 'mode', op: '=~', value: 'ser' }], ['h1'])).to.deep.equal([]);
      expect((await run([{ label: 'mode', op: '!~', value: 'idle|iowait|irq|softirq|steal|nice' }, { label: 'cpu', op: '!=', value: '0' }], ['h1']))).to.deep.equal(['h1/1/system', 'h1/1/user']);
    });

    it('no hosts (or []) means every host that has the metric', async () => {
      for (const hosts of [undefined, []]) {
        const { results } = await ok(query({ from: T0, to: T0 + 3 * DAY + 7 * HOUR, maxDataPoints: 100, targets: [{ refId: 'A', metric: 'perfwatch_load_average_1m', hosts }] }));
        expect(results[0].series.map((s: Series) => s.labels.host)).to.deep.equal(['gappy', 'h1', 'h2', 'resetting']);
      }
    });

    it('chooses the tier from the step: raw for an hour, 1m and 1h over two days, with the same values', async () => {
      const twoDays = { from: T0, to: T0 + 2 * DAY };
      const target = { refId: 'T', metric: 'perfwatch_load_average_1m', hosts: ['h1'] };
      const fine = (await ok(query({ ...twoDays, targets: [target] }))).results[0] as Result;
      // 172.8 s rounds up to whole minutes: windows and steps on 1-minute buckets.
      expect(fine).to.deep.include({ stepMs: 3 * MIN, tier: '1m', expr: 'avg_over_time(perfwatch_load_average_1m{host="h1"}[3m])' });
      expectClose(pairs(fine.series[0]!), [...fromBuckets(h1, 'perfwatch_load_average_1m', {}, 3 * MIN, twoDays.from, twoDays.to, false)]);
      const coarse = (await ok(query({ ...twoDays, maxDataPoints: 24, targets: [target] }))).results[0] as Result;
      expect(coarse).to.deep.include({ tier: '1h', stepMs: 2 * HOUR });
      const want = fromBuckets(h1, 'perfwatch_load_average_1m', {}, 2 * HOUR, twoDays.from, twoDays.to, false);
      expect(want.size).to.equal(23);
      expectClose(pairs(coarse.series[0]!), [...want]);
      const rate = (await ok(query({ ...twoDays, maxDataPoints: 24, targets: [{ ...target, metric: 'perfwatch_system_forks_total' }] }))).results[0] as Result;
      expect(rate).to.deep.include({ tier: '1h', expr: 'rate(perfwatch_system_forks_total{host="h1"}[2h])' });
      expectClose(pairs(rate.series[0]!), [...fromBuckets(h1, 'perfwatch_system_forks_total', {}, 2 * HOUR, twoDays.from, twoDays.to, true)]);
    });

    it('never answers more than maxDataPoints points per series; the step is whole seconds (minutes, hours) and at least intervalMs', async () => {
      const cases = [
        { from: T0 + 7 * MIN + 123, to: T0 + 2 * DAY - 17, maxDataPoints: 1 },
        { from: T0 + 7 * MIN + 123, to: T0 + 2 * DAY - 17, maxDataPoints: 2 },
        { from: T0 + 7 * MIN + 123, to: T0 + 2 * DAY - 17, maxDataPoints: 7 },
        { from: T0 + 13 * SEC, to: T0 + HOUR + 13 * SEC, maxDataPoints: 59 },
        { from: T0 + 1, to: T0 + 50 * HOUR, maxDataPoints: 11_000 },
        { from: T0 + 5 * HOUR + 1, to: T0 + 5 * HOUR + 20 * MIN, maxDataPoints: 1000, intervalMs: 90_500 },
      ];
      for (const c of cases) {
        const { results } = await ok(query({ ...c, targets: [{ refId: 'A', metric: 'perfwatch_load_average_1m', hosts: ['h1'] }] }));
        const r = results[0] as Result;
        const what = JSON.stringify(c);
        expect(r.stepMs % (r.stepMs > HOUR ? HOUR : r.stepMs > MIN ? MIN : SEC), what).to.equal(0);
        expect(r.stepMs, what).to.be.at.least(Math.max(c.intervalMs ?? 0, Math.ceil((c.to - c.from) / c.maxDataPoints)));
        // With one or two points the only windows may end before the data begins.
        expect(r.series.length, what).to.be.at.most(1);
        if (c.maxDataPoints > 2) expect(r.series, what).to.have.length(1);
        for (const s of r.series) {
          expect(s.timestamps.length, what).to.be.within(1, c.maxDataPoints);
          expect(s.timestamps.every((ts) => ts % r.stepMs === 0), what).to.equal(true);
        }
      }
    });

    it('a break in the data is a null one step after the last point before it', async () => {
      const { results } = await ok(query({ from: GAP_T, to: GAP_T + 25 * MIN, maxDataPoints: 25, targets: [{ refId: 'G', metric: 'perfwatch_load_average_1m', hosts: ['gappy'] }] }));
      const s = (results[0] as Result).series[0]!;
      expect(s.values.filter((v) => v === null)).to.have.length(1);
      const i = s.values.indexOf(null);
      // Each point is the mean of the minute before it: 0..10 min hold samples, 11..14 do not.
      expect(s.timestamps[i]).to.equal(GAP_T + 11 * MIN);
      expect(s.timestamps[i + 1]).to.equal(GAP_T + 15 * MIN);
      expect(s.timestamps).to.have.length(11 + 1 + 10);
    });

    it('several targets in one request, each with its own result', async () => {
      const { results } = await ok(
        query({
          ...hour,
          intervalMs: MIN,
          targets: [
            { refId: 'A', metric: 'perfwatch_load_average_1m', hosts: ['h1'], legendFormat: '{{host}}', hide: false },
            { refId: 'B', metric: 'perfwatch_system_context_switches_total', hosts: ['h2'] },
          ],
        }),
      );
      expect(results.map((r: Result) => [r.refId, r.metric, r.series.length])).to.deep.equal([['A', 'perfwatch_load_average_1m', 1], ['B', 'perfwatch_system_context_switches_total', 1]]);
    });

    it("a rate's window is at least four of intervalMs (Grafana's min interval: hosts collecting every minute need it)", async () => {
      const target = { refId: 'B', metric: 'perfwatch_system_context_switches_total', hosts: ['h2'] };
      // h2 collects every 60 s: a 1-minute window holds one sample, too few for a rate.
      const short = (await ok(query({ ...hour, targets: [target] }))).results[0] as Result;
      expect(short).to.deep.include({ stepMs: 4 * SEC, expr: 'rate(perfwatch_system_context_switches_total{host="h2"}[1m])' });
      expect(short.series).to.deep.equal([]);
      const slow = (await ok(query({ ...hour, intervalMs: MIN, targets: [target] }))).results[0] as Result;
      expect(slow).to.deep.include({ stepMs: MIN, expr: 'rate(perfwatch_system_context_switches_total{host="h2"}[4m])' });
      expectClose(pairs(slow.series[0]!), [...promRate(samplesOf(h2, 'perfwatch_system_context_switches_total', {}), MIN, hour.from, hour.to, 4 * MIN)]);
    });

    it('refuses bad queries with 400 and a code, naming the target', async () => {
      const t1 = { refId: 'A', metric: 'perfwatch_load_average_1m' };
      const bad = async (body: unknown, code: string, mention?: string) => {
        const r = await query(body);
        expectErrorShape(r, 400, code);
        if (mention) expect(r.body.error.message, r.text).to.include(mention);
      };
      await bad({ ...hour, targets: [t1, { refId: 'Zed', metric: 'perfwatch_no_such_metric' }] }, 'UNKNOWN_METRIC', '"Zed"');
      await bad({ ...hour, targets: [{ ...t1, refId: 'L', matchers: [{ label: 'cpu', op: '=', value: '0' }] }] }, 'UNKNOWN_LABEL', '"L"');
      await bad({ ...hour, targets: [{ refId: 'L2', metric: 'perfwatch_cpu_seconds_total', aggregation: { op: 'sum', by: ['device'] } }] }, 'UNKNOWN_LABEL', '"L2"');
      await bad({ ...hour, targets: [{ refId: 'X', metric: 'perfwatch_cpu_seconds_total', matchers: [{ label: 'mode', op: '=~', value: 'user(' }] }] }, 'INVALID_REGEX', '"X"');
      // RE2, not JavaScript's engine: a lookahead (which Prometheus refuses too) is not a regex here.
      await bad({ ...hour, targets: [{ refId: 'LA', metric: 'perfwatch_cpu_seconds_total', matchers: [{ label: 'mode', op: '=~', value: '(?=softirq$)(?:.|.)*X' }] }] }, 'INVALID_REGEX', 'invalid or unsupported Perl syntax');
      await bad({ ...hour, targets: [{ ...t1, refId: 'G', rate: true }] }, 'INVALID_ARGUMENT', '"G"');
      await bad({ ...hour, targets: [{ refId: 'D', metric: 'perfwatch_cpu_utilisation_ratio', rate: true }] }, 'INVALID_ARGUMENT', '"D"');
      await bad({ ...hour, targets: [t1, { ...t1 }] }, 'INVALID_ARGUMENT', 'refId');
      await bad({ from: hour.to, to: hour.from, targets: [t1] }, 'INVALID_ARGUMENT', 'before');
      await bad({ from: hour.from, to: hour.from, targets: [t1] }, 'INVALID_ARGUMENT');
      await bad({ from: hour.to - 801 * DAY, to: hour.to, targets: [t1] }, 'RANGE_TOO_LONG', '800');
      await bad({ ...hour, maxDataPoints: 0, targets: [t1] }, 'VALIDATION_FAILED', 'maxDataPoints');
      await bad({ ...hour, maxDataPoints: 11_001, targets: [t1] }, 'VALIDATION_FAILED', 'maxDataPoints');
      await bad({ ...hour, maxDataPoints: 2.5, targets: [t1] }, 'VALIDATION_FAILED', 'maxDataPoints');
      await bad({ ...hour, intervalMs: 0, targets: [t1] }, 'VALIDATION_FAILED', 'intervalMs');
      await bad({ ...hour, targets: [] }, 'VALIDATION_FAILED', 'targets');
      await bad({ ...hour, targets: Array.from({ length: 21 }, (_, i) => ({ ...t1, refId: `T${i}` })) }, 'VALIDATION_FAILED', 'targets');
      await bad({ from: 'yesterday', to: hour.to, targets: [t1] }, 'VALIDATION_FAILED', 'body.from');
      await bad({ from: '2031-01-01T00:00:00', to: hour.to, targets: [t1] }, 'VALIDATION_FAILED', 'body.from');
      await bad({ from: 1e300, to: hour.to, targets: [t1] }, 'VALIDATION_FAILED', 'body.from');
      await bad({ ...hour, targets: [{ ...t1, matchers: [{ label: 'host', op: '~', value: 'x' }] }] }, 'VALIDATION_FAILED', 'op');
      await bad({ ...hour, targets: [{ ...t1, aggregation: { op: 'median', by: [] } }] }, 'VALIDATION_FAILED', 'aggregation');
      await bad({ ...hour, targets: [{ refId: 'A' }] }, 'VALIDATION_FAILED', 'metric');
      await bad({ ...hour, extra: 1, targets: [t1] }, 'VALIDATION_FAILED', 'extra');
    });

    it('SQL-injection strings inside targets are plain values or refused, and change nothing', async () => {
      const INJ = ["' OR '1'='1", "'; DROP TABLE snapshots; --", '1; DELETE FROM hosts', "') UNION SELECT frags FROM snapshot_shapes --", '$1', "\\'; TRUNCATE series; --"];
      const state = async () => ({
        tables: (await t.db.query<{ t: string }>('SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [t.schema])).rows.map((r) => r.t),
        rows: (await t.db.query('SELECT (SELECT count(*) FROM hosts)::int AS h, (SELECT count(*) FROM snapshots)::int AS s, (SELECT count(*) FROM series)::int AS r')).rows[0],
      });
      const before = await state();
      const target = { refId: 'A', metric: 'perfwatch_load_average_1m', hosts: ['h1'] };
      for (const inj of INJ) {
        const run = (t1: Record<string, unknown>) => query({ ...hour, maxDataPoints: 2, targets: [{ ...target, ...t1 }] });
        expectErrorShape(await run({ metric: inj }), 400, 'UNKNOWN_METRIC');
        const named = await ok(run({ refId: inj }));
        expect(named.results[0].refId).to.equal(inj);
        expect(named.results[0].series).to.have.length(1);
        expect((await ok(run({ hosts: [inj] }))).results[0].series).to.deep.equal([]);
        expect((await ok(run({ hosts: [], matchers: [{ label: 'host', op: '=', value: inj }] }))).results[0].series).to.deep.equal([]);
        const re = await run({ matchers: [{ label: 'host', op: '=~', value: inj }] });
        expect(re.status, re.text).to.be.oneOf([200, 400]);
        if (re.status === 200) expect(re.body.results[0].series).to.deep.equal([]);
        else expect(re.body.error.code).to.equal('INVALID_REGEX');
        expectErrorShape(await run({ matchers: [{ label: inj, op: '=', value: 'x' }] }), 400, 'VALIDATION_FAILED');
        expectErrorShape(await run({ aggregation: { op: 'sum', by: [inj] } }), 400, 'VALIDATION_FAILED');
      }
      expect(await state()).to.deep.equal(before);
    });

    it('needs authentication', async () => {
      const r = await call(t.url, 'POST', '/api/v1/query', { body: { ...hour, targets: [{ refId: 'A', metric: 'perfwatch_load_average_1m' }] } });
      expectErrorShape(r, 401, 'UNAUTHENTICATED');
    });
  });

  describe('GET /api/v1/snapshots and /latest', () => {
    it('the cursor walks every snapshot of a range exactly once, in order, as written', async () => {
      const from = T0 + HOUR;
      const to = T0 + 4 * HOUR + 30 * SEC;
      const want = h1.filter((s) => s.ts >= from && s.ts < to);
      const seen: { host: string; ts: string; data: Snapshot }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { snapshots: typeof seen; nextCursor: string | null } = await ok(get(`/api/v1/snapshots?host=h1&from=${from}&to=${new Date(to).toISOString()}&limit=7${cursor ? `&cursor=${cursor}` : ''}`));
        expect(page.snapshots.length).to.be.at.most(7);
        seen.push(...page.snapshots);
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 1000);
      expect(cursor).to.equal(null);
      expect(pages).to.equal(Math.ceil(want.length / 7));
      expect(seen.map((s) => s.ts)).to.deep.equal(want.map((s) => new Date(s.ts).toISOString()));
      expect(seen.every((s) => s.host === 'h1')).to.equal(true);
      expect(seen[0]!.data).to.deep.equal(want[0]);
      expect(seen.at(-1)!.data).to.deep.equal(want.at(-1));
    });

    it('without from and to: the whole history, 100 per page by default', async () => {
      const first = await ok(get('/api/v1/snapshots?host=resetting'));
      expect(first.snapshots).to.have.length(8);
      expect(first.nextCursor).to.equal(null);
      const big = await ok(get('/api/v1/snapshots?host=h2'));
      expect(big.snapshots).to.have.length(100);
      expect(big.nextCursor).to.be.a('string');
      const unknown = await ok(get('/api/v1/snapshots?host=nobody'));
      expect(unknown).to.deep.equal({ snapshots: [], nextCursor: null });
    });

    it('refuses a bad limit, cursor or range and a missing host', async () => {
      expectErrorShape(await get('/api/v1/snapshots?host=h1&limit=0'), 400, 'VALIDATION_FAILED');
      expectErrorShape(await get('/api/v1/snapshots?host=h1&limit=1001'), 400, 'VALIDATION_FAILED');
      expectErrorShape(await get('/api/v1/snapshots?host=h1&cursor=bm90LWEtY3Vyc29y'), 400, 'INVALID_ARGUMENT');
      expectErrorShape(await get('/api/v1/snapshots?host=h1&cursor=a%20b'), 400, 'VALIDATION_FAILED');
      expectErrorShape(await get(`/api/v1/snapshots?host=h1&from=${T0 + DAY}&to=${T0}`), 400, 'INVALID_ARGUMENT');
      expectErrorShape(await get('/api/v1/snapshots'), 400, 'VALIDATION_FAILED');
      expectErrorShape(await get('/api/v1/snapshots?host=h1&host=h2'), 400, 'VALIDATION_FAILED');
    });

    it("latest: the host's newest snapshot; 404 NOT_FOUND for a host without one", async () => {
      const r = await ok(get('/api/v1/snapshots/latest?host=h2'));
      expect(r).to.deep.equal({ host: 'h2', ts: new Date(h2.at(-1)!.ts).toISOString(), data: h2.at(-1) });
      expectErrorShape(await get('/api/v1/snapshots/latest?host=nobody'), 404, 'NOT_FOUND');
      expectErrorShape(await get('/api/v1/snapshots/latest'), 400, 'VALIDATION_FAILED');
    });
  });

  describe('GET /api/v1/annotations', () => {
    it("gaps: a stretch without snapshots longer than 3 x the host's interval (at least 30 s), with its true ends", async () => {
      const { annotations } = await ok(get(`/api/v1/annotations?from=${GAP_T}&to=${GAP_T + 25 * MIN}&kind=gap&host=gappy`));
      expect(annotations).to.have.length(1);
      const [a] = annotations;
      expect(a).to.deep.include({ kind: 'gap', host: 'gappy', time: GAP_T + 10 * MIN - 10 * SEC, timeEnd: GAP_T + 15 * MIN, title: 'No data from gappy' });
      expect(a.tags).to.deep.equal(['gap', 'gappy']);
      expect(a.text).to.include('5 min').and.include('every 10 s');
      // A range that starts inside the gap still reports it whole.
      const inside = await ok(get(`/api/v1/annotations?from=${GAP_T + 12 * MIN}&to=${GAP_T + 13 * MIN}&kind=gap&host=gappy`));
      expect(inside.annotations.map((x: { time: number; timeEnd: number }) => [x.time, x.timeEnd])).to.deep.equal([[a.time, a.timeEnd]]);
      // minGapSeconds above the gap (310 s from the last snapshot before it to the first after): none.
      expect((await ok(get(`/api/v1/annotations?from=${GAP_T}&to=${GAP_T + 25 * MIN}&kind=gap&host=gappy&minGapSeconds=311`))).annotations).to.deep.equal([]);
      expect((await ok(get(`/api/v1/annotations?from=${GAP_T}&to=${GAP_T + 25 * MIN}&kind=gap&host=gappy&minGapSeconds=309`))).annotations).to.have.length(1);
    });

    it('an open gap: a host silent until the end of the range; 60 s hosts are not flagged between snapshots', async () => {
      const end = GAP_T + 25 * MIN;
      const { annotations } = await ok(get(`/api/v1/annotations?from=${GAP_T}&to=${end + 10 * MIN}&kind=gap&host=gappy&host=h1`));
      expect(annotations.map((x: { host: string; time: number; timeEnd: number; tags: string[] }) => [x.host, x.time, x.timeEnd, x.tags.includes('open')])).to.deep.equal([
        // h1 stopped writing long before the range: silent through all of it.
        ['h1', h1.at(-1)!.ts, end + 10 * MIN, true],
        ['gappy', GAP_T + 10 * MIN - 10 * SEC, GAP_T + 15 * MIN, false],
        ['gappy', end - 10 * SEC, end + 10 * MIN, true],
      ]);
      // h1 writes every 60 s for its two days: no gap inside them (threshold 180 s).
      expect((await ok(get(`/api/v1/annotations?from=${T0}&to=${T0 + 2 * DAY}&kind=gap&host=h1`))).annotations).to.deep.equal([]);
    });

    it('retention runs, and both kinds by default, sorted by time', async () => {
      const before = Date.now() - SEC;
      await runRetention(t.db);
      const after = Date.now() + SEC;
      const { annotations } = await ok(get(`/api/v1/annotations?from=${before}&to=${after}&kind=retention`));
      expect(annotations.map((a: { title: string }) => a.title)).to.deep.equal(['Retention run (raw)', 'Retention run (1m)', 'Retention run (1h)']);
      for (const a of annotations) {
        expect(a.kind).to.equal('retention');
        expect(a.host).to.equal(undefined);
        expect(a.time).to.be.within(before, after);
        expect(a.timeEnd).to.be.at.least(a.time);
        expect(a.tags[0]).to.equal('retention');
      }
      const both = await ok(get(`/api/v1/annotations?from=${GAP_T}&to=${after}`));
      expect(new Set(both.annotations.map((a: { kind: string }) => a.kind))).to.deep.equal(new Set(['gap', 'retention']));
      const times = both.annotations.map((a: { time: number }) => a.time);
      expect(times).to.deep.equal([...times].sort((a, b) => a - b));
    });

    it('refuses a bad range, kind or minGapSeconds', async () => {
      expectErrorShape(await get(`/api/v1/annotations?from=${GAP_T}`), 400, 'VALIDATION_FAILED');
      expectErrorShape(await get(`/api/v1/annotations?from=${GAP_T}&to=${GAP_T - 1}`), 400, 'INVALID_ARGUMENT');
      expectErrorShape(await get(`/api/v1/annotations?from=${GAP_T - 900 * DAY}&to=${GAP_T}`), 400, 'RANGE_TOO_LONG');
      expectErrorShape(await get(`/api/v1/annotations?from=${GAP_T}&to=${GAP_T + 1}&kind=deploy`), 400, 'VALIDATION_FAILED');
      expectErrorShape(await get(`/api/v1/annotations?from=${GAP_T}&to=${GAP_T + 1}&minGapSeconds=0`), 400, 'VALIDATION_FAILED');
      expectErrorShape(await get(`/api/v1/annotations?from=${GAP_T}&to=${GAP_T + 1}&minGapSeconds=-5`), 400, 'VALIDATION_FAILED');
    });
  });
});
