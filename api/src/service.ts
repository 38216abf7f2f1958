/**
 * startApi: pool, database preparation (waiting for a database that is still starting), the
 * express app on an HTTP server, and the housekeeping timer; close() shuts it all down in order.
 * main.ts runs it from the environment; tests run it with their own config on port 0.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { hybridEngine, inProcessEngine, workerEngine, type QueryEngine } from './promql/engine.js';

/** Queries evaluated in the api's thread at once (PERFWATCH_QUERY_IN_THREAD_MS); more go to the workers. */
const IN_THREAD_AT_ONCE = 2;
import { closePool, createPool, isTransient, JOB_QUEUES, replicaLag, runRetentionNow, startJobs, storeOptionsOf, type Pool, type RunningJobs } from '@perfwatch/store';
import { buildInfo, createApp } from './app.js';
import { OWASP_SCRYPT, PasswordHasher } from './auth/passwords.js';
import { warmUpStrength } from './auth/strength.js';
import { prepareDatabase, type Announce, type Prepared } from './bootstrap.js';
import type { ApiConfig } from './config.js';
import { pruneLoginFailures } from './db/logins.js';
import { pruneSessions } from './db/sessions.js';
import { errorMessage } from './errors.js';
import { LiveStream } from './live.js';
import type { Logger } from './log.js';
import { ApiMetrics } from './metrics.js';
import { uiRequestListener, UI_DIR } from './ui.js';

export interface RunningApi {
  url: string;
  server: Server;
  pool: Pool;
  /** pg-boss and the store's jobs, when started. */
  jobs: RunningJobs | undefined;
  prepared: Prepared;
  /** The admin UI's listener (PERFWATCH_UI_PORT), when serveUi asked for it. */
  uiServer?: Server;
  uiUrl?: string;
  /** the live stream (/api/v1/live) on both listeners. */
  live: LiveStream;
  close(): Promise<void>;
}

