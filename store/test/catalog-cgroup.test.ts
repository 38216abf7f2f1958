/**
 * The cgroup and processes sections (#15) in the catalog: from each cgroup fixture tree's
 * snapshot.golden.json (exporter/test/cgroup-collector.test.ts) the catalog extracts exactly the
 * perfwatch_container_* families and samples of its metrics.golden.txt; every family's labels and
 * unit fit its name; and walking the stored shape (codec.ts, what series queries and rollups use)
 * finds every sample, the "other" group and a processes section included.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { decodeValues, encodeSnapshot, forEachSample, metricInfo, parseShape, Slot, snapshotSamples, type Snapshot } from '../src/index.js';
import { parseExposition } from './exposition.js';
import { FIXTURES, fixtureSnapshot, simulate } from './synth.js';

const isOurs = (name: string) => /^perfwatch_(container|process)_/.test(name);

for (const layout of ['v2', 'docker', 'k8s', 'v1'] as const) {
  describe(`catalog vs the cgroup fixture tree ${layout}`, () => {
    const snap = JSON.parse(readFileSync(new URL(`cgroups/${layout}/snapshot.golden.json`, FIXTURES), 'utf8')) as Snapshot;
    const golden = parseExposition(readFileSync(new URL(`cgroups/${layout}/metrics.golden.txt`, FIXTURES), 'utf8'));
    const samples = snapshotSamples(snap).filter((s) => isOurs(s.metric.name));

    it('yields the golden families and samples, in order, with their type and help', () => {
      const names = [...new Set(samples.map((s) => s.metric.name))];
      expect(names).to.deep.equal(golden.map((f) => f.name));
      for (const f of golden) {
        const mine = samples.filter((s) => s.metric.name === f.name);
        expect(mine[0]!.metric.type, f.name).to.equal(f.type);
        expect(mine[0]!.metric.help, f.name).to.equal(f.help);
        expect(mine.map((s) => [Object.entries(s.labels), s.value]), f.name).to.deep.equal(f.samples.map((x) => [Object.entries(x.labels), x.value]));
      }
    });

    it('labels as declared, units that match the names, counters end in _total; metricInfo knows each name', () => {
      for (const s of samples) {
        expect(Object.keys(s.labels), s.metric.name).to.deep.equal([...s.metric.labels]);
        if (s.metric.unit === 'seconds') expect(s.metric.name).to.match(/_seconds(_total)?$/);
        if (s.metric.unit === 'bytes') expect(s.metric.name).to.match(/_bytes(_total)?$/);
        expect(s.metric.type === 'counter', s.metric.name).to.equal(s.metric.name.endsWith('_total'));
        expect(metricInfo(s.metric.name)).to.equal(s.metric);
      }
    });
  });
}

describe('cgroup and processes sections as a stored shape', () => {
  it('walking the shape finds the slot of every sample ("other" and procs included)', () => {
    const cg = JSON.parse(readFileSync(new URL('cgroups/docker/snapshot.golden.json', FIXTURES), 'utf8')) as Snapshot;
    const [base] = simulate(fixtureSnapshot('small', { compact: true }), 'shape-host', Date.UTC(2031, 0, 1), 1) as [Snapshot];
    const s: Snapshot = {
      ...base,
      cgroups: { ...cg.cgroups!, o: 2, g: { ...cg.cgroups!.g, other: { cpu: [1.5, 0.5], cpuu: 2, mem: 4096, io: { sda: [1, 2, 3, 4] } } } },
      procs: {
        n: 3, ng: 2,
        g: [
          { c: 'nginx', cg: '/system.slice/nginx.service', cpu: [4, 0.6], rss: 12288000, n: 2, thr: 4, swap: 0, io: [4096, 12288] },
          { c: 'tmux: a) b', cg: '/user.slice', cpu: [0.01, 0.01], rss: 20480, n: 1, thr: 1 },
        ],
      },
    };
    const enc = encodeSnapshot(s);
    const vals = decodeValues(enc.vals, enc.frags.length - 1, s.ts);
    const fromShape: { name: string; labels: object; value: number }[] = [];
    forEachSample(parseShape(enc.frags), (m, labels, v) => fromShape.push({ name: m.name, labels, value: v instanceof Slot ? vals[v.index]! : v }));
    const want = snapshotSamples(s).map((x) => ({ name: x.metric.name, labels: x.labels, value: x.value }));
    expect(fromShape).to.deep.equal(want);
    const ours = want.filter((x) => isOurs(x.name));
    expect(ours.filter((x) => (x.labels as { cgroup?: string }).cgroup === 'other').map((x) => x.name)).to.include.members([
      'perfwatch_container_cpu_user_seconds_total', 'perfwatch_container_cpu_usage_seconds_total', 'perfwatch_container_memory_usage_bytes', 'perfwatch_container_fs_reads_bytes_total',
    ]);
    expect(ours.filter((x) => x.name === 'perfwatch_process_cpu_seconds_total')).to.have.length(4);
    expect(ours.find((x) => x.name === 'perfwatch_process_read_bytes_total')).to.deep.include({ labels: { comm: 'nginx', cgroup: '/system.slice/nginx.service' }, value: 4096 });
  });
});
