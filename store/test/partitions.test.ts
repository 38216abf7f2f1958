import { expect } from 'chai';
import { clearWriterCache, ensurePartitions, insertSnapshots, listPartitions, partitionName, StoreError, utcDay } from '../src/index.js';
import { fakeSnapshot, testSchema, type TestSchema } from './helpers.js';

const DAY = 86_400_000;

describe('snapshot partitions', function () {
  this.timeout(30_000);
  let t: TestSchema;
  /** when the migration of t ran: between these two. */
  let migrated: { from: number; to: number };

  beforeEach(async () => {
    const from = Date.now();
    t = await testSchema({ migrate: true });
    migrated = { from, to: Date.now() };
  });
  afterEach(async () => {
    await t.drop();
  });

  it('names partitions after their UTC day', () => {
    expect(partitionName(Date.UTC(2026, 10, 25, 23, 59, 59))).to.equal('snapshots_20261125');
    expect(partitionName(new Date('2026-11-26T00:00:00+01:00'))).to.equal('snapshots_20261125');
    expect(utcDay(Date.UTC(2024, 1, 29))).to.equal('2024-02-29');
    expect(() => utcDay(Number.NaN)).to.throw(StoreError);
  });

  it('a fresh schema has yesterday, today and tomorrow', async () => {
    // "today" is the migration's, not this test's: midnight UTC may fall in between.
    const names = (await listPartitions(t.pool)).map((p) => p.name);
    const days = (now: number) => [partitionName(now - DAY), partitionName(now), partitionName(now + DAY)];
    const has = (now: number) => days(now).every((n) => names.includes(n));
    expect(has(migrated.from) || has(migrated.to), `${days(migrated.from).join(', ')} in ${names.join(', ')}`).to.equal(true);
  });

  it('ensurePartitions creates days ahead, once; ranges are whole UTC days', async () => {
    const from = Date.UTC(2030, 0, 30, 15);
    expect(await ensurePartitions(t.pool, from, 4)).to.equal(4);
    expect(await ensurePartitions(t.pool, from, 4)).to.equal(0);
    expect(await ensurePartitions(t.pool, from, 5)).to.equal(1);
    const parts = (await listPartitions(t.pool)).filter((p) => p.name.startsWith('snapshots_2030'));
    expect(parts.map((p) => p.name)).to.deep.equal(['snapshots_20300130', 'snapshots_20300131', 'snapshots_20300201', 'snapshots_20300202', 'snapshots_20300203']);
    expect(parts[0]!.from.toISOString()).to.equal('2030-01-30T00:00:00.000Z');
    expect(parts[0]!.to.toISOString()).to.equal('2030-01-31T00:00:00.000Z');
    // The server agrees on the bounds: the last microsecond of a day lands in that day's partition.
    const bound = await t.pool.query<{ b: string }>(
      `SELECT pg_get_expr(c.relpartbound, c.oid) AS b FROM pg_class c WHERE c.relname = 'snapshots_20300130' AND c.relnamespace = $1::regnamespace`,
      [t.schema],
    );
    expect(bound.rows[0]!.b).to.match(/FROM \('2030-01-30 00:00:00\+00'\) TO \('2030-01-31 00:00:00\+00'\)|FROM \('2030-01-30 [0-9:]+[+-]\d\d'\)/);
  });

  it('concurrent callers never race on CREATE TABLE', async () => {
    const from = Date.UTC(2031, 5, 1);
    const created = await Promise.all(Array.from({ length: 6 }, () => ensurePartitions(t.pool, from, 10)));
    expect(created.reduce((a, b) => a + b, 0)).to.equal(10);
  });

  it('refuses a day count outside 1..400', async () => {
    const err = await ensurePartitions(t.pool, Date.now(), 0).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(StoreError);
    expect((err as StoreError).code).to.equal('INVALID_ARGUMENT');
  });

  it('the writer creates the partition it needs on demand (a day far from today)', async () => {
    const ts = Date.UTC(2035, 2, 3, 12);
    expect((await listPartitions(t.pool)).map((p) => p.name)).not.to.include('snapshots_20350303');
    const r = await insertSnapshots(t.pool, [fakeSnapshot('far', ts)]);
    expect(r.inserted).to.equal(1);
    const names = (await listPartitions(t.pool)).map((p) => p.name);
    expect(names).to.include.members(['snapshots_20350303', 'snapshots_20350304']);
    const row = await t.pool.query(`SELECT count(*)::int AS n FROM snapshots_20350303`);
    expect(row.rows[0].n).to.equal(1);
  });

  it('a partition dropped while the writer had it cached is made again ("no partition" on insert)', async () => {
    const ts = Date.UTC(2036, 6, 7, 1);
    await insertSnapshots(t.pool, [fakeSnapshot('h', ts)]);
    await t.pool.query('DROP TABLE snapshots_20360707');
    const r = await insertSnapshots(t.pool, [fakeSnapshot('h', ts + 5_000)]);
    expect(r.inserted).to.equal(1);
    expect((await t.pool.query('SELECT count(*)::int AS n FROM snapshots')).rows[0].n).to.equal(1);
  });

  it('a host deleted while its id was cached is registered again', async () => {
    const ts = Date.UTC(2030, 0, 1);
    await insertSnapshots(t.pool, [fakeSnapshot('gone', ts)]);
    await t.pool.query(`DELETE FROM hosts WHERE name = 'gone'`);
    const r = await insertSnapshots(t.pool, [fakeSnapshot('gone', ts + 5_000)]);
    expect(r.inserted).to.equal(1);
    const hosts = await t.pool.query(`SELECT count(*)::int AS n FROM hosts WHERE name = 'gone'`);
    expect(hosts.rows[0].n).to.equal(1);
    clearWriterCache(t.pool);
  });
});
