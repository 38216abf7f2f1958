import { expect } from 'chai';
import { createPool, insertSnapshots, isTransient, StoreError, type Snapshot } from '../src/index.js';
import { deadPort, fakeSnapshot, testSchema, type TestSchema } from './helpers.js';

const T0 = Date.UTC(2030, 4, 1, 10, 0, 0);

function series(host: string, n: number, start = T0, stepMs = 5_000): Snapshot[] {
  return Array.from({ length: n }, (_, i) => fakeSnapshot(host, start + i * stepMs, i));
}

async function count(t: TestSchema, where = 'true'): Promise<number> {
  return (await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM snapshots WHERE ${where}`)).rows[0]!.n;
}

describe('insertSnapshots', function () {
  this.timeout(30_000);
  let t: TestSchema;

  beforeEach(async () => {
    t = await testSchema({ migrate: true });
  });
  afterEach(async () => {
    await t.drop();
  });

  it('N snapshots of one host: N rows, one host row, first/last seen = the batch bounds', async () => {
    const batch = series('web01', 250);
    const r = await insertSnapshots(t.pool, batch);
    expect(r).to.deep.equal({ inserted: 250, duplicates: 0 });
    expect(await count(t)).to.equal(250);
    const hosts = await t.pool.query('SELECT name, first_seen, last_seen, labels FROM hosts');
    expect(hosts.rows).to.have.length(1);
    expect(hosts.rows[0].name).to.equal('web01');
    expect(hosts.rows[0].labels).to.deep.equal({});
    expect(hosts.rows[0].first_seen.getTime()).to.equal(T0);
    expect(hosts.rows[0].last_seen.getTime()).to.equal(T0 + 249 * 5_000);
  });

  it('stores the snapshot exactly, with ts to the millisecond', async () => {
    const s = { ...fakeSnapshot('exact', T0 + 123), mem: { MemTotal: 1.5e12, Odd: 0.000123 } };
    await insertSnapshots(t.pool, [s]);
    const r = await t.pool.query('SELECT s.ts, s.data FROM snapshots s');
    expect(r.rows[0].ts.getTime()).to.equal(T0 + 123);
    expect(r.rows[0].data).to.deep.equal(s);
  });

  it('a replayed batch writes nothing twice', async () => {
    const batch = series('web01', 100);
    await insertSnapshots(t.pool, batch);
    expect(await insertSnapshots(t.pool, batch)).to.deep.equal({ inserted: 0, duplicates: 100 });
    // Half old, half new.
    const mixed = series('web01', 100, T0 + 50 * 5_000);
    expect(await insertSnapshots(t.pool, mixed)).to.deep.equal({ inserted: 50, duplicates: 50 });
    expect(await count(t)).to.equal(150);
    // The same snapshot twice within one batch.
    const again = fakeSnapshot('web01', T0 + 999_999_000);
    expect(await insertSnapshots(t.pool, [again, again])).to.deep.equal({ inserted: 1, duplicates: 1 });
  });

  it('many hosts in one batch; last_seen only moves forward, first_seen only back', async () => {
    const batch = [...series('a', 10), ...series('b', 20), ...series('c', 5)].sort(() => Math.random() - 0.5);
    expect((await insertSnapshots(t.pool, batch)).inserted).to.equal(35);
    // An older replay of a (e.g. from a spool) must not move last_seen back.
    await insertSnapshots(t.pool, series('a', 3, T0 - 60_000));
    const hosts = await t.pool.query('SELECT name, first_seen, last_seen FROM hosts ORDER BY name');
    expect(hosts.rows.map((h) => [h.name, h.first_seen.getTime(), h.last_seen.getTime()])).to.deep.equal([
      ['a', T0 - 60_000, T0 + 9 * 5_000],
      ['b', T0, T0 + 19 * 5_000],
      ['c', T0, T0 + 4 * 5_000],
    ]);
    expect(await count(t)).to.equal(38);
  });

  it('a host added by hand (labels, no snapshots yet) keeps its labels and gets first/last seen', async () => {
    await t.pool.query(`INSERT INTO hosts (name, labels) VALUES ('db01', '{"env": "prod"}')`);
    await insertSnapshots(t.pool, series('db01', 3));
    const h = await t.pool.query(`SELECT labels, first_seen, last_seen FROM hosts WHERE name = 'db01'`);
    expect(h.rows[0].labels).to.deep.equal({ env: 'prod' });
    expect(h.rows[0].first_seen.getTime()).to.equal(T0);
  });

  it('concurrent writers of overlapping batches: every snapshot once, no deadlock', async () => {
    const batches = [0, 1, 2, 3].map((k) => [...series('a', 60, T0 + k * 100_000), ...series('b', 60, T0 + k * 100_000)]);
    // each batch overlaps the next (20 snapshots of each host in common), sent twice
    const results = await Promise.all([...batches, ...batches].map((b) => insertSnapshots(t.pool, b)));
    const distinct = new Set(batches.flat().map((s) => `${s.host}@${s.ts}`)).size;
    expect(results.reduce((n, r) => n + r.inserted, 0)).to.equal(distinct);
    expect(await count(t)).to.equal(distinct);
  });

  it('refuses a snapshot without host or ts before sending anything', async () => {
    const bad = { ...fakeSnapshot('x', T0), ts: Number.NaN };
    const err = await insertSnapshots(t.pool, [fakeSnapshot('x', T0), bad]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(StoreError);
    expect((err as StoreError).code).to.equal('INVALID_ARGUMENT');
    expect(await count(t)).to.equal(0);
  });

  it('a snapshot the server refuses (NUL in a string) is a data error: nothing of the batch is written', async () => {
    const bad = { ...fakeSnapshot('x', T0 + 5_000), col: { cpu: { ok: false, s: 0, err: 'bad\u0000byte' } } };
    const err = await insertSnapshots(t.pool, [fakeSnapshot('x', T0), bad]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(StoreError);
    expect((err as StoreError).code).to.equal('DB_DATA_REJECTED');
    expect((err as StoreError).pgCode).to.match(/^22/);
    expect((err as StoreError).transient).to.equal(false);
    expect(await count(t)).to.equal(0);
  });

  it('an unreachable server is a transient DB_UNAVAILABLE error', async () => {
    const dead = await deadPort();
    const pool = createPool({ databaseUrl: `postgres://postgres@127.0.0.1:${dead.port}/postgres`, schema: t.schema, connectTimeoutMs: 1_000 });
    try {
      const err = await insertSnapshots(pool, series('x', 2)).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(StoreError);
      expect((err as StoreError).code).to.equal('DB_UNAVAILABLE');
      expect(isTransient(err)).to.equal(true);
    } finally {
      await pool.end();
      await dead.close();
    }
  });

  it('an empty batch does nothing', async () => {
    expect(await insertSnapshots(t.pool, [])).to.deep.equal({ inserted: 0, duplicates: 0 });
  });
});
