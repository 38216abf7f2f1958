/**
 * The gap index (gap-index.ts, #16): the gap search answers the same with the index as by walking
 * every snapshot, for ranges inside, across and past what the index covers, explicit and default
 * thresholds, open gaps, and after a spool replay lands inside a covered gap (insertSnapshots moves
 * covered_to back; the next run redoes it). Before covered_to the answer comes from the rows alone.
 */
import { expect } from 'chai';
import { insertSnapshots, snapshotGaps, updateGapIndex, type HostGap, type Snapshot } from '../src/index.js';
import { fakeSnapshot, testSchema, type TestSchema } from './helpers.js';

const S = 1000;
const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2031, 5, 1, 0, 0, 0);

/** Every 5 s from `from` for `n` snapshots. */
const every5s = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i * 5 * S);
const snaps = (host: string, times: number[]): Snapshot[] => times.map((ts, i) => fakeSnapshot(host, ts, i));

describe('gap index', function () {
  this.timeout(60_000);
  let t: TestSchema;
  const NOW = T0 + 10 * HOUR;

  /** The search without the index: its coverage set aside for the call, then put back. */
  async function walked(q: Parameters<typeof snapshotGaps>[1]): Promise<HostGap[]> {
    const saved = await t.pool.query<{ host_id: number; covered_to: Date }>('SELECT host_id, covered_to FROM gap_watermarks');
    await t.pool.query(`UPDATE gap_watermarks SET covered_to = '-infinity'`);
    try {
      return await snapshotGaps(t.pool, q);
    } finally {
      for (const w of saved.rows) await t.pool.query('UPDATE gap_watermarks SET covered_to = $2 WHERE host_id = $1', [w.host_id, w.covered_to]);
    }
  }

  before(async () => {
    t = await testSchema({ migrate: true, prefix: 'gapidx' });
    // "a": 5 s for 1 h, silent 10 min, 5 s for 2 h, silent 40 s, 5 s for 5 h, then silent to the end.
    const a = [...every5s(T0, 720), ...every5s(T0 + 70 * MIN, 1440), ...every5s(T0 + 190 * MIN + 40 * S, 3600)];
    // "b": every 60 s for 9 h, one missing at 4 h (a 2-minute spacing), a 30-minute hole at 6 h.
    const b = Array.from({ length: 540 }, (_, i) => T0 + i * MIN).filter((ts) => ts !== T0 + 4 * HOUR && !(ts > T0 + 6 * HOUR && ts < T0 + 6 * HOUR + 30 * MIN));
    // "c": 5 s for the first hour only, then silent: long before covered_to (the search walks it
    // from its last snapshot on its own).
    const c = every5s(T0, 720);
    for (const batch of [snaps('a', a), snaps('b', b), snaps('c', c)]) for (let i = 0; i < batch.length; i += 500) await insertSnapshots(t.pool, batch.slice(i, i + 500));
  });

  it('indexes up to now - grace and answers as the walk does, inside, across and past the coverage', async () => {
    const r = await updateGapIndex(t.pool, { now: NOW - 3 * HOUR, stepMs: 2 * HOUR });
    expect(r.hosts).to.equal(3);
    const rows = await t.pool.query<{ host_id: number; n: number }>('SELECT host_id, count(*)::int AS n FROM snapshot_gaps GROUP BY host_id ORDER BY host_id');
    // a: the 10-minute and the 40-second silences; b: every spacing of 60 s is above 10 s... but
    // its threshold is 2 x 60 s: the 2-minute spacing is not above it, the 30-minute hole is.
    expect(rows.rows.map((x) => x.n)).to.deep.equal([2, 1]);
    const ranges: [number, number][] = [
      [T0, NOW],
      [T0 + 30 * MIN, T0 + 75 * MIN],
      [T0 + 65 * MIN, T0 + 9 * HOUR],
      [T0 + 6 * HOUR + 10 * MIN, T0 + 6 * HOUR + 20 * MIN],
      [T0 + 8 * HOUR, NOW],
    ];
    for (const [from, to] of ranges) {
      for (const minGapMs of [undefined, 30 * S, 90 * S, 5 * MIN]) {
        const q = { hosts: 'all' as const, from, to, now: NOW, ...(minGapMs ? { minGapMs } : {}) };
        const indexed = await snapshotGaps(t.pool, q);
        expect(indexed, `${new Date(from).toISOString()}..${new Date(to).toISOString()} minGap ${minGapMs}`).to.deep.equal(await walked(q));
      }
    }
  });

  it('a replay inside a covered gap moves covered_to back; the next run splits the gap', async () => {
    const before = await t.pool.query<{ c: Date }>(`SELECT covered_to AS c FROM gap_watermarks WHERE host_id = (SELECT id FROM hosts WHERE name = 'b')`);
    // Snapshots of b inside its 30-minute hole, written late (as a spool replay would).
    await insertSnapshots(t.pool, snaps('b', [T0 + 6 * HOUR + 15 * MIN]));
    const after = await t.pool.query<{ c: Date }>(`SELECT covered_to AS c FROM gap_watermarks WHERE host_id = (SELECT id FROM hosts WHERE name = 'b')`);
    expect(after.rows[0]!.c.getTime()).to.equal(T0 + 6 * HOUR + 15 * MIN);
    expect(after.rows[0]!.c.getTime()).to.be.below(before.rows[0]!.c.getTime());
    const q = { hosts: ['b'], from: T0 + 5 * HOUR, to: T0 + 8 * HOUR, now: NOW };
    // Before the run: the rows past covered_to are not trusted, the walk covers them.
    expect(await snapshotGaps(t.pool, q)).to.deep.equal(await walked(q));
    await updateGapIndex(t.pool, { now: NOW - 3 * HOUR });
    const gaps = await snapshotGaps(t.pool, q);
    expect(gaps.map((g) => [g.from - T0, g.to - T0])).to.deep.equal([
      [6 * HOUR, 6 * HOUR + 15 * MIN],
      [6 * HOUR + 15 * MIN, 6 * HOUR + 30 * MIN],
    ]);
    expect(gaps).to.deep.equal(await walked(q));
  });

  it('reads the gaps before covered_to from the index alone, not from the snapshots', async () => {
    // Snapshots of a deleted from 30 min to its 10-minute silence: a walk would now find a gap from
    // 30 min; the index keeps the one it recorded, so the answer shows it came from the rows.
    await t.pool.query(`DELETE FROM snapshots WHERE host_id = (SELECT id FROM hosts WHERE name = 'a') AND ts > $1 AND ts < $2`, [new Date(T0 + 30 * MIN), new Date(T0 + 70 * MIN)]);
    const q = { hosts: ['a'], from: T0 + 62 * MIN, to: T0 + 75 * MIN, now: NOW };
    const span = (gaps: HostGap[]) => gaps.map((g) => [g.from - T0, g.to - T0]);
    expect(span(await snapshotGaps(t.pool, q))).to.deep.equal([[3595 * S, 70 * MIN]]);
    expect(span(await walked(q))).to.deep.equal([[30 * MIN, 70 * MIN]]);
    // A range up to now takes the fast path (the interval and last snapshot kept by the index run):
    // the same gap, from the rows.
    const kept = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM gap_watermarks WHERE last_ts IS NOT NULL AND interval_ms IS NOT NULL');
    expect(kept.rows[0]!.n).to.equal(3);
    expect(span(await snapshotGaps(t.pool, { ...q, to: NOW }))[0]).to.deep.equal([3595 * S, 70 * MIN]);
  });
});
