/**
 * Retention drops exactly the expired partitions of every tier (whole partitions: DETACH + DROP,
 * never DELETE), records each run, leaves the tables no bigger, and finishes what an interrupted
 * run left behind.
 */
import { expect } from 'chai';
import type pg from 'pg';
import { ensurePartitions, ensureRollupPartitions, insertSnapshots, runRetention, runRollups } from '../src/index.js';
import { testSchema, type TestSchema } from './helpers.js';
import { fixtureSnapshot, simulate } from './synth.js';

const DAY = 86_400_000;

async function tables(pool: pg.Pool, like: string): Promise<string[]> {
  const r = await pool.query<{ relname: string }>(`SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' AND relname LIKE $1 ORDER BY 1`, [like]);
  return r.rows.map((x) => x.relname);
}

async function totalSize(pool: pg.Pool, parent: string): Promise<number> {
  const r = await pool.query<{ b: string }>(`SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint AS b FROM pg_inherits WHERE inhparent = $1::regclass`, [parent]);
  return Number(r.rows[0]!.b);
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');

describe('retention', function () {
  this.timeout(60_000);
  let t: TestSchema;
  // Policies: raw 30 days, 1m 90 days, 1h 730 days (migration 0002's defaults).
  const NOW = Date.UTC(2032, 5, 15, 12, 0, 0);
  const START = Date.UTC(2032, 5, 15) - 40 * DAY; // raw data for 41 days

  before(async () => {
    t = await testSchema({ migrate: true });
    // Partitions for every day from START on, a few snapshots in each, rolled up.
    await ensurePartitions(t.pool, START, 45);
    for (let d = 0; d <= 40; d++) {
      await insertSnapshots(t.pool, simulate(fixtureSnapshot('small', { compact: true }), 'ret', START + d * DAY + 3_600_000, 30, { intervalMs: 60_000, seed: d }));
    }
    while ((await runRollups(t.pool, { tier: '1m', now: NOW })).behind);
    // Old rollup partitions (as if kept from long ago): 1m days back to 100 days, 1h months back to 26.
    await ensureRollupPartitions(t.pool, '1m', NOW - 100 * DAY, 70);
    await ensureRollupPartitions(t.pool, '1h', Date.UTC(2030, 3, 1), 27);
  });
  after(async () => {
    await t.drop();
  });

  it('drops exactly the partitions wholly older than each tier keeps, and records each run', async () => {
    const rawBefore = await tables(t.pool, 'snapshots_%');
    const m1Before = await tables(t.pool, 'rollups_1m_%');
    const h1Before = await tables(t.pool, 'rollups_1h_%');
    const sizeBefore = await totalSize(t.pool, 'snapshots');
    const rowsBefore = (await t.pool.query('SELECT count(*)::int AS n FROM snapshots')).rows[0].n as number;

    const runs = await runRetention(t.pool, { now: NOW });

    // raw, 30 days: cutoff 2032-05-16 12:00; days up to 2032-05-15 go (their end <= cutoff).
    const rawCut = NOW - 30 * DAY;
    const wantRaw = rawBefore.filter((n) => Date.UTC(+n.slice(10, 14), +n.slice(14, 16) - 1, +n.slice(16, 18)) + DAY <= rawCut);
    expect(wantRaw).to.include.members([`snapshots_${day(START)}`, 'snapshots_20320515']);
    expect(wantRaw).to.not.include('snapshots_20320516');
    const m1Cut = NOW - 90 * DAY;
    const wantM1 = m1Before.filter((n) => Date.UTC(+n.slice(11, 15), +n.slice(15, 17) - 1, +n.slice(17, 19)) + DAY <= m1Cut);
    const h1Cut = NOW - 730 * DAY;
    const wantH1 = h1Before.filter((n) => Date.UTC(+n.slice(11, 15), +n.slice(15, 17), 1) <= h1Cut);
    expect(wantM1.length).to.be.greaterThan(5);
    expect(wantH1).to.include.members(['rollups_1h_203004', 'rollups_1h_203005']);
    expect(wantH1).to.not.include('rollups_1h_203006');

    expect(runs.map((r) => [r.tier, r.dropped.sort()])).to.deep.equal([
      ['raw', wantRaw.sort()],
      ['1m', wantM1.sort()],
      ['1h', wantH1.sort()],
    ]);
    expect(runs.every((r) => r.error === undefined)).to.equal(true);
    expect(await tables(t.pool, 'snapshots_%')).to.deep.equal(rawBefore.filter((n) => !wantRaw.includes(n)));
    expect(await tables(t.pool, 'rollups_1m_%')).to.deep.equal(m1Before.filter((n) => !wantM1.includes(n)));
    expect(await tables(t.pool, 'rollups_1h_%')).to.deep.equal(h1Before.filter((n) => !wantH1.includes(n)));

    // Whole days of rows gone, nothing else; the table is smaller, not just emptier.
    const rowsAfter = (await t.pool.query('SELECT count(*)::int AS n FROM snapshots')).rows[0].n as number;
    expect(rowsAfter).to.equal(rowsBefore - 30 * wantRaw.filter((n) => n >= `snapshots_${day(START)}`).length);
    expect(await totalSize(t.pool, 'snapshots')).to.be.below(sizeBefore);

    const rec = await t.pool.query(`SELECT tier, finished_at IS NOT NULL AS done, duration_seconds, dropped_partitions, error FROM retention_runs ORDER BY id`);
    expect(rec.rows.map((r) => [r.tier, r.done, r.error, r.dropped_partitions.length])).to.deep.equal([
      ['raw', true, null, wantRaw.length],
      ['1m', true, null, wantM1.length],
      ['1h', true, null, wantH1.length],
    ]);
    expect(rec.rows.every((r) => r.duration_seconds >= 0 && r.duration_seconds < 10)).to.equal(true);
  });

  it('a second run the same day drops nothing and the tables do not grow', async () => {
    const size = await totalSize(t.pool, 'snapshots');
    const runs = await runRetention(t.pool, { now: NOW + 3_600_000 });
    expect(runs.map((r) => r.dropped)).to.deep.equal([[], [], []]);
    expect(await totalSize(t.pool, 'snapshots')).to.be.at.most(size);
  });

  it('finishes an interrupted run: a partition left pending detach, a detached table not dropped', async () => {
    await t.pool.query(`ALTER TABLE snapshots DETACH PARTITION snapshots_20320516`);
    // A pending detach cannot be made on purpose without killing a backend mid-way; a detached,
    // undropped table is the other half-way state, and a policy change makes the next day due.
    await t.pool.query(`UPDATE retention_policies SET days = 28 WHERE tier = 'raw'`);
    const runs = await runRetention(t.pool, { now: NOW, tiers: ['raw'] });
    expect(runs[0]!.dropped).to.deep.equal(['snapshots_20320516', 'snapshots_20320517']);
    expect(await tables(t.pool, 'snapshots_2032051%')).to.deep.equal(['snapshots_20320518', 'snapshots_20320519']);
    await t.pool.query(`UPDATE retention_policies SET days = 30 WHERE tier = 'raw'`);
  });

  it('a failing tier is recorded with its error; the others still run', async () => {
    await t.pool.query(`DELETE FROM retention_policies WHERE tier = '1m'`);
    const runs = await runRetention(t.pool, { now: NOW });
    expect(runs.map((r) => [r.tier, r.error === undefined])).to.deep.equal([['raw', true], ['1m', false], ['1h', true]]);
    const rec = await t.pool.query(`SELECT error FROM retention_runs WHERE tier = '1m' ORDER BY id DESC LIMIT 1`);
    expect(rec.rows[0].error).to.match(/no row for tier 1m/);
    await t.pool.query(`INSERT INTO retention_policies (tier, days) VALUES ('1m', 90)`);
  });

  it('the writer makes a dropped day again when a late snapshot needs it', async () => {
    const old = simulate(fixtureSnapshot('small', { compact: true }), 'ret', START + DAY + 7_200_000, 1)[0]!;
    expect(await insertSnapshots(t.pool, [old])).to.deep.equal({ inserted: 1, duplicates: 0 });
    expect(await tables(t.pool, `snapshots_${day(START + DAY)}`)).to.have.length(1);
  });
});
