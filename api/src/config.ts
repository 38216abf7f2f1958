/**
 * The api's configuration: the one place that reads the environment. Every key has a typed
 * default and a comment naming its variable; README.md's configuration table lists the same
 * variables. A bad value throws ConfigError naming the variable and what it accepts, and main.ts
 * exits non-zero with it. Values that are allowed but unsafe outside production come back in
 * `warnings`, which main.ts logs loudly.
 */
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { boolVar, ConfigError, enumVar, intVar, numberVar, postgresUrlVar, schemaVar, value, type Env } from '@perfwatch/store/env';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const COOKIE_SECURE_MODES = ['auto', 'true', 'false'] as const;
export type CookieSecureMode = (typeof COOKIE_SECURE_MODES)[number];

/** What express's `trust proxy` setting takes: off, on, a hop count, or addresses / subnets. */
export type TrustProxy = boolean | number | string[];

export interface ApiConfig {
  /** PERFWATCH_API_PORT: port of the JSON API, /health, /ready and /metrics (8000; 0 picks a free port). */
  port: number;
  /** PERFWATCH_API_HOST: listen address ("0.0.0.0": every interface). */
  listenHost: string;
  /** PERFWATCH_UI_PORT: port of the admin UI (api/admin/dist), which the api process serves
   *  together with the same /api routes, so its calls are same-origin and the httpOnly session
   *  cookie works (3000; 0 picks a free port; `off`: no UI listener). */
  uiPort: number | undefined;
  /** PERFWATCH_UI_HOST: listen address of the admin UI (PERFWATCH_API_HOST's value). */
  uiHost: string;
  /** NODE_ENV: "production" makes unsafe settings (a weak JWT_SECRET, a low scrypt cost) fatal instead of warnings. */
  production: boolean;
  /** DATABASE_URL: PostgreSQL holding users, tokens, retention and history (required; `npm start`
   *  sets it to its embedded PostgreSQL). */
  databaseUrl: string;
  /** DATABASE_READ_URL: a hot standby of DATABASE_URL (streaming replication) that takes the
   *  query load: the JSON API's history reads, PromQL, annotations and the status screen; users,
   *  tokens, logins, writes, jobs and the live stream stay on DATABASE_URL (unset: everything
   *  there). Its lag is in /api/v1/status and /metrics (docs/scaling.md). */
  databaseReadUrl: string | undefined;
  /** PERFWATCH_DB_SCHEMA: schema holding PerfWatch's tables (perfwatch). */
  dbSchema: string;
  /** PERFWATCH_API_DB_MIGRATE: apply migrations at start, under store's advisory lock; false only
   *  checks the schema version (true). */
  dbMigrate: boolean;
  /** PERFWATCH_API_DB_POOL_MAX: connections the api may hold, 1..100 (10). */
  dbPoolMax: number;
  /** PERFWATCH_QUERY_WORKERS: worker threads that evaluate PromQL and JSON API queries, each with
   *  its own pool of PERFWATCH_API_DB_POOL_MAX connections, 0..16; 0 evaluates in the api's own
   *  thread (default: CPUs - 1, 1 to 4). */
  queryWorkers: number;
  /** PERFWATCH_QUERY_IN_THREAD_MS: with workers, a query is first evaluated in the api's thread for
   *  at most this long (wall clock), then by a worker from the start; 0..1000, 0 = always in a
   *  worker (20). */
  queryInThreadMs: number;
  /** PERFWATCH_DB_CONNECT_TIMEOUT_SECONDS: give up getting a connection after this long (5). */
  dbConnectTimeoutSeconds: number;
  /** PERFWATCH_DB_STATEMENT_TIMEOUT_SECONDS: server-side limit of one statement (30). */
  dbStatementTimeoutSeconds: number;
  /** PERFWATCH_LOG_LEVEL: pino level (info). */
  logLevel: LogLevel;
  /** JWT_SECRET: HS256 key of access tokens (unset: a random 256-bit key is generated once and kept
   *  in the database, so tokens survive restarts and every replica shares it). */
  jwtSecret: string | undefined;
  /** PERFWATCH_JWT_TTL_SECONDS: lifetime of an access token, 60..86400 (900: 15 minutes). */
  jwtTtlSeconds: number;
  /** PERFWATCH_REFRESH_TTL_SECONDS: lifetime of a refresh token; each use rotates it and starts a
   *  new lifetime, 300..7776000 (604800: 7 days). */
  refreshTtlSeconds: number;
  /** ADMIN_USERNAME: the administrator created on first start, when the database has no user (admin). */
  adminUsername: string;
  /** ADMIN_PASSWORD: that administrator's password (unset: a random one is generated and printed
   *  once). A generated password, `admin123` or one shorter than the minimum must be changed at
   *  first login. */
  adminPassword: string | undefined;
  /** PERFWATCH_PASSWORD_MIN_LENGTH: shortest password accepted, 8..256 (12). */
  passwordMinLength: number;
  /** PERFWATCH_SCRYPT_N: scrypt cost of new password hashes, a power of two 1024..1048576
   *  (131072 = 2^17 with r=8, p=1: OWASP's recommendation; NODE_ENV=production refuses less). */
  scryptN: number;
  /** PERFWATCH_CORS_ORIGINS: comma-separated origins whose pages may call the api with
   *  credentials (http://localhost:3000, the admin UI); `none` for no cross-origin caller. */
  corsOrigins: string[];
  /** PERFWATCH_TRUST_PROXY: express `trust proxy`: false, true, a hop count, or comma-separated
   *  addresses / CIDRs / loopback,linklocal,uniquelocal of the reverse proxies in front (false).
   *  Decides the client IP of login throttling and whether X-Forwarded-Proto https enables HSTS. */
  trustProxy: TrustProxy;
  /** PERFWATCH_COOKIE_SECURE: Secure flag of the session cookies: auto (when the request came over
   *  TLS), true, false (auto). */
  cookieSecure: CookieSecureMode;
  /** PERFWATCH_API_BODY_LIMIT_BYTES: largest JSON body; a larger one is answered 413 (102400). */
  bodyLimitBytes: number;
  /** PERFWATCH_LOGIN_WINDOW_SECONDS: window of the failed-login counters (300). */
  loginWindowSeconds: number;
  /** PERFWATCH_LOGIN_MAX_PER_USER: failed logins of one user name within the window after which
   *  logins for it are answered 429 (5). */
  loginMaxPerUser: number;
  /** PERFWATCH_LOGIN_MAX_PER_IP: failed logins from one client IP within the window after which
   *  its logins are answered 429 (30). */
  loginMaxPerIp: number;
  /** PERFWATCH_API_JOBS: run the background jobs (rollups, partitions ahead, retention) with
   *  pg-boss in this process (true). Replicas may all keep it on: each job runs once per database. */
  jobsEnabled: boolean;
  /** RETENTION_CLEANUP_ENABLED: schedule the daily retention run (true); "run now" works either way. */
  retentionCleanupEnabled: boolean;
  /** PERFWATCH_API_MAX_RANGE_DAYS: longest time range one query or annotations request may span,
   *  1..36500 days (800: a little over the 1h tier's default retention of 730 days). Bounds the
   *  work one request can ask for; a range is 400 RANGE_TOO_LONG above it. */
  maxRangeDays: number;
  /** PERFWATCH_LIVE_PING_SECONDS: the live stream pings every client this often and closes one
   *  that has not answered the previous ping (15). */
  livePingSeconds: number;
  /** PERFWATCH_LIVE_MAX_BUFFER_BYTES: bytes a live client may have waiting to be sent before it is
   *  dropped as too slow (close code 1013), rather than buffering without bound (4194304). */
  liveMaxBufferBytes: number;
  /** PERFWATCH_LIVE_MAX_MESSAGE_BYTES: largest message a live client may send; a larger one closes
   *  the connection (1009) (65536). */
  liveMaxMessageBytes: number;
  /** PERFWATCH_LIVE_MAX_CLIENTS: live connections this api accepts in all (1000). */
  liveMaxClients: number;
  /** PERFWATCH_LIVE_MAX_CLIENTS_PER_USER: live connections of one user (20). */
  liveMaxClientsPerUser: number;
  /** Allowed but unsafe settings, for main.ts to log at start (not a variable). */
  warnings: string[];
}

