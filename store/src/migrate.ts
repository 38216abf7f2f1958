/**
 * Schema migrations: numbered files store/migrations/NNNN_<what>.sql, applied in order, each in
 * its own transaction, recorded in <schema>.schema_migrations. The whole run holds a session
 * advisory lock keyed on database + schema, so two processes starting together cannot both
 * migrate: the second waits, then finds nothing left to do. A database migrated by a newer
 * PerfWatch is refused rather than written with assumptions that no longer hold.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { checkSchemaName } from './config.js';
import { poolLogger, poolSchema, requireSessionPool, withClient } from './db.js';
import { StoreError, sqlState, wrapPgError } from './errors.js';
import type { Logger } from './log.js';

export interface Migration {
  version: number;
  /** the file name without number and extension ("hosts_snapshots"). */
  name: string;
  file: string;
  sql: string;
  /** sha256 of the file, recorded when applied; a later edit of an applied file is logged. */
  checksum: string;
}

/** store/migrations, beside src/ and dist/ alike. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads and checks the migration files: numbered 1, 2, 3 ... without gaps or duplicates. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const list: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE_RE.exec(file);
    if (!m) throw new StoreError('MIGRATION_FAILED', `${dir}/${file}: migration files are named NNNN_<what>.sql`);
    const sql = readFileSync(`${dir}/${file}`, 'utf8');
    list.push({ version: Number(m[1]), name: m[2]!, file, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  list.forEach((mig, i) => {
    if (mig.version !== i + 1) {
      throw new StoreError('MIGRATION_FAILED', `${dir}: expected migration ${String(i + 1).padStart(4, '0')}_*.sql, found ${mig.file}`);
    }
  });
  return list;
}

/** The newest schema version this code knows. */
export function latestVersion(migrations: readonly Migration[] = loadMigrations()): number {
  return migrations.at(-1)?.version ?? 0;
}

export interface MigrateOptions {
  /** schema to migrate (default: the pool's schema, see createPool). */
  schema?: string;
  /** stop at this version (tests step through versions); default the newest. */
  targetVersion?: number;
  /** how long to wait for another process's migration (the advisory lock) and for table locks, ms. */
  lockTimeoutMs?: number;
  /** the migrations to apply (tests); default loadMigrations(). */
  migrations?: readonly Migration[];
  log?: Logger;
}

export interface MigrateResult {
  /** version before, and after. */
  from: number;
  to: number;
  /** versions this call applied (empty when another process had done it, or nothing was due). */
  applied: number[];
}

function tooNew(current: number, latest: number): StoreError {
  return new StoreError(
    'SCHEMA_TOO_NEW',
    `database schema is at version ${current} but this PerfWatch knows up to ${latest}: upgrade PerfWatch`,
  );
}

const q = (ident: string) => `"${ident}"`;

/** The advisory lock a migration run holds, keyed on database + schema ($1): 64 bits of an md5. */
const MIGRATE_LOCK_KEY = `('x' || substr(md5(current_database() || '.perfwatch.migrate.' || $1::text), 1, 16))::bit(64)::bigint`;

