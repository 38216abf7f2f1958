/**
 * Rollup tiers against the same aggregates computed directly from the raw snapshots (in
 * TypeScript, through the catalog over the snapshot objects: not the code under test), counter
 * resets, idempotent re-runs, catch-up after a gap in bounded steps, late data, the run lock,
 * and a failing host recorded without stopping the others.
 */
import { expect } from 'chai';
import type pg from 'pg';
import { insertSnapshots, labelsKey, MAX_PAIR_GAP_MS, runRollups, snapshotSamples, type Snapshot } from '../src/index.js';
import { fakeSnapshot, testSchema, type TestSchema } from './helpers.js';
import { fixtureSnapshot, simulate } from './synth.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

interface Bucket {
  n: number;
  v1: number;
  v2: number;
  v3: number;
}

/**
 * The buckets a tier must hold, straight from the snapshots: gauges avg/min/max, counters
 * first/last/increase (pairs whose later sample is in the bucket and at most MAX_PAIR_GAP_MS
 * after the earlier one, resets counting from zero).
 */
export function expectedBuckets(snaps: readonly Snapshot[], bucketMs: number, from: number, to: number): Map<string, Map<number, Bucket>> {
  const out = new Map<string, Map<number, Bucket>>();
  const prev = new Map<string, [number, number]>();
  const sums = new Map<string, Map<number, number>>();
  for (const s of [...snaps].sort((a, b) => a.ts - b.ts)) {
    for (const x of snapshotSamples(s)) {
      const key = `${x.metric.name} ${labelsKey(x.labels)}`;
      const pp = prev.get(key);
      prev.set(key, [s.ts, x.value]);
      const p = pp && s.ts - pp[0] <= MAX_PAIR_GAP_MS ? pp[1] : undefined;
      if (s.ts < from || s.ts >= to) continue;
      const b = Math.floor(s.ts / bucketMs) * bucketMs;
      let m = out.get(key);
      if (!m) out.set(key, (m = new Map()));
      const cur = m.get(b);
      if (x.metric.type === 'counter') {
        const inc = p === undefined ? 0 : x.value >= p ? x.value - p : x.value;
        if (!cur) m.set(b, { n: 1, v1: x.value, v2: x.value, v3: inc });
        else Object.assign(cur, { n: cur.n + 1, v2: x.value, v3: cur.v3 + inc });
      } else {
        let sm = sums.get(key);
        if (!sm) sums.set(key, (sm = new Map()));
        sm.set(b, (sm.get(b) ?? 0) + x.value);
        if (!cur) m.set(b, { n: 1, v1: 0, v2: x.value, v3: x.value });
        else Object.assign(cur, { n: cur.n + 1, v2: Math.min(cur.v2, x.value), v3: Math.max(cur.v3, x.value) });
      }
    }
  }
  for (const [key, sm] of sums) for (const [b, sum] of sm) out.get(key)!.get(b)!.v1 = sum / out.get(key)!.get(b)!.n;
  return out;
}

/** What a tier holds for a host, decoded in SQL (rollup_counts / rollup_values of migration 0004). */
export async function storedBuckets(pool: pg.Pool, tier: '1m' | '1h', host: string): Promise<Map<string, Map<number, Bucket>>> {
  const table = tier === '1m' ? 'rollups_1m' : 'rollups_1h';
  const bucketMs = tier === '1m' ? MIN : HOUR;
  const r = await pool.query<{ metric: string; labels: Record<string, string>; ms: number; n: number[]; v1: (number | null)[]; v2: (number | null)[]; v3: (number | null)[] }>(
    `SELECT s.metric, s.labels, (extract(epoch FROM r.start) * 1000)::float8 AS ms,
            rollup_counts(r.n, $2) AS n, rollup_values(r.v1, $2) AS v1, rollup_values(r.v2, $2) AS v2, rollup_values(r.v3, $2) AS v3
       FROM ${table} r JOIN series s ON s.id = r.series_id JOIN hosts h ON h.id = r.host_id
      WHERE h.name = $1`,
    [host, tier === '1m' ? 60 : 24],
  );
  const out = new Map<string, Map<number, Bucket>>();
  for (const row of r.rows) {
    const key = `${row.metric} ${labelsKey(row.labels)}`;
    let m = out.get(key);
    if (!m) out.set(key, (m = new Map()));
    row.n.forEach((n, i) => {
      if (n > 0) m.set(row.ms + i * bucketMs, { n, v1: row.v1[i]!, v2: row.v2[i]!, v3: row.v3[i]! });
      else expect(row.v1[i], 'an empty bucket holds NaN (NULL in SQL)').to.equal(null);
    });
  }
  return out;
}

