/**
 * Raw sample reads restricted to windows (readRawSamples' `spans`, what a range function reads when
 * its steps are longer than its window): exactly the samples of the full read that lie inside one
 * of the windows (lo, hi], also where a window crosses the boundary of two 6-hour read slices, and
 * none for windows outside the data.
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
});