/** The old design's default secret, refused in production. */
export const INSECURE_JWT_SECRET = 'change-this-in-production';
/** scrypt N recommended by OWASP (with r=8, p=1). */
export const OWASP_SCRYPT_N = 2 ** 17;

export const DEFAULTS = {
  port: 8000,
  listenHost: '0.0.0.0',
  uiPort: 3000,
  uiHost: '0.0.0.0',
  dbSchema: 'perfwatch',
  dbMigrate: true,
  // Login hashing holds a connection only briefly; Grafana's query load (part 2) wants more.
  dbPoolMax: 10,
  // One thread answers HTTP, the others evaluate: no query holds the event loop.
  queryWorkers: Math.max(1, Math.min(4, availableParallelism() - 1)),
  // A dashboard's query of one host takes a few ms: here it skips two hops between threads.
  queryInThreadMs: 20,
  dbConnectTimeoutSeconds: 5,
  dbStatementTimeoutSeconds: 30,
  logLevel: 'info' as LogLevel,
  jwtTtlSeconds: 900,
  refreshTtlSeconds: 604_800,
  adminUsername: 'admin',
  passwordMinLength: 12,
  scryptN: OWASP_SCRYPT_N,
  corsOrigins: ['http://localhost:3000'],
  trustProxy: false as TrustProxy,
  cookieSecure: 'auto' as CookieSecureMode,
  bodyLimitBytes: 102_400,
  loginWindowSeconds: 300,
  loginMaxPerUser: 5,
  loginMaxPerIp: 30,
  jobsEnabled: true,
  retentionCleanupEnabled: true,
  livePingSeconds: 15,
  // A few dozen snapshots of a large host: a client that stalls for longer is not keeping up.
  liveMaxBufferBytes: 4 * 1024 * 1024,
  liveMaxMessageBytes: 65_536,
  liveMaxClients: 1000,
  liveMaxClientsPerUser: 20,
  maxRangeDays: 800,
} as const;

