/**
 * The catalog against the exporter's golden files: from snapshot.golden.json of each fixture
 * machine the catalog must extract exactly the families of metrics.golden.txt (names, types,
 * help, label sets, order, values; `<measured>` values are masked there and skipped).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DERIVED_METRICS, encodeSnapshot, FIXED_METRICS, forEachSample, metricInfo, metricsOf, parseShape, decodeValues, Slot, snapshotSamples, type Expr, type Snapshot } from '../src/index.js';
import { parseExposition } from './exposition.js';
import { FIXTURES, fixtureSnapshot, simulate } from './synth.js';

for (const fixture of ['small', 'large'] as const) {
  describe(`catalog vs the golden /metrics of the ${fixture} fixture machine`, () => {
    const snap = JSON.parse(readFileSync(new URL(`${fixture}/snapshot.golden.json`, FIXTURES), 'utf8')) as Snapshot;
    const golden = parseExposition(readFileSync(new URL(`${fixture}/metrics.golden.txt`, FIXTURES), 'utf8'));
    const samples = snapshotSamples(snap);

    it('yields exactly the golden families, in order, with their type and help', () => {
      const families = metricsOf(snap);
      expect(families.map((m) => m.name)).to.deep.equal(golden.map((f) => f.name));
      for (const [i, m] of families.entries()) {
        expect(m.type, m.name).to.equal(golden[i]!.type);
        expect(m.help, m.name).to.equal(golden[i]!.help);
      }
    });

    it('extracts the same samples: names, labels in order, values', () => {
      for (const f of golden) {
        const mine = samples.filter((s) => s.metric.name === f.name);
        expect(mine.map((s) => Object.entries(s.labels)), f.name).to.deep.equal(f.samples.map((s) => Object.entries(s.labels)));
        mine.forEach((s, i) => {
          const want = f.samples[i]!.value;
          if (want !== 'measured') expect(s.value, `${f.name}${JSON.stringify(s.labels)}`).to.equal(want);
        });
      }
      expect(samples.length).to.equal(golden.reduce((n, f) => n + f.samples.length, 0));
    });

    it('every metric declares the labels its samples carry, and a unit that matches its name', () => {
      for (const s of samples) {
        expect(Object.keys(s.labels), s.metric.name).to.deep.equal([...s.metric.labels]);
        if (s.metric.unit === 'seconds') expect(s.metric.name).to.match(/_seconds(_total)?$/);
        if (s.metric.unit === 'bytes') expect(s.metric.name).to.match(/_bytes(_total)?$/);
        expect(s.metric.type === 'counter', s.metric.name).to.equal(s.metric.name.endsWith('_total'));
      }
    });

    it('metricInfo knows every name by itself (generated families by their name)', () => {
      for (const f of golden) {
        const m = metricInfo(f.name);
        expect(m, f.name).to.not.equal(undefined);
        expect(m!.type, f.name).to.equal(f.type);
      }
      expect(metricInfo('perfwatch_vmstat_something_new_total')?.type).to.equal('counter');
      expect(metricInfo('perfwatch_memory_something_new_bytes')).to.include({ type: 'gauge', unit: 'bytes' });
      expect(metricInfo('node_cpu_seconds_total')).to.equal(undefined);
      expect(metricInfo("perfwatch_memory_x'; DROP TABLE hosts; --")).to.equal(undefined);
    });

    it('walking the stored shape finds the slot of every sample (the plan series queries use)', () => {
      const s = simulate(snap, 'plan-host', Date.UTC(2031, 0, 1), 2)[1]!;
      const enc = encodeSnapshot(s);
      const vals = decodeValues(enc.vals, enc.frags.length - 1, s.ts);
      const fromShape: { name: string; labels: object; value: number }[] = [];
      forEachSample(parseShape(enc.frags), (m, labels, v) => fromShape.push({ name: m.name, labels, value: v instanceof Slot ? vals[v.index]! : v }));
      expect(fromShape).to.deep.equal(snapshotSamples(s).map((x) => ({ name: x.metric.name, labels: x.labels, value: x.value })));
    });
  });
}

describe('catalog: perf families and derived metrics', () => {
  const perfSnap = {
    ...fixtureSnapshot('small', { compact: true }),
    perf: {
      ev: ['cpu-cycles', 'instructions', 'task-clock'],
      c: { '0': [1000, 2500, 1.5], '1': [null, 10, 0.25] },
      r: { '0': [1, 1, 1], '1': [null, 0.5, 1] },
      un: { 'cpu-cycles': 'not supported' },
      cg: { '/sys/fs/cgroup/web': { c: { '0': [10, 20, 0.01] }, r: { '0': [1, 1, 1] }, un: {} } },
    },
  } as Snapshot;

  it('per-CPU perf counters, scaling ratios, availability, cgroups (nulls yield nothing)', () => {
    const got = snapshotSamples(perfSnap).filter((s) => s.metric.name.startsWith('perfwatch_perf_'));
    const line = (s: (typeof got)[number]) => `${s.metric.name}${JSON.stringify(s.labels)} ${s.value}`;
    expect(got.map(line)).to.deep.equal([
      'perfwatch_perf_cpu_cycles_total{"cpu":"0"} 1000',
      'perfwatch_perf_instructions_total{"cpu":"0"} 2500',
      'perfwatch_perf_instructions_total{"cpu":"1"} 10',
      'perfwatch_perf_task_clock_seconds_total{"cpu":"0"} 1.5',
      'perfwatch_perf_task_clock_seconds_total{"cpu":"1"} 0.25',
      'perfwatch_perf_scaling_ratio{"event":"cpu-cycles","cpu":"0"} 1',
      'perfwatch_perf_scaling_ratio{"event":"instructions","cpu":"0"} 1',
      'perfwatch_perf_scaling_ratio{"event":"instructions","cpu":"1"} 0.5',
      'perfwatch_perf_scaling_ratio{"event":"task-clock","cpu":"0"} 1',
      'perfwatch_perf_scaling_ratio{"event":"task-clock","cpu":"1"} 1',
      'perfwatch_perf_event_available{"event":"cpu-cycles","reason":"not supported"} 0',
      'perfwatch_perf_event_available{"event":"instructions","reason":""} 1',
      'perfwatch_perf_event_available{"event":"task-clock","reason":""} 1',
      'perfwatch_perf_cgroup_cpu_cycles_total{"cgroup":"/sys/fs/cgroup/web","cpu":"0"} 10',
      'perfwatch_perf_cgroup_instructions_total{"cgroup":"/sys/fs/cgroup/web","cpu":"0"} 20',
      'perfwatch_perf_cgroup_task_clock_seconds_total{"cgroup":"/sys/fs/cgroup/web","cpu":"0"} 0.01',
      'perfwatch_perf_cgroup_scaling_ratio{"cgroup":"/sys/fs/cgroup/web","event":"cpu-cycles","cpu":"0"} 1',
      'perfwatch_perf_cgroup_scaling_ratio{"cgroup":"/sys/fs/cgroup/web","event":"instructions","cpu":"0"} 1',
      'perfwatch_perf_cgroup_scaling_ratio{"cgroup":"/sys/fs/cgroup/web","event":"task-clock","cpu":"0"} 1',
      'perfwatch_perf_cgroup_event_available{"cgroup":"/sys/fs/cgroup/web","event":"cpu-cycles","reason":""} 1',
      'perfwatch_perf_cgroup_event_available{"cgroup":"/sys/fs/cgroup/web","event":"instructions","reason":""} 1',
      'perfwatch_perf_cgroup_event_available{"cgroup":"/sys/fs/cgroup/web","event":"task-clock","reason":""} 1',
    ]);
    expect(metricInfo('perfwatch_perf_cpu_cycles_total')).to.include({ type: 'counter' });
    expect(metricInfo('perfwatch_perf_cgroup_instructions_total')!.labels).to.deep.equal(['cgroup', 'cpu']);
  });

  it('derived metrics are built from catalog metrics and the labels those carry', () => {
    const leaves = (e: Expr | number): Extract<Expr, { metric: string }>[] =>
      typeof e === 'number' ? [] : 'metric' in e ? [e] : [...leaves(e.left), ...leaves(e.right)];
    expect(DERIVED_METRICS.map((d) => d.name)).to.include.members([
      'perfwatch_cpu_utilisation_ratio', 'perfwatch_perf_instructions_per_cycle', 'perfwatch_perf_cache_miss_ratio',
      'perfwatch_perf_branch_miss_ratio', 'perfwatch_disk_utilisation_ratio', 'perfwatch_disk_read_latency_seconds',
      'perfwatch_disk_write_latency_seconds', 'perfwatch_memory_utilisation_ratio', 'perfwatch_filesystem_used_ratio',
    ]);
    for (const d of DERIVED_METRICS) {
      expect(metricInfo(d.name), `${d.name} must not shadow a catalog metric`).to.equal(undefined);
      for (const leaf of leaves(d.expr)) {
        const m = metricInfo(leaf.metric);
        expect(m, leaf.metric).to.not.equal(undefined);
        // a rate of a counter, or a gauge's value
        expect(m!.type, leaf.metric).to.equal(leaf.op === 'rate' ? 'counter' : 'gauge');
        for (const l of leaf.sumBy) expect(m!.labels, `${d.name}: ${leaf.metric} by ${l}`).to.include(l);
        expect(leaf.sumBy).to.deep.equal([...d.labels]);
      }
    }
    expect(FIXED_METRICS.length).to.be.greaterThan(50);
  });
});