function expectSame(got: Map<string, Map<number, Bucket>>, want: Map<string, Map<number, Bucket>>): void {
  expect([...got.keys()].sort()).to.deep.equal([...want.keys()].sort());
  for (const [key, wm] of want) {
    const gm = got.get(key)!;
    expect([...gm.keys()].sort(), key).to.deep.equal([...wm.keys()].sort());
    for (const [b, w] of wm) {
      const g = gm.get(b)!;
      const where = `${key} @ ${new Date(b).toISOString()}`;
      expect(g.n, where).to.equal(w.n);
      for (const f of ['v1', 'v2', 'v3'] as const) expect(g[f], `${where} ${f}`).to.be.closeTo(w[f], Math.abs(w[f]) * 1e-12 + 1e-9);
    }
  }
}

async function insertAll(pool: pg.Pool, snaps: readonly Snapshot[]): Promise<void> {
  for (let i = 0; i < snaps.length; i += 200) await insertSnapshots(pool, snaps.slice(i, i + 200));
}

async function watermark(pool: pg.Pool, host: string, tier: string): Promise<number | undefined> {
  const r = await pool.query<{ ms: number }>(
    `SELECT (extract(epoch FROM w.watermark) * 1000)::float8 AS ms FROM rollup_watermarks w JOIN hosts h ON h.id = w.host_id WHERE h.name = $1 AND w.tier = $2`,
    [host, tier],
  );
  return r.rows[0]?.ms;
}

async function tableDigest(pool: pg.Pool, table: 'rollups_1m' | 'rollups_1h'): Promise<string> {
  const r = await pool.query<{ d: string; n: number }>(`SELECT md5(string_agg(host_id || ' ' || series_id || ' ' || start || encode(n || v1 || v2 || v3, 'hex'), ',' ORDER BY host_id, series_id, start)) AS d, count(*)::int AS n FROM ${table}`);
  return `${r.rows[0]!.n} ${r.rows[0]!.d}`;
}