/** User names: what the users table's CHECK accepts. */
export const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/** Browser origins (scheme://host[:port]); `*` is refused: the api answers with credentials. */
export function originsVar(env: Env, name: string, def: readonly string[]): string[] {
  const v = value(env, name);
  if (v === undefined) return [...def];
  if (v.toLowerCase() === 'none') return [];
  const out: string[] = [];
  for (const item of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (item === '*') throw new ConfigError(name, '"*" is not allowed: the api sends credentials, so list the origins (e.g. http://localhost:3000)');
    let url: URL | undefined;
    try {
      url = new URL(item);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== item.replace(/\/$/, '')) {
      throw new ConfigError(name, `"${item}" is not an origin: use scheme://host[:port] without a path, e.g. https://perfwatch.example.com`);
    }
    out.push(url.origin);
  }
  return [...new Set(out)];
}

/** A port, or `off` (also none, false) for a listener that is not wanted. */
export function portOrOffVar(env: Env, name: string, def: number): number | undefined {
  const v = value(env, name);
  if (v === undefined) return def;
  if (/^(off|none|false)$/i.test(v)) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new ConfigError(name, `"${v}" is not a port from 0 to 65535 or off (default ${def})`);
  return Number(v);
}

const TRUST_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

export function trustProxyVar(env: Env, name: string, def: TrustProxy): TrustProxy {
  const v = value(env, name);
  if (v === undefined) return def;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  if (/^(true|yes|on)$/i.test(v)) return true;
  if (/^\d+$/.test(v)) return Number(v);
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (TRUST_NAMES.has(item)) continue;
    const [addr, prefix, ...rest] = item.split('/');
    const family = isIP(addr ?? '');
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (!family || !prefixOk || rest.length) {
      throw new ConfigError(name, `"${item}" is not an address, a CIDR or one of loopback, linklocal, uniquelocal (or use false, true or a hop count)`);
    }
  }
  return items;
}

