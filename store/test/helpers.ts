/**
 * Real-Postgres test helpers. The server: TEST_DATABASE_URL when set, else the machine's
 * PostgreSQL at postgres://postgres@127.0.0.1:5432/postgres, else (when that does not answer) an
 * embedded PostgreSQL started once for the whole run. Each test file takes its own schema
 * (testSchema), dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createPool, migrate, startEmbeddedPostgres, type EmbeddedPostgres, type Logger, type StoreOptions } from '../src/index.js';

export const SERVICE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

let server: Promise<{ url: string; kind: string }> | undefined;
const cleanups: (() => Promise<void>)[] = [];

/**
 * Runs what the helpers registered (schemas, databases, embedded servers, afterRun), newest
 * first. Under mocha the root hook below does it; a script using these helpers outside mocha
 * (scripts/plugin-test-api.mjs, the benchmarks) calls it itself.
 */
export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
}

// Root-level hook: runs once after every file of the run (only under mocha, which defines after).
if (typeof after === 'function') {
  after(async function () {
    this.timeout(60_000);
    await runCleanups();
  });
}

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The server tests use, and what it is ("TEST_DATABASE_URL", "service", "embedded"). */
export function testServer(): Promise<{ url: string; kind: string }> {
  server ??= (async () => {
    const env = process.env.TEST_DATABASE_URL;
    if (env) return { url: env, kind: 'TEST_DATABASE_URL' };
    if (await answers(SERVICE_URL)) return { url: SERVICE_URL, kind: 'service' };
    const e = await startTestEmbedded();
    return { url: e.url, kind: 'embedded' };
  })();
  return server;
}

/** A unique lower-case name with a prefix (schemas, databases, roles). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A port on 127.0.0.1 where no database ever answers: held by a server that drops every
 * connection at once (pg: "Connection terminated unexpectedly", a transient DB_UNAVAILABLE), so
 * that no other process can start listening there during the test, as it could on a port that
 * freePort found free. close() gives it back.
 */
export async function deadPort(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const s = createServer((c) => {
    sockets.add(c);
    c.on('error', () => undefined);
    c.on('close', () => sockets.delete(c));
    c.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      for (const c of sockets) c.destroy();
      s.close(() => resolve());
    }));
  cleanups.push(close);
  return { port: (s.address() as { port: number }).port, close };
}

/**
 * A temporary directory for embedded data: mode 0755, since the server runs as user postgres when
 * the tests run as root. Removed by the returned function.
 */
export function tempDir(prefix = 'perfwatch-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts an embedded PostgreSQL 17 with its data in <temp dir>/pg, on a free port; stopped and
 * removed after the run (or by the caller, with keep).
 */
export async function startTestEmbedded(opts: { log?: Logger; keep?: boolean } = {}): Promise<EmbeddedPostgres> {
  const tmp = tempDir('perfwatch-pg-');
  const e = await startEmbeddedPostgres({ dataDir: join(tmp.dir, 'pg'), port: await freePort() }, opts.log);
  if (!opts.keep) {
    cleanups.push(async () => {
      await e.stop();
      tmp.remove();
    });
  }
  return e;
}

/** Runs fn after the whole run (stopping servers, removing directories). */
export function afterRun(fn: () => Promise<void> | void): void {
  cleanups.push(async () => fn());
}

export interface TestSchema {
  url: string;
  schema: string;
  pool: pg.Pool;
  /** drops the schema (CASCADE) and ends the pool; also run after the test run. */
  drop(): Promise<void>;
}

/** A fresh schema on the test server (or on url), with a pool whose search_path is it. Optionally migrated. */
export async function testSchema(opts: { url?: string; migrate?: boolean; prefix?: string; pool?: Partial<StoreOptions> } = {}): Promise<TestSchema> {
  const url = opts.url ?? (await testServer()).url;
  const schema = uniqueName(opts.prefix ?? 't');
  const pool = createPool({ databaseUrl: url, schema, ...opts.pool });
  if (opts.migrate) await migrate(pool);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    // pg-boss keeps its tables beside ours (startJobs: <schema>_boss)
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}_boss" CASCADE`).catch(() => undefined);
    await pool.end().catch(() => undefined);
  };
  cleanups.push(drop);
  return { url, schema, pool, drop };
}

/** A snapshot as the exporter makes it, small but of the real shape; `seq` varies the values. */
export function fakeSnapshot(host: string, ts: number, seq = 0): import('../src/index.js').Snapshot {
  return {
    v: 1,
    host,
    ts,
    iv: 5,
    col: { cpu: { ok: true, s: 0.0012 }, meminfo: { ok: true, s: 0.0004 } },
    cpu: { t: { '0': [100 + seq, 1, 50 + seq, 1000 + seq, 2, 0, 1, 0, 0, 0], '1': [90 + seq, 1, 40, 1010 + seq, 3, 0, 1, 0, 0, 0] }, ctxt: 1_000_000 + seq, intr: 2_000_000 + seq },
    mem: { MemTotal: 8_000_000_000, MemAvailable: 4_000_000_000 - seq },
    load: { l: [0.5, 0.4, 0.3] },
  };
}

/** Silent logger recording warnings and errors (to assert on them). */
export function recordingLogger(): Logger & { lines: { level: string; msg: string; obj: object }[] } {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const mk =
    (level: string) =>
    (a: object | string, b?: string): void => {
      lines.push(typeof a === 'string' ? { level, msg: a, obj: {} } : { level, msg: b ?? '', obj: a });
    };
  const log = { error: mk('error'), warn: mk('warn'), info: mk('info'), debug: () => undefined, child: () => log, lines };
  return log;
}
