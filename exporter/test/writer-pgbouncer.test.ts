/**
 * The exporter as a fleet runs it (#16): DATABASE_URL through pgbouncer in transaction pooling
 * mode (PERFWATCH_DB_POOLER=transaction), migrations over the direct PERFWATCH_DB_MIGRATE_URL.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { storeOptionsOf } from '@perfwatch/store';
import { fakeSnapshot, tempDir, testSchema, uniqueName, type TestSchema } from '../../store/test/helpers.js';
import { pgbouncerBinary, startPgbouncer, type Pgbouncer } from '../../store/test/pgbouncer.js';
import { ConfigError } from '../src/errors.js';
import { startSnapshotWriter } from '../src/writer.js';
import { quietLogger, testConfig } from './helpers.js';

const T0 = Date.UTC(2031, 4, 1, 12);

describe('exporter writer through pgbouncer (PERFWATCH_DB_POOLER=transaction)', function () {
  this.timeout(60_000);
  let t: TestSchema;
  let bouncer: Pgbouncer;

  before(async function () {
    const bin = pgbouncerBinary();
    if (!bin.path) {
      console.log(`      skipped: ${bin.reason}`);
      this.skip();
    }
    t = await testSchema({ prefix: 'xpgb' });
    bouncer = await startPgbouncer(t.url, { poolSize: 1 });
  });
  after(async () => {
    await bouncer?.stop();
  });

  it('a pooler without a migrate URL (and migrations on) is a configuration error naming the fix', () => {
    expect(() => testConfig({ DATABASE_URL: 'postgres://u@pgbouncer:6432/perfwatch', PERFWATCH_DB_POOLER: 'transaction' })).to.throw(
      ConfigError,
      /PERFWATCH_DB_MIGRATE_URL.*PERFWATCH_DB_MIGRATE=false/,
    );
    expect(testConfig({ DATABASE_URL: 'postgres://u@pgbouncer:6432/perfwatch', PERFWATCH_DB_POOLER: 'transaction', PERFWATCH_DB_MIGRATE: 'false' }).dbPooler).to.equal('transaction');
    expect(() => testConfig({ PERFWATCH_DB_POOLER: 'session' })).to.throw(ConfigError, /PERFWATCH_DB_POOLER/);
  });

  it('migrates a new schema over the direct URL, then writes every snapshot through the pooler', async () => {
    const schema = uniqueName('xpgbw');
    const config = testConfig({
      DATABASE_URL: bouncer.url,
      PERFWATCH_DB_POOLER: 'transaction',
      PERFWATCH_DB_MIGRATE_URL: t.url,
      PERFWATCH_DB_SCHEMA: schema,
    });
    const dir = tempDir();
    const running = await startSnapshotWriter(
      {
        store: storeOptionsOf({ ...config, databaseUrl: config.databaseUrl! }, 'perfwatch-exporter'),
        migrate: config.dbMigrate,
        migrateUrl: config.dbMigrateUrl,
        spoolDir: join(dir.dir, 'spool'),
        writer: { flushIntervalMs: 20, retryInitialMs: 20, retryMaxMs: 100 },
      },
      quietLogger(),
    );
    try {
      for (let i = 0; i < 30; i++) running.writer.enqueue(fakeSnapshot('pooled-host', T0 + i * 5_000, i));
      await running.writer.flush();
      for (;;) {
        const s = running.writer.stats();
        if (s.writtenTotal === 30 || s.writeErrorsTotal > 0) break;
        await new Promise((r) => setTimeout(r, 25));
        await running.writer.flush();
      }
      expect(running.writer.stats()).to.include({ writtenTotal: 30, writeErrorsTotal: 0, spooledTotal: 0 });
      const n = await t.pool.query(`SELECT count(*)::int AS n FROM "${schema}".snapshots`);
      expect(n.rows[0].n).to.equal(30);
      // The writer's connections went through pgbouncer: its clients are there, as the exporter.
      const clients = await bouncer.admin<{ database: string }>('SHOW CLIENTS');
      expect(clients.filter((c) => c.database !== 'pgbouncer').length).to.be.greaterThan(0);
    } finally {
      await running.close();
      dir.remove();
      await t.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });
});
