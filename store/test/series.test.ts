/**
 * Series queries: the tier chosen for the step, the same answers from raw, 1m and 1h (and equal
 * to what the raw snapshots say, computed here from the snapshot objects), rates with counter
 * resets, aggregation by labels, derived metrics, the raw tail past the rollups, and hostile input:
 * bad regexes refused, SQL in every string parameter treated as a plain value.
 */
import { expect } from 'chai';
import { insertSnapshots, labelValues, querySeries, runRollups, snapshotSamples, StoreError, type SeriesQuery, type Snapshot } from '../src/index.js';
import { fakeSnapshot, testSchema, type TestSchema } from './helpers.js';
import { fixtureSnapshot, simulate } from './synth.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2031, 8, 1, 0, 0, 0);
const NOW = T0 + 2 * DAY + 3 * HOUR;

function points(r: Awaited<ReturnType<typeof querySeries>>, labels: Record<string, string>): [number, number][] {
  const s = r.series.find((x) => JSON.stringify(x.labels) === JSON.stringify(labels));
  expect(s, `series ${JSON.stringify(labels)} in ${JSON.stringify(r.series.map((x) => x.labels))}`).to.not.equal(undefined);
  return s!.points;
}

function expectClose(got: [number, number][], want: [number, number][]): void {
  expect(got.map((p) => p[0])).to.deep.equal(want.map((p) => p[0]));
  got.forEach(([t, v], i) => expect(v, new Date(t).toISOString()).to.be.closeTo(want[i]![1], Math.abs(want[i]![1]) * 1e-9 + 1e-9));
}

/** Straight from the snapshots: a gauge's average per step, a counter's increase per step / step. */
function fromSnapshots(snaps: Snapshot[], metric: string, labels: Record<string, string>, step: number, from: number, to: number, rate: boolean): [number, number][] {
  const sums = new Map<number, [number, number]>();
  let prev: [number, number] | undefined;
  for (const s of snaps) {
    const x = snapshotSamples(s).find((y) => y.metric.name === metric && Object.entries(labels).every(([k, v]) => y.labels[k] === v));
    if (!x) continue;
    const p = prev;
    prev = [s.ts, x.value];
    if (s.ts < from || s.ts >= to) continue;
    const k = Math.floor(s.ts / step) * step;
    const cur = sums.get(k) ?? [0, 0];
    if (!rate) sums.set(k, [cur[0] + x.value, cur[1] + 1]);
    else if (p && s.ts - p[0] <= 600_000) sums.set(k, [cur[0] + (x.value >= p[1] ? x.value - p[1] : x.value), cur[1] + 1]);
    else sums.set(k, cur);
  }
  return [...sums.entries()].sort((a, b) => a[0] - b[0]).map(([k, [sum, n]]) => [k, rate ? sum / (step / 1000) : sum / n]);
}