describe('rollups', function () {
  this.timeout(120_000);
  let t: TestSchema;
  const T0 = Date.UTC(2031, 2, 10, 22, 0, 0);
  let a: Snapshot[];

  before(async () => {
    t = await testSchema({ migrate: true });
    // 2.5 hours at 5 s: blocks 22:00, 23:00 (to midnight: two day partitions of rollups_1m) and half of 00:00.
    a = simulate(fixtureSnapshot('small'), 'a', T0, 1800);
    await insertAll(t.pool, a);
  });
  after(async () => {
    await t.drop();
  });

  it('1m buckets equal the aggregates computed from the raw snapshots (every series, every bucket)', async () => {
    const r = await runRollups(t.pool, { tier: '1m', now: T0 + 3 * HOUR + 2 * MIN, hostIds: undefined });
    expect(r).to.include({ ran: true, blocks: 3, behind: 0 });
    expect(r.failures).to.deep.equal([]);
    expectSame(await storedBuckets(t.pool, '1m', 'a'), expectedBuckets(a, MIN, T0, T0 + 3 * HOUR));
    expect(await watermark(t.pool, 'a', '1m')).to.equal(T0 + 3 * HOUR);
    // Constant columns are stored as one bucket: a complete block's counts, a constant gauge.
    const c = await t.pool.query(
      `SELECT length(r.n) AS n, length(r.v1) AS v1, length(r.v2) AS v2 FROM rollups_1m r JOIN series s ON s.id = r.series_id
        WHERE s.metric = 'perfwatch_memory_mem_total_bytes' AND r.start = $1`,
      [new Date(T0)],
    );
    expect(c.rows).to.deep.equal([{ n: 2, v1: 8, v2: 8 }]);
  });

  it('a block is rolled up only once it is complete plus the grace period', async () => {
    const b = simulate(fixtureSnapshot('small', { compact: true }), 'grace', T0, 24);
    await insertAll(t.pool, b);
    const id = (await t.pool.query(`SELECT id FROM hosts WHERE name = 'grace'`)).rows[0].id as number;
    expect((await runRollups(t.pool, { tier: '1m', now: T0 + HOUR + MIN, graceMs: 2 * MIN, hostIds: [id] })).blocks).to.equal(0);
    expect((await runRollups(t.pool, { tier: '1m', now: T0 + HOUR + 2 * MIN, graceMs: 2 * MIN, hostIds: [id] })).blocks).to.equal(1);
  });

  it('re-running gives the same rows; a run with nothing due writes nothing', async () => {
    const before = await tableDigest(t.pool, 'rollups_1m');
    expect(await runRollups(t.pool, { tier: '1m', now: T0 + 3 * HOUR + 2 * MIN })).to.include({ blocks: 0 });
    await t.pool.query(`UPDATE rollup_watermarks SET watermark = $1 WHERE tier = '1m'`, [new Date(T0)]);
    const again = await runRollups(t.pool, { tier: '1m', now: T0 + 3 * HOUR + 2 * MIN });
    expect(again.blocks).to.be.greaterThan(0);
    expect(await tableDigest(t.pool, 'rollups_1m')).to.equal(before);
  });

  it('a counter that resets mid-bucket: the increase counts from zero after the reset', async () => {
    const t1 = Date.UTC(2031, 2, 12, 10, 0, 0);
    const values = [100, 200, 300, 50, 80, 130, 10, 20, 30, 40, 50, 60];
    const snaps = values.map((v, i) => ({ ...fakeSnapshot('reset', t1 + i * 5_000, i), cpu: { t: {}, ctxt: v } }) as Snapshot);
    snaps.unshift({ ...fakeSnapshot('reset', t1 - 5_000, 0), cpu: { t: {}, ctxt: 90 } } as Snapshot);
    await insertAll(t.pool, snaps);
    const id = (await t.pool.query(`SELECT id FROM hosts WHERE name = 'reset'`)).rows[0].id as number;
    await runRollups(t.pool, { tier: '1m', now: t1 + 2 * HOUR, hostIds: [id] });
    const got = (await storedBuckets(t.pool, '1m', 'reset')).get(`perfwatch_system_context_switches_total ${labelsKey({})}`)!;
    // 90 -> 100 (+10, the pair reaching back into the previous minute), +100, +100, reset to 50 (+50), +30, +50, reset (+10), +10 x 5
    expect(got.get(t1)).to.deep.equal({ n: 12, v1: 100, v2: 60, v3: 10 + 100 + 100 + 50 + 30 + 50 + 10 + 50 });
    expect(got.get(t1 - MIN)).to.deep.equal({ n: 1, v1: 90, v2: 90, v3: 0 });
  });

  it('1h buckets (from the 1m tier) equal the aggregates computed from the raw snapshots', async () => {
    const t1 = Date.UTC(2031, 2, 20, 21, 0, 0);
    // 27 hours at 60 s: two UTC days, the first of them only partly.
    const snaps = simulate(fixtureSnapshot('small'), 'hourly', t1, 27 * 60, { intervalMs: MIN, seed: 7 });
    await insertAll(t.pool, snaps);
    const id = (await t.pool.query(`SELECT id FROM hosts WHERE name = 'hourly'`)).rows[0].id as number;
    const now = t1 + 3 * DAY;
    while ((await runRollups(t.pool, { tier: '1m', now, hostIds: [id] })).behind);
    const r = await runRollups(t.pool, { tier: '1h', now, hostIds: [id] });
    expect(r.blocks).to.equal(2);
    expectSame(await storedBuckets(t.pool, '1h', 'hourly'), expectedBuckets(snaps, HOUR, t1, t1 + 2 * DAY));
    // Past the data: days without any are skipped up to what is due.
    expect(await watermark(t.pool, 'hourly', '1h')).to.equal(Math.floor((now - 120_000) / DAY) * DAY);
  });

  it('the 1h tier never runs ahead of the 1m tier', async () => {
    const t1 = Date.UTC(2031, 3, 1, 0, 0, 0);
    await insertAll(t.pool, simulate(fixtureSnapshot('small', { compact: true }), 'lagging', t1, 26 * 60, { intervalMs: MIN }));
    const id = (await t.pool.query(`SELECT id FROM hosts WHERE name = 'lagging'`)).rows[0].id as number;
    const now = t1 + 5 * DAY;
    expect((await runRollups(t.pool, { tier: '1h', now, hostIds: [id] })).blocks).to.equal(0);
    await runRollups(t.pool, { tier: '1m', now: t1 + 20 * HOUR, hostIds: [id] });
    expect((await runRollups(t.pool, { tier: '1h', now, hostIds: [id] })).blocks).to.equal(0);
    await runRollups(t.pool, { tier: '1m', now, hostIds: [id] });
    // Both days: the 1m tier is past the second one (its last data at 02:00), so it is complete.
    expect((await runRollups(t.pool, { tier: '1h', now, hostIds: [id] })).blocks).to.equal(2);
  });

  it('catches up after downtime in bounded steps, skipping a gap without data', async () => {
    const t1 = Date.UTC(2031, 5, 1, 0, 0, 0);
    // 6 hours of data, 30 hours of nothing, 3 hours of data (60 s interval).
    const first = simulate(fixtureSnapshot('small', { compact: true }), 'gap', t1, 6 * 60, { intervalMs: MIN });
    const second = simulate(fixtureSnapshot('small', { compact: true }), 'gap', t1 + 36 * HOUR, 3 * 60, { intervalMs: MIN, seed: 3 });
    await insertAll(t.pool, [...first, ...second]);
    const id = (await t.pool.query(`SELECT id FROM hosts WHERE name = 'gap'`)).rows[0].id as number;
    const now = t1 + 3 * DAY;
    const runs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await runRollups(t.pool, { tier: '1m', now, maxBuckets: 120, hostIds: [id] });
      runs.push(r.blocks);
      if (!r.behind) break;
    }
    expect(runs).to.deep.equal([2, 2, 2, 2, 1]);
    expect(await watermark(t.pool, 'gap', '1m')).to.equal(Math.floor((now - 120_000) / HOUR) * HOUR);
    const blocks = await t.pool.query(`SELECT DISTINCT (extract(epoch FROM start) * 1000)::float8 AS ms FROM rollups_1m r JOIN hosts h ON h.id = r.host_id WHERE h.name = 'gap' ORDER BY 1`);
    expect(blocks.rows.map((x) => (x.ms - t1) / HOUR)).to.deep.equal([0, 1, 2, 3, 4, 5, 36, 37, 38]);
    expectSame(await storedBuckets(t.pool, '1m', 'gap'), expectedBuckets([...first, ...second], MIN, t1, now));
  });

  it('late snapshots (a spool replay) move the watermarks back; the next run redoes those blocks', async () => {
    const t1 = Date.UTC(2031, 6, 1, 0, 0, 0);
    const all = simulate(fixtureSnapshot('small', { compact: true }), 'late', t1, 3 * 360, { intervalMs: 10_000 });
    const early = all.filter((_, i) => i % 2 === 0);
    const late = all.filter((_, i) => i % 2 === 1 && i < 360);
    await insertAll(t.pool, early);
    const id = (await t.pool.query(`SELECT id FROM hosts WHERE name = 'late'`)).rows[0].id as number;
    const now = t1 + 4 * HOUR;
    await runRollups(t.pool, { tier: '1m', now, hostIds: [id] });
    expect(await watermark(t.pool, 'late', '1m')).to.equal(t1 + 3 * HOUR);
    await insertAll(t.pool, late);
    expect(await watermark(t.pool, 'late', '1m')).to.equal(late[0]!.ts);
    expect((await runRollups(t.pool, { tier: '1m', now, hostIds: [id] })).blocks).to.equal(3);
    expectSame(await storedBuckets(t.pool, '1m', 'late'), expectedBuckets([...early, ...late], MIN, t1, now));
  });

  it('one run per tier at a time: a second caller returns without doing anything', async () => {
    const c = await t.pool.connect();
    try {
      await c.query(`SELECT pg_advisory_lock(hashtext('perfwatch.rollups.' || '1m'), hashtext($1))`, [t.schema]);
      expect(await runRollups(t.pool, { tier: '1m', now: T0 + 10 * DAY })).to.deep.include({ ran: false, blocks: 0 });
      await c.query(`SELECT pg_advisory_unlock(hashtext('perfwatch.rollups.' || '1m'), hashtext($1))`, [t.schema]);
    } finally {
      c.release();
    }
  });

  it('a host that fails is recorded (last_error) and the others are rolled up', async () => {
    const t1 = Date.UTC(2031, 7, 1, 0, 0, 0);
    await insertAll(t.pool, simulate(fixtureSnapshot('small', { compact: true }), 'broken', t1, 30, { intervalMs: MIN }));
    await insertAll(t.pool, simulate(fixtureSnapshot('small', { compact: true }), 'fine', t1, 30, { intervalMs: MIN }));
    // A row whose shape does not exist cannot be decoded.
    await t.pool.query(`UPDATE snapshots s SET shape_id = -42 FROM hosts h WHERE h.id = s.host_id AND h.name = 'broken' AND s.ts = $1`, [new Date(t1 + 5 * MIN)]);
    const ids = (await t.pool.query(`SELECT id FROM hosts WHERE name IN ('broken', 'fine') ORDER BY name`)).rows.map((x) => x.id as number);
    const r = await runRollups(t.pool, { tier: '1m', now: t1 + 2 * HOUR, hostIds: ids });
    expect(r.failures.map((f) => f.hostId)).to.deep.equal([ids[0]]);
    expect(r.failures[0]!.error).to.match(/shape/);
    expect(r.blocks).to.equal(1);
    const w = await t.pool.query(`SELECT h.name, w.last_error FROM rollup_watermarks w JOIN hosts h ON h.id = w.host_id WHERE h.name IN ('broken', 'fine') AND w.tier = '1m' ORDER BY 1`);
    expect(w.rows[0].last_error).to.match(/shape/);
    expect(w.rows[1].last_error).to.equal(null);
  });
});