export function loadConfig(env: Env): ApiConfig {
  const production = value(env, 'NODE_ENV') === 'production';
  const warnings: string[] = [];

  const jwtSecret = value(env, 'JWT_SECRET');
  if (jwtSecret !== undefined) {
    const why =
      jwtSecret === INSECURE_JWT_SECRET
        ? `is the published default "${INSECURE_JWT_SECRET}"`
        : Buffer.byteLength(jwtSecret) < 32
          ? `is shorter than 32 bytes (${Buffer.byteLength(jwtSecret)})`
          : undefined;
    if (why) {
      const fix = 'anyone who knows it can sign tokens: unset it (a random secret is then kept in the database) or use 32+ random bytes (openssl rand -base64 48)';
      if (production) throw new ConfigError('JWT_SECRET', `${why}; refused with NODE_ENV=production: ${fix}`);
      warnings.push(`JWT_SECRET ${why}: ${fix}. NODE_ENV=production refuses to start with it.`);
    }
  }

  const adminUsername = value(env, 'ADMIN_USERNAME') ?? DEFAULTS.adminUsername;
  if (!USERNAME_RE.test(adminUsername)) {
    throw new ConfigError('ADMIN_USERNAME', `"${adminUsername}" is not a user name: 1 to 64 letters, digits and _ . @ -, starting with a letter or digit`);
  }

  const scryptN = intVar(env, 'PERFWATCH_SCRYPT_N', DEFAULTS.scryptN, 1024, 2 ** 20);
  if ((scryptN & (scryptN - 1)) !== 0) throw new ConfigError('PERFWATCH_SCRYPT_N', `"${scryptN}" is not a power of two (default ${DEFAULTS.scryptN})`);
  if (scryptN < OWASP_SCRYPT_N) {
    const msg = `${scryptN} is below OWASP's 131072 (2^17): passwords are cheaper to guess from a stolen database`;
    if (production) throw new ConfigError('PERFWATCH_SCRYPT_N', `${msg}; refused with NODE_ENV=production`);
    warnings.push(`PERFWATCH_SCRYPT_N=${msg}.`);
  }

  const port = intVar(env, 'PERFWATCH_API_PORT', DEFAULTS.port, 0, 65535);
  const uiPort = portOrOffVar(env, 'PERFWATCH_UI_PORT', DEFAULTS.uiPort);
  if (uiPort !== undefined && uiPort !== 0 && uiPort === port) {
    throw new ConfigError('PERFWATCH_UI_PORT', `${uiPort} is also PERFWATCH_API_PORT: give the admin UI another port (default ${DEFAULTS.uiPort}) or off`);
  }
  const listenHost = value(env, 'PERFWATCH_API_HOST') ?? DEFAULTS.listenHost;

  return {
    port,
    listenHost,
    uiPort,
    uiHost: value(env, 'PERFWATCH_UI_HOST') ?? listenHost,
    production,
    databaseUrl: postgresUrlVar(env, 'DATABASE_URL', true),
    databaseReadUrl: postgresUrlVar(env, 'DATABASE_READ_URL'),
    dbSchema: schemaVar(env, 'PERFWATCH_DB_SCHEMA', DEFAULTS.dbSchema),
    dbMigrate: boolVar(env, 'PERFWATCH_API_DB_MIGRATE', DEFAULTS.dbMigrate),
    dbPoolMax: intVar(env, 'PERFWATCH_API_DB_POOL_MAX', DEFAULTS.dbPoolMax, 1, 100),
    queryWorkers: intVar(env, 'PERFWATCH_QUERY_WORKERS', DEFAULTS.queryWorkers, 0, 16),
    queryInThreadMs: intVar(env, 'PERFWATCH_QUERY_IN_THREAD_MS', DEFAULTS.queryInThreadMs, 0, 1000),
    dbConnectTimeoutSeconds: numberVar(env, 'PERFWATCH_DB_CONNECT_TIMEOUT_SECONDS', DEFAULTS.dbConnectTimeoutSeconds, 0.1, 600),
    dbStatementTimeoutSeconds: numberVar(env, 'PERFWATCH_DB_STATEMENT_TIMEOUT_SECONDS', DEFAULTS.dbStatementTimeoutSeconds, 0.1, 3600),
    logLevel: enumVar(env, 'PERFWATCH_LOG_LEVEL', DEFAULTS.logLevel, LOG_LEVELS),
    jwtSecret,
    jwtTtlSeconds: intVar(env, 'PERFWATCH_JWT_TTL_SECONDS', DEFAULTS.jwtTtlSeconds, 60, 86_400),
    refreshTtlSeconds: intVar(env, 'PERFWATCH_REFRESH_TTL_SECONDS', DEFAULTS.refreshTtlSeconds, 300, 7_776_000),
    adminUsername,
    adminPassword: value(env, 'ADMIN_PASSWORD'),
    passwordMinLength: intVar(env, 'PERFWATCH_PASSWORD_MIN_LENGTH', DEFAULTS.passwordMinLength, 8, 256),
    scryptN,
    corsOrigins: originsVar(env, 'PERFWATCH_CORS_ORIGINS', DEFAULTS.corsOrigins),
    trustProxy: trustProxyVar(env, 'PERFWATCH_TRUST_PROXY', DEFAULTS.trustProxy),
    cookieSecure: enumVar(env, 'PERFWATCH_COOKIE_SECURE', DEFAULTS.cookieSecure, COOKIE_SECURE_MODES),
    bodyLimitBytes: intVar(env, 'PERFWATCH_API_BODY_LIMIT_BYTES', DEFAULTS.bodyLimitBytes, 1024, 10_485_760),
    loginWindowSeconds: intVar(env, 'PERFWATCH_LOGIN_WINDOW_SECONDS', DEFAULTS.loginWindowSeconds, 10, 86_400),
    loginMaxPerUser: intVar(env, 'PERFWATCH_LOGIN_MAX_PER_USER', DEFAULTS.loginMaxPerUser, 1, 1000),
    loginMaxPerIp: intVar(env, 'PERFWATCH_LOGIN_MAX_PER_IP', DEFAULTS.loginMaxPerIp, 1, 100_000),
    jobsEnabled: boolVar(env, 'PERFWATCH_API_JOBS', DEFAULTS.jobsEnabled),
    retentionCleanupEnabled: boolVar(env, 'RETENTION_CLEANUP_ENABLED', DEFAULTS.retentionCleanupEnabled),
    livePingSeconds: numberVar(env, 'PERFWATCH_LIVE_PING_SECONDS', DEFAULTS.livePingSeconds, 0.05, 3600),
    liveMaxBufferBytes: intVar(env, 'PERFWATCH_LIVE_MAX_BUFFER_BYTES', DEFAULTS.liveMaxBufferBytes, 1024, 1_073_741_824),
    liveMaxMessageBytes: intVar(env, 'PERFWATCH_LIVE_MAX_MESSAGE_BYTES', DEFAULTS.liveMaxMessageBytes, 256, 10_485_760),
    liveMaxClients: intVar(env, 'PERFWATCH_LIVE_MAX_CLIENTS', DEFAULTS.liveMaxClients, 1, 100_000),
    liveMaxClientsPerUser: intVar(env, 'PERFWATCH_LIVE_MAX_CLIENTS_PER_USER', DEFAULTS.liveMaxClientsPerUser, 1, 100_000),
    maxRangeDays: intVar(env, 'PERFWATCH_API_MAX_RANGE_DAYS', DEFAULTS.maxRangeDays, 1, 36_500),
    warnings,
  };
}
