/**
 * The exporter's write path through a real pgbouncer in transaction pooling mode (#16): many
 * client pools share two server connections, so any session state on the path (search_path from
 * startup options, SET, named prepared statements, session advisory locks, temp tables) would
 * fail or leak between clients. The test schema is not on any default search_path, so a single
 * unqualified name on the path fails here.
 */
import { expect } from 'chai';
import pg from 'pg';
import {
  checkSchemaVersion,
  closePool,
  createPool,
  ensurePartitions,
  insertSnapshots,
  listPartitions,
  migrate,
  snapshotsChannel,
  startJobs,
  StoreError,
  type Pool,
} from '../src/index.js';
import { fakeSnapshot, testSchema, type TestSchema } from './helpers.js';
import { pgbouncerBinary, startPgbouncer, type Pgbouncer } from './pgbouncer.js';

const T0 = Date.UTC(2031, 2, 1, 23, 0);
const DAY = 86_400_000;

describe('writing through pgbouncer in transaction pooling mode (#16)', function () {
  this.timeout(60_000);
  let t: TestSchema;
  let bouncer: Pgbouncer;
  const pools: Pool[] = [];
  const pooled = (poolMax = 2) => {
    const p = createPool({ databaseUrl: bouncer.url, schema: t.schema, poolMax, transactionPooler: true, applicationName: 'perfwatch-exporter' });
    pools.push(p);
    return p;
  };

  before(async function () {
    const bin = pgbouncerBinary();
    if (!bin.path) {
      console.log(`      skipped: ${bin.reason}`);
      this.skip();
    }
    t = await testSchema({ migrate: true, prefix: 'pgb' });
    bouncer = await startPgbouncer(t.url, { poolSize: 2 });
  });

  after(async () => {
    for (const p of pools) await closePool(p);
    await bouncer?.stop();
  });

  it('a pool with session settings is refused by pgbouncer (why transactionPooler exists)', async () => {
    const p = createPool({ databaseUrl: bouncer.url, schema: t.schema, poolMax: 1 });
    try {
      const err = await p.query('SELECT 1').then(() => undefined, (e: Error) => e);
      expect(err?.message).to.match(/unsupported startup parameter/);
    } finally {
      await closePool(p);
    }
  });

  it('8 exporters (2 connections each) write 400 snapshots over 2 server connections, new partitions included', async () => {
    const hosts = Array.from({ length: 8 }, (_, i) => `fleet-${i}`);
    const exporters = hosts.map(() => pooled(2));
    // Each exporter writes 10 batches of 5, two at a time, over four UTC days (three partitions
    // that do not exist yet are created through the pooler).
    const results = await Promise.all(
      exporters.map(async (p, h) => {
        let inserted = 0;
        for (let b = 0; b < 10; b += 2) {
          const batches = [b, b + 1].map((bb) => Array.from({ length: 5 }, (_, i) => fakeSnapshot(hosts[h]!, T0 + bb * (DAY / 3) + i * 5_000, bb * 5 + i)));
          const rs = await Promise.all(batches.map((batch) => insertSnapshots(p, batch)));
          inserted += rs.reduce((n, r) => n + r.inserted, 0);
        }
        return inserted;
      }),
    );
    expect(results).to.deep.equal(hosts.map(() => 50));

    const n = await t.pool.query<{ n: number; hosts: number; shapes: number }>(
      `SELECT (SELECT count(*) FROM snapshots)::int AS n, (SELECT count(*) FROM hosts)::int AS hosts, (SELECT count(*) FROM snapshot_shapes)::int AS shapes`,
    );
    expect(n.rows[0]).to.deep.equal({ n: 400, hosts: 8, shapes: 8 });
    const seen = await t.pool.query<{ first: Date; last: Date }>(`SELECT min(first_seen) AS first, max(last_seen) AS last FROM hosts`);
    expect(seen.rows[0]!.first.getTime()).to.equal(T0);
    expect(seen.rows[0]!.last.getTime()).to.equal(T0 + 9 * (DAY / 3) + 4 * 5_000);
    const days = (await listPartitions(t.pool)).map((p) => p.name);
    expect(days).to.include.members(['snapshots_20310301', 'snapshots_20310302', 'snapshots_20310303', 'snapshots_20310304']);

    // A replay of the same batch through the pooler writes nothing twice.
    const again = await insertSnapshots(exporters[0]!, Array.from({ length: 5 }, (_, i) => fakeSnapshot(hosts[0]!, T0 + i * 5_000, i)));
    expect(again).to.deep.equal({ inserted: 0, duplicates: 5 });

    // 16 client connections at most, never more than 2 to PostgreSQL.
    const pool = (await bouncer.admin<{ database: string; cl_active: string; sv_active: string; sv_idle: string; sv_used: string }>('SHOW POOLS')).find(
      (r) => r.database === new URL(t.url).pathname.slice(1),
    );
    expect(pool, 'pgbouncer pool of the test database').to.exist;
    const servers = Number(pool!.sv_active) + Number(pool!.sv_idle) + Number(pool!.sv_used);
    expect(servers).to.be.within(1, 2);
    const clients = await bouncer.admin('SHOW CLIENTS');
    expect(clients.length).to.be.greaterThan(2);
  });

  it('the batch notification reaches a listener on a direct connection (pg_notify through the pooler)', async () => {
    const listener = new pg.Client({ connectionString: t.url });
    await listener.connect();
    try {
      const heard = new Promise<string>((resolve) => listener.on('notification', (m) => resolve(m.payload ?? '')));
      await listener.query(`LISTEN "${snapshotsChannel(t.schema)}"`);
      await insertSnapshots(pooled(1), [fakeSnapshot('notified-host', T0 + 123_000)]);
      expect(JSON.parse(await heard)).to.deep.equal({ hosts: ['notified-host'] });
    } finally {
      await listener.end();
    }
  });

  it('checkSchemaVersion and ensurePartitions run through it; migrate and the jobs refuse it, naming the fix', async () => {
    const p = pooled(1);
    expect(await checkSchemaVersion(p)).to.be.greaterThan(0);
    expect(await ensurePartitions(p, T0 + 10 * DAY, 1)).to.equal(1);
    const err = await migrate(p).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(StoreError);
    expect((err as StoreError).code).to.equal('INVALID_ARGUMENT');
    expect((err as StoreError).message).to.match(/transaction pooler.*PERFWATCH_DB_MIGRATE_URL/);
    const jobsErr = await startJobs(bouncer.url, p, { schema: t.schema }).then(() => undefined, (e: unknown) => e);
    expect((jobsErr as StoreError).message).to.match(/background jobs.*transaction pooler/);
  });
});
