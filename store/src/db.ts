/**
 * The pg Pool every store function takes: timeouts on connect and statements, the schema as
 * search_path, and an 'error' handler so a database restart (which kills idle connections)
 * is logged instead of crashing the process.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { resolveStoreOptions, type StoreOptions } from './config.js';
import { errorMessage, StoreError, wrapPgError } from './errors.js';
import { silentLogger, type Logger } from './log.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** What store/ remembers about each pool it created: the schema its connections use. */
const POOLS = new WeakMap<pg.Pool, { schema: string; log: Logger; transactionPooler: boolean }>();

export function createPool(options: Partial<StoreOptions> & { databaseUrl: string }, log: Logger = silentLogger): pg.Pool {
  const o = resolveStoreOptions(options);
  const pool = new pg.Pool({
    connectionString: o.databaseUrl,
    max: o.poolMax,
    connectionTimeoutMillis: o.connectTimeoutMs,
    idleTimeoutMillis: o.idleTimeoutMs,
    // A client-side backstop for a server that stopped answering (statement_timeout cannot fire then).
    query_timeout: o.statementTimeoutMs + 5_000,
    // pgbouncer passes application_name on (it tracks it per client); the rest below it refuses.
    application_name: o.applicationName,
    keepAlive: true,
    // A connection ends (once idle) after an hour: the named statements it prepared go with it.
    // Short rollup reads name their day's partitions (samples.ts tierPartitions), a new text
    // each day, which a connection would otherwise keep prepared for as long as it lives.
    maxLifetimeSeconds: 3600,
    // Startup options take precedence over per-role and per-database settings. Behind a
    // transaction pooler there is no session to set them on: the write path names its schema.
    ...(o.transactionPooler
      ? {}
      : { statement_timeout: o.statementTimeoutMs, lock_timeout: o.lockTimeoutMs, options: `-c search_path=${o.schema}` }),
  });
  // Errors of idle connections (server restarted, network cut): the pool has already dropped the
  // connection; the next query opens a new one. Without this listener Node would crash.
  pool.on('error', (err) => log.warn({ err: errorMessage(err) }, 'idle database connection lost'));
  POOLS.set(pool, { schema: o.schema, log, transactionPooler: o.transactionPooler });
  return pool;
}

/**
 * `"schema".` for a pool made by createPool, '' for any other pool or client (whose search_path
 * is its own business). The session-free write path puts it before every table and function it
 * names, so it needs no search_path (a transaction pooler's connections have none of ours).
 */
export function schemaPrefix(pool: pg.Pool | pg.ClientBase): string {
  const meta = POOLS.get(pool as pg.Pool);
  return meta ? `"${meta.schema}".` : '';
}

const NAMES = new Map<string, string>();

/**
 * A read as pg should send it: on a pool of ours with sessions of its own, a named statement
 * (parsed and planned once per connection, then only bound and run: ~0.1 ms less a statement,
 * which a dashboard's short query pays two or three times); behind a transaction pooler, or on a
 * pool or client store did not make, unnamed (a pooler hands each transaction another server
 * connection, where the name would not exist). The name is a digest of the text: one per text.
 */
export function statement(pool: pg.Pool | pg.ClientBase, text: string, values: unknown[]): pg.QueryConfig {
  const meta = POOLS.get(pool as pg.Pool);
  if (!meta || meta.transactionPooler) return { text, values };
  let name = NAMES.get(text);
  if (name === undefined) {
    name = `pw_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    if (NAMES.size < 10_000) NAMES.set(text, name);
  }
  return { name, text, values };
}

/** Whether the pool leads to a transaction-mode pooler (StoreOptions.transactionPooler). */
export function isTransactionPooled(pool: pg.Pool): boolean {
  return POOLS.get(pool)?.transactionPooler ?? false;
}

/**
 * Throws for a pool behind a transaction pooler: `what` needs a session of its own (a session
 * advisory lock, SET, LISTEN), which such a pooler hands to other clients between transactions.
 */
export function requireSessionPool(pool: pg.Pool, what: string): void {
  if (isTransactionPooled(pool)) {
    throw new StoreError('INVALID_ARGUMENT', `${what} needs a session of its own and cannot run through a transaction pooler: give it a direct database URL (the exporter's PERFWATCH_DB_MIGRATE_URL, or the api's DATABASE_URL)`);
  }
}

/** The schema of a pool made by createPool ('public' for any other pool). */
export function poolSchema(pool: pg.Pool): string {
  return POOLS.get(pool)?.schema ?? 'public';
}

export function poolLogger(pool: pg.Pool): Logger {
  return POOLS.get(pool)?.log ?? silentLogger;
}

/**
 * Runs fn with a checked-out connection. A checked-out client has no 'error' listener of the pool,
 * and one that breaks between two queries would crash Node: this adds one for the duration, and
 * destroys the connection instead of returning it when fn failed because of it.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, context = 'database'): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw wrapPgError(err, `${context}: cannot connect`);
  }
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
    poolLogger(pool).warn({ err: errorMessage(err) }, 'database connection lost while in use');
  };
  client.on('error', onError);
  try {
    return await fn(client);
  } catch (err) {
    // Any error may leave the session in an unknown state (an open transaction, a broken socket).
    broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/** Runs fn inside BEGIN ... COMMIT on one connection; ROLLBACK (and the connection dropped) on error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, context = 'transaction'): Promise<T> {
  return withClient(
    pool,
    async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
    context,
  );
}

/** Server version as an integer (150020 for 15.20, 170006 for 17.6). */
export async function serverVersion(pool: pg.Pool): Promise<number> {
  try {
    const r = await pool.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    return Number(r.rows[0]?.v);
  } catch (err) {
    throw wrapPgError(err, 'reading the server version');
  }
}

/** Closes the pool; errors of connections already gone are ignored. */
export async function closePool(pool: pg.Pool): Promise<void> {
  await pool.end().catch(() => undefined);
}
