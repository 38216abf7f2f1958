/**
 * Store options: typed, one default per key with a comment. store/ never reads process.env; the
 * services' config modules map their environment variables onto these objects.
 */
import { isSchemaName } from './env.js';
import { StoreError } from './errors.js';

export interface StoreOptions {
  /** postgres:// URL of the database (the services' DATABASE_URL, or the embedded server's URL). */
  databaseUrl: string;
  /** Schema holding PerfWatch's tables; every connection of the pool gets it as search_path.
   *  Lower-case letters, digits and _ (tests use one schema per file). */
  schema: string;
  /** Most connections the pool opens at once. */
  poolMax: number;
  /** How long getting a connection may take (TCP connect, TLS, authentication), ms. */
  connectTimeoutMs: number;
  /** Server-side statement_timeout, ms: a statement running longer is cancelled (SQLSTATE 57014). */
  statementTimeoutMs: number;
  /** Server-side lock_timeout, ms: waiting longer for a lock (e.g. creating a partition while a
   *  long query reads the table) fails with 55P03 instead of stalling every writer behind it. */
  lockTimeoutMs: number;
  /** An idle connection is closed after this long, ms. */
  idleTimeoutMs: number;
  /** application_name shown in pg_stat_activity. */
  applicationName: string;
  /** The URL leads to a pooler in transaction mode (pgbouncer `pool_mode = transaction`): each
   *  transaction may run on another server connection, so the pool sends no session settings at
   *  connect (search_path, statement_timeout and lock_timeout as startup options, which pgbouncer
   *  refuses), and only session-free work may use it: insertSnapshots, ensurePartitions,
   *  checkSchemaVersion. migrate() and startJobs refuse such a pool (docs/scaling.md). The server's
   *  own settings (ALTER ROLE ... SET statement_timeout) or the pooler's query_timeout bound
   *  statements then; the client-side backstop (statementTimeoutMs + 5 s) stays. */
  transactionPooler: boolean;
}

export const STORE_DEFAULTS: Omit<StoreOptions, 'databaseUrl'> = {
  schema: 'perfwatch',
  // An exporter writes one batch at a time; 4 connections is what the ingest targets assume.
  poolMax: 4,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 30_000,
  lockTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  applicationName: 'perfwatch',
  transactionPooler: false,
};

/** The database settings of a service's config (exporter and api read them from the same
 *  PERFWATCH_DB_* variables): seconds there, milliseconds here. */
export interface ServiceDbSettings {
  databaseUrl: string;
  dbSchema: string;
  dbPoolMax: number;
  dbConnectTimeoutSeconds: number;
  dbStatementTimeoutSeconds: number;
  /** 'transaction': databaseUrl leads to a transaction-mode pooler (StoreOptions.transactionPooler). */
  dbPooler?: 'none' | 'transaction';
}

/** A service's database settings as createPool options, named `applicationName` in pg_stat_activity. */
export function storeOptionsOf(c: ServiceDbSettings, applicationName: string): Partial<StoreOptions> & { databaseUrl: string } {
  return {
    databaseUrl: c.databaseUrl,
    schema: c.dbSchema,
    poolMax: c.dbPoolMax,
    connectTimeoutMs: c.dbConnectTimeoutSeconds * 1000,
    statementTimeoutMs: c.dbStatementTimeoutSeconds * 1000,
    applicationName,
    transactionPooler: c.dbPooler === 'transaction',
  };
}

