/**
 * Raw sample reads restricted to windows (readRawSamples' `spans`, what a range function reads when
 * its steps are longer than its window): exactly the samples of the full read that lie inside one
 * of the windows (lo, hi], also where a window crosses the boundary of two 6-hour read slices, and
 * none for windows outside the data. And a short read of many hosts (fetched a statement per 250
 * hosts) gives every host exactly what reading it alone gives, staleness ends included.
 */
import { expect } from 'chai';
import { insertSnapshots, readRawSamples, type RawSeries } from '../src/index.js';
import { testSchema, type TestSchema } from './helpers.js';
import { fixtureSnapshot, simulate } from './synth.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2031, 8, 1, 0, 0, 0);

describe('raw samples in windows', function () {
  this.timeout(120_000);
  let t: TestSchema;

  before(async () => {
    t = await testSchema({ migrate: true });
    for (const [host, seed] of [['w1', 1], ['w2', 2]] as const) {
      const snaps = simulate(fixtureSnapshot('small', { compact: true }), host, T0, 24 * 60, { intervalMs: MIN, seed });
      for (let i = 0; i < snaps.length; i += 500) await insertSnapshots(t.pool, snaps.slice(i, i + 500));
    }
  });
  after(async () => {
    await t.drop();
  });

  const sel = { metric: 'perfwatch_cpu_seconds_total', match: (_: string, l: Record<string, string>) => l.mode === 'user' };
  const key = (s: RawSeries) => JSON.stringify(s.labels);

  it('gives exactly the samples of the full read inside the windows (lo, hi]', async () => {
    const spans: [number, number][] = [
      [T0 - HOUR, T0 + 2 * MIN], // starts before the data: T0, T0+1m, T0+2m
      [T0 + 5 * HOUR + 50 * MIN, T0 + 6 * HOUR + 10 * MIN], // across the first 6-hour slice's end
      [T0 + 20 * HOUR, T0 + 20 * HOUR + 3 * MIN], // (lo, hi]: not the sample at lo
      [T0 + 30 * HOUR, T0 + 31 * HOUR], // after the data
    ];
    const from = T0 - HOUR;
    const to = T0 + 31 * HOUR;
    const full = await readRawSamples(t.pool, sel, from, to);
    const some = await readRawSamples(t.pool, sel, from, to, Infinity, { spans });
    expect(full.map(key)).to.have.length(4); // 2 hosts x 2 CPUs
    expect(some.map(key).sort()).to.deep.equal(full.map(key).sort());
    const inside = (ts: number) => spans.some(([lo, hi]) => ts > lo && ts <= hi);
    for (const f of full) {
      const s = some.find((x) => key(x) === key(f))!;
      const want = f.t.map((ts, i) => [ts, f.v[i]!] as const).filter(([ts]) => inside(ts));
      expect(want.length).to.equal(3 + 20 + 3);
      expect(s.t.map((ts, i) => [ts, s.v[i]!])).to.deep.equal(want);
    }
  });

  it('no window inside the data: no samples', async () => {
    const r = await readRawSamples(t.pool, sel, T0 - 3 * HOUR, T0 + 48 * HOUR, Infinity, { spans: [[T0 - 2 * HOUR, T0 - HOUR], [T0 + 30 * HOUR, T0 + 31 * HOUR]] });
    expect(r).to.deep.equal([]);
  });

  it('many hosts over a short range: each host as when read alone, staleness included', async () => {
    const hosts = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    const start = T0 + 2 * 24 * HOUR;
    for (const [i, host] of hosts.entries()) {
      // host m05 stops 10 minutes early (an outage at the end: its series go stale)
      const n = host === 'm05' ? 20 : 30;
      await insertSnapshots(t.pool, simulate(fixtureSnapshot('small', { compact: true }), host, start + i * 1000, n, { intervalMs: MIN, seed: 10 + i }));
    }
    const many = { metric: 'perfwatch_load_average_1m', match: () => true };
    const opts = { staleness: true, now: start + 2 * HOUR };
    const all = await readRawSamples(t.pool, many, start, start + 40 * MIN, Infinity, opts);
    expect(all.map((s) => s.labels.host).sort()).to.deep.equal(hosts);
    for (const host of hosts) {
      const alone = await readRawSamples(t.pool, { ...many, host: (h: string) => h === host }, start, start + 40 * MIN, Infinity, opts);
      expect(alone).to.have.length(1);
      const mine = all.find((s) => s.labels.host === host)!;
      expect({ t: mine.t, v: mine.v, end: mine.end }).to.deep.equal({ t: alone[0]!.t, v: alone[0]!.v, end: alone[0]!.end });
      expect(mine.t).to.have.length(host === 'm05' ? 20 : 30);
    }
    // m05's last sample goes stale one interval (the snapshots' `iv`) after it: it wrote nothing more
    const m05 = all.find((s) => s.labels.host === 'm05')!;
    expect(m05.end!.at(-1)).to.equal(m05.t.at(-1)! + fixtureSnapshot('small', { compact: true }).iv * 1000);
  });

  it('many hosts, packed reads cut to the slots wanted (a prefix, or the payloads alone where the headers are known): each host as read alone, for one metric, every metric, a changed shape and JSONB rows, picks kept by key', async () => {
    const hosts = Array.from({ length: 10 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    const start = T0 + 4 * 24 * HOUR;
    for (const [i, host] of hosts.entries()) {
      const snaps = simulate(fixtureSnapshot('small', { compact: true }), host, start + i * 1000, 30, { intervalMs: MIN, seed: 40 + i });
      // p03: a collector error for 5 minutes (another shape, with another slot count, mid-range)
      if (host === 'p03') for (const s of snaps.slice(10, 15)) s.col.cpu = { ok: false, s: 0.25, err: 'read /proc/stat: EIO' };
      await insertSnapshots(t.pool, snaps);
    }
    // p09: rows stored as JSONB before migration 0003 after its first snapshot
    const legacy = simulate(fixtureSnapshot('small', { compact: true }), 'p09', start + 9 * 1000 + 30 * MIN, 5, { intervalMs: MIN, seed: 49 });
    for (const s of legacy) {
      await t.pool.query(`INSERT INTO snapshots (host_id, ts, data_v1) SELECT id, $1::timestamptz, $2::jsonb FROM hosts WHERE name = 'p09'`, [new Date(s.ts).toISOString(), JSON.stringify(s)]);
    }
    await t.pool.query(`UPDATE hosts SET last_seen = $1 WHERE name = 'p09'`, [new Date(legacy.at(-1)!.ts)]);
    // (Keys: the second read of each takes the picks of the first.)
    const selectors = [
      { metric: 'perfwatch_cpu_seconds_total', match: () => true, key: 'cpu' },
      { metric: (n: string) => n.startsWith('perfwatch_'), match: () => true },
      { metric: 'perfwatch_scrape_collector_duration_seconds', match: (_: string, l: Record<string, string>) => l.collector === 'cpu' || l.host === 'p01', key: 'durations' },
    ];
    // Each read twice: the first learns the shapes' headers (rows come cut to a prefix), the second
    // sends them (rows whose headers are the same come as their wanted payloads alone).
    for (const staleness of [false, false, true, true]) {
      for (const sel of selectors) {
        const opts = { staleness, now: start + 2 * HOUR };
        const all = await readRawSamples(t.pool, sel, start, start + 40 * MIN, Infinity, opts);
        expect(new Set(all.map((s) => s.labels.host))).to.have.property('size', hosts.length);
        // The same as Float64Array columns (the evaluator's reads).
        const typed = await readRawSamples(t.pool, sel, start, start + 40 * MIN, Infinity, { ...opts, typed: true });
        expect(typed.map((s) => ({ labels: s.labels, t: Array.from(s.t), v: Array.from(s.v), end: s.end && Array.from(s.end) }))).to.deep.equal(
          all.map((s) => ({ labels: s.labels, t: s.t, v: s.v, end: s.end })),
        );
        for (const host of hosts) {
          const alone = await readRawSamples(t.pool, { ...sel, host: (h: string) => h === host }, start, start + 40 * MIN, Infinity, opts);
          const mine = all.filter((s) => s.labels.host === host);
          expect(mine.map(key).sort(), host).to.deep.equal(alone.map(key).sort());
          for (const a of alone) {
            const m = mine.find((x) => key(x) === key(a) && x.metric.name === a.metric.name)!;
            expect({ t: m.t, v: m.v, end: m.end }, `${host} ${key(a)}`).to.deep.equal({ t: a.t, v: a.v, end: a.end });
          }
        }
        if (sel === selectors[0]) expect(all.find((s) => s.labels.host === 'p09')!.t).to.have.length(35);
      }
    }
  });
});