async function currentVersion(client: pg.ClientBase, schema: string): Promise<number> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${q(schema)}.schema_migrations`]);
  if (!exists.rows[0]?.t) return 0;
  const r = await client.query<{ v: number }>(`SELECT coalesce(max(version), 0)::int AS v FROM ${q(schema)}.schema_migrations`);
  return r.rows[0]?.v ?? 0;
}

/** The schema's version: 0 when never migrated. */
export async function schemaVersion(pool: pg.Pool, schema: string = poolSchema(pool)): Promise<number> {
  checkSchemaName(schema);
  try {
    return await withClient(pool, (c) => currentVersion(c, schema), 'reading the schema version');
  } catch (err) {
    throw wrapPgError(err, 'reading the schema version');
  }
}

/**
 * For a process that does not migrate (an exporter with an insert-only role): throws unless the
 * schema is exactly at the version this code knows.
 */
export async function checkSchemaVersion(pool: pg.Pool, schema: string = poolSchema(pool)): Promise<number> {
  const latest = latestVersion();
  const current = await schemaVersion(pool, schema);
  if (current > latest) throw tooNew(current, latest);
  if (current < latest) {
    throw new StoreError('MIGRATION_FAILED', `database schema is at version ${current} but this PerfWatch needs ${latest}: run the migrations (start the api, or a process with migrations enabled)`);
  }
  return current;
}

/** Line number of a character position (1-based) in text. */
function lineOf(text: string, position: number): number {
  return text.slice(0, Math.max(0, position - 1)).split('\n').length;
}

export async function migrate(pool: pg.Pool, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const schema = checkSchemaName(opts.schema ?? poolSchema(pool));
  const log = (opts.log ?? poolLogger(pool)).child({ component: 'migrate', schema });
  const migrations = opts.migrations ?? loadMigrations();
  const latest = latestVersion(migrations);
  const target = opts.targetVersion ?? latest;
  if (!Number.isInteger(target) || target < 0 || target > latest) {
    throw new StoreError('INVALID_ARGUMENT', `targetVersion must be 0..${latest} (got ${target})`);
  }
  const lockTimeoutMs = opts.lockTimeoutMs ?? 300_000;
  // SET, a session advisory lock and BEGIN ... COMMIT over several round trips: one session throughout.
  requireSessionPool(pool, `migrating schema "${schema}"`);

  return withClient(
    pool,
    async (client) => {
      // Nothing to do (the common case at start): no lock and no DDL, so a role that may not
      // create anything (an exporter's, docs/storage.md) can run this too.
      const before = await currentVersion(client, schema);
      if (before > latest) throw tooNew(before, latest);
      if (before >= target) return { from: before, to: before, applied: [] };
      // Migrations may rewrite big tables: no statement timeout; lock waits stay bounded.
      await client.query(`SET statement_timeout = 0; SET lock_timeout = ${Math.round(lockTimeoutMs)}`);
      let locked = false;
      try {
        try {
          await client.query(`SELECT pg_advisory_lock(${MIGRATE_LOCK_KEY})`, [schema]);
          locked = true;
        } catch (err) {
          if (sqlState(err) === '55P03') {
            throw new StoreError('MIGRATION_FAILED', `another process has been migrating schema "${schema}" for over ${lockTimeoutMs} ms; is one stuck?`, { cause: err, pgCode: '55P03', transient: true });
          }
          throw err;
        }
        // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege even when the schema exists: look first.
        const ns = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
        if (ns.rowCount === 0) await client.query(`CREATE SCHEMA ${q(schema)}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${q(schema)}.schema_migrations (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             checksum   text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now())`,
        );
        const from = await currentVersion(client, schema);
        if (from > latest) throw tooNew(from, latest);

        const applied = await client.query<{ version: number; checksum: string }>(`SELECT version, checksum FROM ${q(schema)}.schema_migrations`);
        for (const row of applied.rows) {
          const m = migrations.find((x) => x.version === row.version);
          if (m && m.checksum !== row.checksum) log.warn({ file: m.file }, `migration ${m.file} was changed after it was applied; the database keeps the old version`);
        }

        const done: number[] = [];
        for (const m of migrations) {
          if (m.version <= from || m.version > target) continue;
          const started = Date.now();
          try {
            await client.query('BEGIN');
            await client.query(`SET LOCAL search_path TO ${q(schema)}, pg_temp`);
            await client.query(m.sql);
            await client.query(`INSERT INTO ${q(schema)}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [m.version, m.name, m.checksum]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined);
            const pos = Number((err as { position?: string }).position);
            const where = Number.isFinite(pos) && pos > 0 ? ` (line ${lineOf(m.sql, pos)})` : '';
            const wrapped = wrapPgError(err, `migration ${m.file}${where} failed`);
            throw new StoreError('MIGRATION_FAILED', `${wrapped.message}; schema "${schema}" stays at version ${done.at(-1) ?? from}`, {
              cause: err,
              pgCode: wrapped.pgCode,
              detail: wrapped.detail,
              transient: wrapped.transient,
            });
          }
          done.push(m.version);
          log.info({ version: m.version, file: m.file, ms: Date.now() - started }, `applied migration ${m.file}`);
        }
        return { from, to: done.at(-1) ?? from, applied: done };
      } finally {
        if (locked) {
          await client.query(`SELECT pg_advisory_unlock(${MIGRATE_LOCK_KEY})`, [schema]).catch(() => undefined);
        }
        await client.query('RESET statement_timeout; RESET lock_timeout').catch(() => undefined);
      }
    },
    `migrating schema "${schema}"`,
  ).catch((err: unknown) => {
    throw err instanceof StoreError ? err : wrapPgError(err, `migrating schema "${schema}"`);
  });
}
