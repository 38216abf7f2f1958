import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkSchemaVersion,
  createPool,
  latestVersion,
  loadMigrations,
  migrate,
  schemaVersion,
  StoreError,
  type Migration,
} from '../src/index.js';
import { testSchema } from './helpers.js';

async function tables(pool: import('pg').Pool, schema: string): Promise<string[]> {
  const r = await pool.query<{ t: string }>(
    `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    [schema],
  );
  return r.rows.map((x) => x.t);
}

/** Migrations of this code with a pause in the first, so concurrent runs really overlap. */
function slowMigrations(): Migration[] {
  const ms = loadMigrations();
  return ms.map((m, i) => (i === 0 ? { ...m, sql: `SELECT pg_sleep(0.5);\n${m.sql}` } : m));
}

describe('migrations', function () {
  this.timeout(60_000);

  it('are numbered 0001.. without gaps, and the newest is the known version', () => {
    const ms = loadMigrations();
    expect(ms.length).to.be.greaterThan(1);
    ms.forEach((m, i) => expect(m.version).to.equal(i + 1));
    expect(latestVersion()).to.equal(ms.length);
  });

  it('refuses a migrations directory with a gap or a badly named file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-mig-'));
    try {
      writeFileSync(join(dir, '0001_a.sql'), 'SELECT 1;');
      writeFileSync(join(dir, '0003_c.sql'), 'SELECT 1;');
      expect(() => loadMigrations(dir)).to.throw(StoreError, /expected migration 0002_\*\.sql, found 0003_c\.sql/);
      rmSync(join(dir, '0003_c.sql'));
      writeFileSync(join(dir, '2_b.sql'), 'SELECT 1;');
      expect(() => loadMigrations(dir)).to.throw(StoreError, /NNNN_<what>\.sql/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migrate up from an empty database to the newest version', async () => {
    const t = await testSchema();
    try {
      expect(await schemaVersion(t.pool)).to.equal(0);
      const r = await migrate(t.pool);
      expect(r).to.deep.equal({ from: 0, to: latestVersion(), applied: loadMigrations().map((m) => m.version) });
      expect(await schemaVersion(t.pool)).to.equal(latestVersion());
      expect(await tables(t.pool, t.schema)).to.include.members(['hosts', 'snapshots', 'schema_migrations', 'retention_policies', 'retention_runs']);
      // A second run has nothing to do.
      expect(await migrate(t.pool)).to.deep.equal({ from: latestVersion(), to: latestVersion(), applied: [] });
      expect(await checkSchemaVersion(t.pool)).to.equal(latestVersion());
    } finally {
      await t.drop();
    }
  });

  it('migrate across every version, one at a time, keeping the data written at each', async () => {
    const t = await testSchema();
    try {
      for (const m of loadMigrations()) {
        const r = await migrate(t.pool, { targetVersion: m.version });
        expect(r.applied).to.deep.equal([m.version]);
        expect(await schemaVersion(t.pool)).to.equal(m.version);
        if (m.version === 1) {
          await t.pool.query(`INSERT INTO hosts (name) VALUES ('kept')`);
        }
      }
      const hosts = await t.pool.query(`SELECT name FROM hosts`);
      expect(hosts.rows).to.deep.equal([{ name: 'kept' }]);
      const versions = await t.pool.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
      expect(versions.rows).to.deep.equal(loadMigrations().map((m) => ({ version: m.version, name: m.name })));
    } finally {
      await t.drop();
    }
  });

  it('the version tables of migration 0002 hold the default retention policies', async () => {
    const t = await testSchema({ migrate: true });
    try {
      const r = await t.pool.query('SELECT tier, days FROM retention_policies ORDER BY days');
      expect(r.rows).to.deep.equal([
        { tier: 'raw', days: 30 },
        { tier: '1m', days: 90 },
        { tier: '1h', days: 730 },
      ]);
    } finally {
      await t.drop();
    }
  });

  it('concurrent migrators: exactly one applies each version, the others wait and find nothing to do', async () => {
    const t = await testSchema();
    const others = [0, 1, 2].map(() => createPool({ databaseUrl: t.url, schema: t.schema }));
    try {
      const migrations = slowMigrations();
      const results = await Promise.all([t.pool, ...others].map((p) => migrate(p, { migrations })));
      const applied = results.map((r) => r.applied);
      expect(applied.filter((a) => a.length > 0)).to.have.length(1);
      expect(applied.flat().sort()).to.deep.equal(migrations.map((m) => m.version));
      const rows = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows.rows[0]!.n).to.equal(migrations.length);
    } finally {
      await Promise.all(others.map((p) => p.end()));
      await t.drop();
    }
  });

  it('a waiting migrator gives up with a clear error after lockTimeoutMs', async () => {
    const t = await testSchema();
    const other = createPool({ databaseUrl: t.url, schema: t.schema });
    // The first migrator's first migration waits on an advisory lock the test holds (the gate):
    // it keeps the migration lock for as long as the test needs, however slow the machine, where
    // a pause of fixed length could end, or not yet have begun, when the second one asks.
    const gate = await t.pool.connect();
    const key = randomInt(1, 2 ** 31 - 1);
    let first: Promise<unknown> | undefined;
    try {
      await gate.query('SELECT pg_advisory_lock($1, 7)', [key]);
      const slow: Migration[] = loadMigrations().map((m, i) => (i === 0 ? { ...m, sql: `SELECT pg_advisory_xact_lock(${key}, 7);\n${m.sql}` } : m));
      first = migrate(t.pool, { migrations: slow });
      const end = Date.now() + 30_000;
      const waiting = async () =>
        (await gate.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid::bigint = $1 AND objid::bigint = 7 AND objsubid = 2`, [key])).rowCount === 1;
      while (!(await waiting())) {
        if (Date.now() > end) throw new Error('the first migrator did not reach its first migration within 30 s');
        await new Promise((r) => setTimeout(r, 20));
      }
      const err = await migrate(other, { lockTimeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(StoreError);
      expect((err as StoreError).code).to.equal('MIGRATION_FAILED');
      expect((err as StoreError).message).to.match(/another process has been migrating schema/);
    } finally {
      await gate.query('SELECT pg_advisory_unlock($1, 7)', [key]).catch(() => undefined);
      gate.release();
      await first;
      await other.end();
      await t.drop();
    }
  });

  it('refuses a database at a newer version than this code knows', async () => {
    const t = await testSchema({ migrate: true });
    try {
      const newer = latestVersion() + 1;
      await t.pool.query(`INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, 'from_the_future', '')`, [newer]);
      const message = `database schema is at version ${newer} but this PerfWatch knows up to ${latestVersion()}: upgrade PerfWatch`;
      const err = await migrate(t.pool).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(StoreError);
      expect((err as StoreError).code).to.equal('SCHEMA_TOO_NEW');
      expect((err as StoreError).message).to.equal(message);
      const err2 = await checkSchemaVersion(t.pool).catch((e: unknown) => e);
      expect((err2 as StoreError).message).to.equal(message);
    } finally {
      await t.drop();
    }
  });

  it('checkSchemaVersion refuses an unmigrated schema, saying what to do', async () => {
    const t = await testSchema();
    try {
      const err = await checkSchemaVersion(t.pool).catch((e: unknown) => e);
      expect((err as StoreError).message).to.match(/schema is at version 0 but this PerfWatch needs \d+: run the migrations/);
    } finally {
      await t.drop();
    }
  });

  it('a failing migration rolls back entirely and names the file and line', async () => {
    const t = await testSchema();
    try {
      const broken: Migration[] = [
        ...loadMigrations().slice(0, 1),
        { version: 2, name: 'broken', file: '0002_broken.sql', checksum: 'x', sql: 'CREATE TABLE half_made (id int);\nSELECT no_such_column FROM hosts;\n' },
      ];
      const err = await migrate(t.pool, { migrations: broken }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(StoreError);
      expect((err as StoreError).code).to.equal('MIGRATION_FAILED');
      expect((err as StoreError).pgCode).to.equal('42703');
      expect((err as StoreError).message).to.match(/0002_broken\.sql \(line 2\) failed.*stays at version 1/);
      expect(await schemaVersion(t.pool)).to.equal(1);
      expect(await tables(t.pool, t.schema)).not.to.include('half_made');
    } finally {
      await t.drop();
    }
  });

  it('each schema is separate: migrating one leaves another untouched', async () => {
    const a = await testSchema({ migrate: true });
    const b = await testSchema();
    try {
      expect(await schemaVersion(b.pool)).to.equal(0);
      expect(await schemaVersion(a.pool)).to.equal(latestVersion());
    } finally {
      await a.drop();
      await b.drop();
    }
  });
});