describe('series queries', function () {
  this.timeout(120_000);
  let t: TestSchema;
  let s1: Snapshot[];
  let s2: Snapshot[];

  before(async () => {
    t = await testSchema({ migrate: true });
    // Two hosts, 2 days + 2 hours at 60 s.
    s1 = simulate(fixtureSnapshot('small', { compact: true }), 's1', T0, 50 * 60, { intervalMs: MIN, seed: 1 });
    s2 = simulate(fixtureSnapshot('small', { compact: true }), 's2', T0, 50 * 60, { intervalMs: MIN, seed: 2 });
    for (let i = 0; i < s1.length; i += 500) await insertSnapshots(t.pool, [...s1.slice(i, i + 500), ...s2.slice(i, i + 500)]);
    while ((await runRollups(t.pool, { tier: '1m', now: NOW })).behind);
    await runRollups(t.pool, { tier: '1h', now: NOW });
  });
  after(async () => {
    await t.drop();
  });

  const base = (q: Partial<SeriesQuery>): SeriesQuery => ({ hosts: ['s1'], metric: 'perfwatch_load_average_1m', from: T0, to: T0 + 2 * DAY, stepMs: HOUR, now: NOW, ...q });

  it('chooses the coarsest tier whose resolution fits the step, raw for short ranges', async () => {
    expect((await querySeries(t.pool, base({ stepMs: 2 * HOUR }))).tier).to.equal('1h');
    expect((await querySeries(t.pool, base({ stepMs: HOUR }))).tier).to.equal('1h');
    expect((await querySeries(t.pool, base({ stepMs: 30 * MIN }))).tier).to.equal('1m');
    expect((await querySeries(t.pool, base({ stepMs: MIN }))).tier).to.equal('1m');
    expect((await querySeries(t.pool, base({ stepMs: 30_000, to: T0 + 6 * HOUR }))).tier).to.equal('raw');
    expect((await querySeries(t.pool, base({ stepMs: 10 * MIN, to: T0 + 50 * MIN }))).tier).to.equal('raw');
  });

  it('a gauge: raw, 1m and 1h give the average the snapshots give, on step-aligned points', async () => {
    const want = fromSnapshots(s1, 'perfwatch_load_average_1m', {}, HOUR, T0, T0 + 2 * DAY, false);
    expect(want).to.have.length(48);
    for (const tier of ['raw', '1m', '1h'] as const) {
      const r = await querySeries(t.pool, base({ tier }));
      expect(r.tier).to.equal(tier);
      expectClose(points(r, { host: 's1' }), want);
    }
    const odd = await querySeries(t.pool, base({ from: T0 + 17 * MIN, to: T0 + 5 * HOUR, stepMs: 20 * MIN }));
    expect(odd.series[0]!.points[0]![0]).to.equal(T0);
    expect(odd.series[0]!.points.every(([ts]) => ts % (20 * MIN) === 0)).to.equal(true);
  });

  it('a counter: the rate per second by default, resets handled, the same from every tier', async () => {
    const labels = { cpu: '1', mode: 'user' };
    const want = fromSnapshots(s1, 'perfwatch_cpu_seconds_total', labels, HOUR, T0, T0 + 2 * DAY, true);
    for (const tier of ['raw', '1m', '1h'] as const) {
      const r = await querySeries(t.pool, base({ tier, metric: 'perfwatch_cpu_seconds_total', matchers: [{ label: 'cpu', op: '=', value: '1' }, { label: 'mode', op: '=', value: 'user' }] }));
      expectClose(points(r, { ...labels, host: 's1' }), want);
    }
    const values = await querySeries(t.pool, base({ metric: 'perfwatch_system_context_switches_total', rate: false, stepMs: 6 * HOUR }));
    const last = s1.filter((s) => s.ts < T0 + 6 * HOUR).at(-1)!.cpu!.ctxt!;
    expect(values.series[0]!.points[0]).to.deep.equal([T0, last]);
  });

  it('a counter reset mid-range: the rate counts from zero after it, never negative', async () => {
    const t1 = T0 + 10 * DAY;
    const ctxt = [1000, 1600, 2200, 300, 900, 1500, 2100, 2700];
    await insertSnapshots(t.pool, ctxt.map((v, i) => ({ ...fakeSnapshot('resetting', t1 + i * 10_000, i), cpu: { t: {}, ctxt: v } }) as Snapshot));
    const r = await querySeries(t.pool, { hosts: ['resetting'], metric: 'perfwatch_system_context_switches_total', from: t1, to: t1 + 80_000, stepMs: 40_000, now: t1 + DAY });
    expect(r.series[0]!.points).to.deep.equal([
      [t1, (600 + 600 + 300) / 40],
      [t1 + 40_000, (600 + 600 + 600 + 600) / 40],
    ]);
  });

  it('aggregates by labels: sum, avg, min, max', async () => {
    const q = base({ metric: 'perfwatch_cpu_seconds_total', hosts: ['s1', 's2'], tier: '1m', matchers: [{ label: 'mode', op: '=~', value: 'user|system' }] });
    const all = await querySeries(t.pool, q);
    expect(all.series).to.have.length(8);
    const byMode = await querySeries(t.pool, { ...q, aggregation: { op: 'sum', by: ['mode'] } });
    expect(byMode.series.map((s) => s.labels)).to.deep.equal([{ mode: 'system' }, { mode: 'user' }]);
    const users = all.series.filter((s) => s.labels.mode === 'user');
    points(byMode, { mode: 'user' }).forEach(([ts, v], i) => {
      expect(v).to.be.closeTo(users.reduce((n, s) => n + s.points[i]![1], 0), 1e-9);
      expect(ts).to.equal(users[0]!.points[i]![0]);
    });
    const max = await querySeries(t.pool, { ...q, aggregation: { op: 'max', by: ['host'] } });
    const min = await querySeries(t.pool, { ...q, aggregation: { op: 'min', by: [] } });
    const avg = await querySeries(t.pool, { ...q, aggregation: { op: 'avg', by: ['host', 'cpu'] } });
    expect(max.series.map((s) => s.labels)).to.deep.equal([{ host: 's1' }, { host: 's2' }]);
    expect(min.series.map((s) => s.labels)).to.deep.equal([{}]);
    expect(avg.series).to.have.length(4);
    const at = (r: typeof all, i: number) => r.series.map((s) => s.points[i]![1]);
    expect(min.series[0]!.points[3]![1]).to.equal(Math.min(...at(all, 3)));
    expect(Math.max(...at(max, 3))).to.equal(Math.max(...at(all, 3)));
  });

  it('matchers: =, !=, =~, !~ (anchored), on any label, host included', async () => {
    const names = async (matchers: SeriesQuery['matchers']) =>
      (await querySeries(t.pool, base({ hosts: 'all', metric: 'perfwatch_cpu_seconds_total', matchers, to: T0 + 2 * HOUR }))).series.map((s) => `${s.labels.host}/${s.labels.cpu}/${s.labels.mode}`);
    expect(await names([{ label: 'mode', op: '=', value: 'idle' }, { label: 'host', op: '=', value: 's2' }])).to.deep.equal(['s2/0/idle', 's2/1/idle']);
    expect(await names([{ label: 'mode', op: '=~', value: 'i' }])).to.deep.equal([]);
    expect((await names([{ label: 'mode', op: '=~', value: 'i.*' }])).length).to.equal(12); // idle, iowait, irq x 2 CPUs x 2 hosts
    expect((await names([{ label: 'mode', op: '!~', value: 'i.*|s.*' }, { label: 'cpu', op: '!=', value: '0' }])).sort()).to.deep.equal(['s1/1/nice', 's1/1/user', 's2/1/nice', 's2/1/user']);
    expect(await names([{ label: 'nosuchlabel', op: '=', value: 'x' }])).to.deep.equal([]);
  });

  it('past the rollup watermark the points come from raw snapshots (the live edge)', async () => {
    // Rollups cover up to T0 + 2 days; the data goes on for 2 more hours.
    const r = await querySeries(t.pool, base({ tier: '1m', to: T0 + 2 * DAY + 2 * HOUR, stepMs: 10 * MIN, from: T0 + 2 * DAY - HOUR }));
    const want = fromSnapshots(s1, 'perfwatch_load_average_1m', {}, 10 * MIN, T0 + 2 * DAY - HOUR, T0 + 2 * DAY + 2 * HOUR, false);
    expect(want).to.have.length(18);
    expectClose(points(r, { host: 's1' }), want);
  });

  it('derived metrics: CPU utilisation per CPU, from the rates of its modes', async () => {
    const r = await querySeries(t.pool, base({ metric: 'perfwatch_cpu_utilisation_ratio' }));
    expect(r.series.map((s) => s.labels)).to.deep.equal([{ cpu: '0', host: 's1' }, { cpu: '1', host: 's1' }]);
    const rate = (mode: string) => fromSnapshots(s1, 'perfwatch_cpu_seconds_total', { cpu: '0', mode }, HOUR, T0, T0 + 2 * DAY, true);
    const modes = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'].map(rate);
    const want = modes[0]!.map(([ts], i) => {
      const total = modes.reduce((n, m) => n + m[i]![1], 0);
      return [ts, 1 - (modes[3]![i]![1] + modes[4]![i]![1]) / total] as [number, number];
    });
    expectClose(points(r, { cpu: '0', host: 's1' }), want);
    for (const [, v] of r.series[0]!.points) expect(v).to.be.within(0, 1);
    const disk = await querySeries(t.pool, base({ metric: 'perfwatch_disk_utilisation_ratio', hosts: 'all', aggregation: { op: 'max', by: ['device'] } }));
    expect(disk.series.map((s) => s.labels.device)).to.deep.equal(['sr0', 'vda']);
  });

  it('derived ratios of gauges and of rates: memory and filesystem used, disk read and write latency', async () => {
    const ratio = (num: [number, number][], den: [number, number][], f: (a: number, b: number) => number) => {
      const d = new Map(den);
      return num.filter(([ts]) => d.get(ts)).map(([ts, v]) => [ts, f(v, d.get(ts)!)] as [number, number]);
    };
    const gauge = (metric: string, labels: Record<string, string> = {}) => fromSnapshots(s1, metric, labels, HOUR, T0, T0 + 2 * DAY, false);
    const rate = (metric: string, labels: Record<string, string>) => fromSnapshots(s1, metric, labels, HOUR, T0, T0 + 2 * DAY, true);

    const mem = await querySeries(t.pool, base({ metric: 'perfwatch_memory_utilisation_ratio' }));
    expect(mem.series.map((x) => x.labels)).to.deep.equal([{ host: 's1' }]);
    expectClose(points(mem, { host: 's1' }), ratio(gauge('perfwatch_memory_mem_available_bytes'), gauge('perfwatch_memory_mem_total_bytes'), (a, b) => 1 - a / b));

    const fs = await querySeries(t.pool, base({ metric: 'perfwatch_filesystem_used_ratio', matchers: [{ label: 'mountpoint', op: '=', value: '/' }] }));
    expect(fs.series).to.have.length(1);
    const root = fs.series[0]!.labels;
    expect(root).to.include({ host: 's1', mountpoint: '/' });
    const fsLabels = { device: root.device!, mountpoint: '/', fstype: root.fstype! };
    expectClose(fs.series[0]!.points, ratio(gauge('perfwatch_filesystem_avail_bytes', fsLabels), gauge('perfwatch_filesystem_size_bytes', fsLabels), (a, b) => 1 - a / b));

    for (const [metric, time, ops] of [
      ['perfwatch_disk_read_latency_seconds', 'perfwatch_disk_read_time_seconds_total', 'perfwatch_disk_reads_completed_total'],
      ['perfwatch_disk_write_latency_seconds', 'perfwatch_disk_write_time_seconds_total', 'perfwatch_disk_writes_completed_total'],
    ] as const) {
      const r = await querySeries(t.pool, base({ metric, matchers: [{ label: 'device', op: '=', value: 'vda' }] }));
      const want = ratio(rate(time, { device: 'vda' }), rate(ops, { device: 'vda' }), (a, b) => a / b);
      expect(want.length, metric).to.be.greaterThan(10);
      expectClose(points(r, { device: 'vda', host: 's1' }), want);
    }
  });

  it('derived metrics over several hosts: each host is computed apart, never added to another', async () => {
    const both = await querySeries(t.pool, base({ metric: 'perfwatch_cpu_utilisation_ratio', hosts: 'all' }));
    expect(both.series.map((s) => `${s.labels.host}/${s.labels.cpu}`).sort()).to.deep.equal(['s1/0', 's1/1', 's2/0', 's2/1']);
    for (const host of ['s1', 's2']) {
      const alone = await querySeries(t.pool, base({ metric: 'perfwatch_cpu_utilisation_ratio', hosts: [host] }));
      for (const s of alone.series) {
        const same = both.series.find((b) => b.labels.host === host && b.labels.cpu === s.labels.cpu)!;
        expectClose(same.points, s.points);
        for (const [, v] of same.points) expect(v).to.be.within(0, 1);
      }
    }
    const onlyS2 = await querySeries(t.pool, base({ metric: 'perfwatch_cpu_utilisation_ratio', hosts: 'all', matchers: [{ label: 'host', op: '=', value: 's2' }] }));
    expect([...new Set(onlyS2.series.map((s) => s.labels.host))]).to.deep.equal(['s2']);
  });

  it('labelValues: values of a label of a metric, host included, for some hosts or all', async () => {
    expect(await labelValues(t.pool, 'perfwatch_cpu_seconds_total', 'mode')).to.deep.equal(['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user']);
    expect(await labelValues(t.pool, 'perfwatch_filesystem_size_bytes', 'mountpoint', ['s1'])).to.deep.equal(['/', '/run', '/run/lock', '/run/user/1000']);
    expect(await labelValues(t.pool, 'perfwatch_cpu_seconds_total', 'host', ['s2', 'nobody'])).to.deep.equal(['s2']);
    expect(await labelValues(t.pool, 'perfwatch_perf_instructions_per_cycle', 'cpu')).to.deep.equal([]);
    expect(await labelValues(t.pool, 'perfwatch_cpu_utilisation_ratio', 'cpu')).to.deep.equal(['0', '1']);
  });

  it('refuses a regex that does not compile with INVALID_REGEX, and other bad queries with INVALID_ARGUMENT', async () => {
    const err = async (q: Partial<SeriesQuery>) => (await querySeries(t.pool, base(q)).catch((e: unknown) => e)) as StoreError;
    const re = await err({ matchers: [{ label: 'mode', op: '=~', value: '(unclosed' }] });
    expect(re).to.be.instanceOf(StoreError);
    expect(re.code).to.equal('INVALID_REGEX');
    expect(re.message).to.match(/\(unclosed/);
    expect((await err({ metric: 'node_load1' })).code).to.equal('UNKNOWN_METRIC');
    expect((await err({ metric: 'perfwatch_load_average_1m', rate: true })).code).to.equal('INVALID_ARGUMENT');
    expect((await err({ stepMs: 1 })).code).to.equal('INVALID_ARGUMENT'); // too many points
    expect((await err({ stepMs: 0 })).code).to.equal('INVALID_ARGUMENT');
    expect((await err({ to: T0 - 1 })).code).to.equal('INVALID_ARGUMENT');
    expect((await err({ aggregation: { op: 'median' as 'sum', by: [] } })).code).to.equal('INVALID_ARGUMENT');
    expect((await err({ matchers: [{ label: 'mode', op: '~' as '=', value: 'x' }] })).code).to.equal('INVALID_ARGUMENT');
    expect((await err({ tier: '5m' as 'raw' })).code).to.equal('INVALID_ARGUMENT');
  });

  it('SQL in every string parameter is a plain value: refused or matching nothing, never run', async () => {
    const evil = [`'; DROP TABLE hosts; --`, `x" OR 1=1 --`, `$1`, `\\'`, `1); DELETE FROM snapshots; --`, `rollups_1m`, `v1 FROM rollups_1m; --`];
    const tables = async () => (await t.pool.query(`SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = current_schema()::regnamespace`)).rows[0].n as number;
    const rows = async () => (await t.pool.query(`SELECT (SELECT count(*) FROM snapshots)::int AS s, (SELECT count(*) FROM hosts)::int AS h, (SELECT count(*) FROM rollups_1m)::int AS r`)).rows[0];
    const before = [await tables(), await rows()];
    for (const e of evil) {
      const outcomes = await Promise.all([
        querySeries(t.pool, base({ hosts: [e] })),
        querySeries(t.pool, base({ metric: e })).catch((x: StoreError) => x.code),
        querySeries(t.pool, base({ metric: `perfwatch_memory_${e}` })).catch((x: StoreError) => x.code),
        querySeries(t.pool, base({ matchers: [{ label: 'mode', op: '=', value: e }] })),
        querySeries(t.pool, base({ matchers: [{ label: e, op: '=', value: 'x' }] })).catch((x: StoreError) => x.code),
        querySeries(t.pool, base({ matchers: [{ label: 'mode', op: '!~', value: e.replace(/[()\\$]/g, '') }] })),
        querySeries(t.pool, base({ aggregation: { op: 'sum', by: [e] } })).catch((x: StoreError) => x.code),
        querySeries(t.pool, base({ tier: e as 'raw' })).catch((x: StoreError) => x.code),
        labelValues(t.pool, e, 'mode').catch((x: StoreError) => x.code),
        labelValues(t.pool, 'perfwatch_cpu_seconds_total', e).catch((x: StoreError) => x.code),
        labelValues(t.pool, 'perfwatch_cpu_seconds_total', 'mode', [e]),
      ]);
      for (const o of outcomes) {
        if (typeof o === 'string') expect(o).to.be.oneOf(['INVALID_ARGUMENT', 'UNKNOWN_METRIC']);
      }
      expect((outcomes[0] as { series: unknown[] }).series, e).to.deep.equal([]);
      expect((outcomes[3] as { series: unknown[] }).series, e).to.deep.equal([]);
      expect(outcomes[10], e).to.deep.equal([]);
    }
    expect([await tables(), await rows()]).to.deep.equal(before);
  });
});