export interface EmbeddedPostgresOptions {
  /** PGDATA of the embedded server. No default here: the caller picks it (npm start:
   *  <PERFWATCH_DATA_DIR>/pg, see checkoutDataDir). Created and initialised when it does not hold
   *  a cluster yet. Started as root, user postgres must be able to enter every directory above it. */
  dataDir: string;
  /** TCP port on 127.0.0.1 (5433: the machine's own PostgreSQL usually has 5432). */
  port: number;
  /** Database created at initialisation and named in the returned URL. */
  database: string;
  /** Superuser created by initdb. */
  user: string;
  /** Its password. Undefined: a random one is generated at initialisation and kept in
   *  <dataDir>/perfwatch.password (mode 0600), read back on later starts. */
  password: string | undefined;
  /** How long initdb + start may take before giving up, ms (crash recovery after a kill -9 counts). */
  startTimeoutMs: number;
  /** How long a fast shutdown may take before the server is killed, ms. */
  stopTimeoutMs: number;
  /** Extra postgres settings (-c name=value), e.g. { shared_buffers: '128MB' }. */
  settings: Record<string, string>;
  /** Started as root, the server runs as user postgres, which must reach its programs: when the
   *  node_modules they are installed in sits where it cannot enter (a checkout in a 0700
   *  directory), they are copied to <cacheDir>/postgres-<version>-<platform>-<arch>, root-owned
   *  and world-readable. Unused otherwise. */
  cacheDir: string;
}

export const EMBEDDED_DEFAULTS: Omit<EmbeddedPostgresOptions, 'dataDir'> = {
  port: 5433,
  database: 'perfwatch',
  user: 'postgres',
  password: undefined,
  startTimeoutMs: 60_000,
  stopTimeoutMs: 30_000,
  settings: {},
  cacheDir: '/var/cache/perfwatch',
};

/** A schema name store/ may put into SQL as an identifier; anything else is refused. */
export function checkSchemaName(schema: string): string {
  if (!isSchemaName(schema)) {
    throw new StoreError('INVALID_ARGUMENT', `schema "${schema}" is not usable: lower-case letters, digits and _ only, not starting with pg_`);
  }
  return schema;
}

function positive(name: string, v: number, min = 1): number {
  if (!Number.isFinite(v) || v < min) throw new StoreError('INVALID_ARGUMENT', `${name} must be a number >= ${min} (got ${v})`);
  return v;
}

export function resolveStoreOptions(opts: Partial<StoreOptions> & { databaseUrl: string }): StoreOptions {
  const o: StoreOptions = { ...STORE_DEFAULTS, ...withoutUndefined(opts), databaseUrl: opts.databaseUrl };
  if (!o.databaseUrl) throw new StoreError('INVALID_ARGUMENT', 'databaseUrl is empty');
  checkSchemaName(o.schema);
  positive('poolMax', o.poolMax);
  positive('connectTimeoutMs', o.connectTimeoutMs);
  positive('statementTimeoutMs', o.statementTimeoutMs);
  positive('lockTimeoutMs', o.lockTimeoutMs);
  positive('idleTimeoutMs', o.idleTimeoutMs);
  return o;
}

export function resolveEmbeddedOptions(opts: Partial<EmbeddedPostgresOptions> & { dataDir: string }): EmbeddedPostgresOptions {
  const o: EmbeddedPostgresOptions = { ...EMBEDDED_DEFAULTS, ...withoutUndefined(opts), dataDir: opts.dataDir };
  if (!o.dataDir.startsWith('/')) throw new StoreError('INVALID_ARGUMENT', `embedded dataDir must be an absolute path (got "${o.dataDir}")`);
  if (!o.cacheDir.startsWith('/')) throw new StoreError('INVALID_ARGUMENT', `embedded cacheDir must be an absolute path (got "${o.cacheDir}")`);
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw new StoreError('INVALID_ARGUMENT', `embedded port must be 1..65535 (got ${o.port})`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.database) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.user)) {
    throw new StoreError('INVALID_ARGUMENT', 'embedded database and user names must be letters, digits and _');
  }
  positive('startTimeoutMs', o.startTimeoutMs);
  positive('stopTimeoutMs', o.stopTimeoutMs);
  return o;
}

/** The keys of o whose value is not undefined: spread over defaults, an undefined option keeps the default. */
export function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