export interface StartOptions {
  /** where the generated admin password is printed (stdout). */
  announce?: Announce;
  /** how long to wait for the database at start, ms (30 s: npm start's embedded server may still be starting). */
  waitForDatabaseMs?: number;
  /** process metrics on /metrics (true; tests starting many apps turn them off). */
  processMetrics?: boolean;
  /** how long close() lets requests in flight finish, ms (10 s). */
  shutdownGraceMs?: number;
  /** also listen on PERFWATCH_UI_PORT with the admin UI in front of the same app (main.ts: true;
   *  tests that drive the UI say so, the others leave the port alone). */
  serveUi?: boolean;
  /** where the UI's built files are (api/admin/dist). */
  uiDir?: string;
  /** start pg-boss and the store's jobs when PERFWATCH_API_JOBS allows (main.ts: true; tests
   *  about other things leave them off). */
  jobs?: boolean;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

function urlOf(server: Server): string {
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`;
}

/** Deletes expired throttling rows, revocations and sessions; every replica may run it, the DELETEs are idempotent. */
export async function housekeeping(pool: Pool, config: ApiConfig): Promise<void> {
  await pruneLoginFailures(pool, config.loginWindowSeconds);
  await pruneSessions(pool);
}

export async function startApi(config: ApiConfig, log: Logger, opts: StartOptions = {}): Promise<RunningApi> {
  const pool = createPool(storeOptionsOf(config, 'perfwatch-api'), log.child({ component: 'db' }));
  // DATABASE_READ_URL: the query load on a hot standby (docs/scaling.md); everything else on `pool`.
  const readUrl = config.databaseReadUrl;
  const readPool = readUrl === undefined ? pool : createPool({ ...storeOptionsOf(config, 'perfwatch-api-read'), databaseUrl: readUrl }, log.child({ component: 'db-read' }));
  const closePools = async () => {
    if (readPool !== pool) await closePool(readPool);
    await closePool(pool);
  };
  const hasher = new PasswordHasher({ ...OWASP_SCRYPT, N: config.scryptN });
  let live: LiveStream | undefined;
  let engine: QueryEngine | undefined;
  try {
    const deadline = Date.now() + (opts.waitForDatabaseMs ?? 30_000);
    let prepared: Prepared | undefined;
    for (let attempt = 1; !prepared; attempt++) {
      try {
        prepared = await prepareDatabase(pool, config, hasher, log, opts.announce);
      } catch (err) {
        if (!isTransient(err) || Date.now() >= deadline) throw err;
        if (attempt === 1) log.warn({ err: errorMessage(err) }, 'the database is not reachable yet; retrying');
        await sleep(1000);
      }
    }
    await hasher.warmUp();
    // The password estimator's dictionaries (a few hundred ms), before the first password change waits for them.
    warmUpStrength();
    const jobs =
      opts.jobs && config.jobsEnabled
        ? await startJobs(config.databaseUrl, pool, { schema: config.dbSchema, retentionEnabled: config.retentionCleanupEnabled, log })
        : undefined;

    const metrics = new ApiMetrics(buildInfo(), { processMetrics: opts.processMetrics });
    if (config.queryWorkers > 0) {
      const workers = workerEngine({ ...storeOptionsOf(config, 'perfwatch-api-query'), databaseUrl: readUrl ?? config.databaseUrl }, config.queryWorkers, log.child({ component: 'query' }));
      if (config.queryInThreadMs > 0) {
        // The first tries' own pool: its statement_timeout is the budget, so PostgreSQL drops a
        // tried query's statements once the worker has taken the query over.
        const tries = createPool(
          { ...storeOptionsOf(config, 'perfwatch-api-quick'), databaseUrl: readUrl ?? config.databaseUrl, statementTimeoutMs: config.queryInThreadMs, poolMax: 2 * IN_THREAD_AT_ONCE },
          log.child({ component: 'db-quick' }),
        );
        engine = hybridEngine(tries, workers, { budgetMs: config.queryInThreadMs, maxInThread: IN_THREAD_AT_ONCE, close: () => closePool(tries) });
      } else engine = workers;
    } else engine = inProcessEngine(readPool);
    const replica = readPool === pool ? {} : { readPool, replicaLag: () => replicaLag(pool, readPool) };
    if (replica.replicaLag) metrics.observeReplica(replica.replicaLag);
    const app = createApp({ config, pool, log, jwtSecret: prepared.jwtSecret, metrics, hasher, engine, ...replica, ...(jobs ? { runRetentionNow: () => runRetentionNow(jobs.boss) } : {}) });
    if (jobs) metrics.observeJobs(Object.values(JOB_QUEUES), (q) => jobs.boss.getQueueSize(q));
    live = new LiveStream({ config, pool, log, metrics, hasher, jwtSecret: prepared.jwtSecret });
    const server = createServer(app);
    live.attach(server);
    // A client that stops sending mid-request is cut off rather than holding a socket for ever.
    server.requestTimeout = 60_000;
    server.headersTimeout = 30_000;
    await listen(server, config.port, config.listenHost);
    server.on('error', (err) => log.error({ err: errorMessage(err) }, 'HTTP server error'));
    const url = urlOf(server);

    let uiServer: Server | undefined;
    if (opts.serveUi && config.uiPort !== undefined) {
      uiServer = createServer(uiRequestListener(app, opts.uiDir ?? UI_DIR));
      live.attach(uiServer);
      uiServer.requestTimeout = 60_000;
      uiServer.headersTimeout = 30_000;
      try {
        await listen(uiServer, config.uiPort, config.uiHost);
      } catch (err) {
        server.close();
        server.closeAllConnections();
        throw new Error(
          `the admin UI cannot listen on ${config.uiHost}:${config.uiPort} (${errorMessage(err)}): set PERFWATCH_UI_PORT to a free port, or to off for no UI`,
          { cause: err },
        );
      }
      uiServer.on('error', (err) => log.error({ err: errorMessage(err) }, 'admin UI server error'));
    }

    const liveStream = live;
    const queryEngine = engine;
    const tidy = setInterval(() => {
      housekeeping(pool, config).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'housekeeping failed'));
    }, 60_000);
    tidy.unref();

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        clearInterval(tidy);
        // WebSocket connections are not requests: server.close() would wait for them.
        await liveStream.close();
        const servers = uiServer ? [server, uiServer] : [server];
        const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
        for (const s of servers) s.closeIdleConnections();
        const grace = setTimeout(() => servers.forEach((s) => s.closeAllConnections()), opts.shutdownGraceMs ?? 10_000);
        await closed;
        clearTimeout(grace);
        await jobs?.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'stopping the jobs failed'));
        await queryEngine.close();
        await closePools();
      })();
      return closing;
    };
    return { url, server, pool, prepared, jobs, live: liveStream, close, ...(uiServer ? { uiServer, uiUrl: urlOf(uiServer) } : {}) };
  } catch (err) {
    await live?.close();
    await engine?.close();
    await closePools();
    throw err;
  }
}
