/**
 * Issue #21: a checkout in a directory only its owner may enter (what mktemp -d makes, what /root
 * is). As root the embedded PostgreSQL runs as user postgres, which cannot enter it, so it could
 * not run the programs in the checkout's node_modules (`spawn .../initdb EACCES`) nor keep its
 * data in <checkout>/.perfwatch; npm start asked to loosen the directory.
 *
 * These run npm start (scripts/start.mjs, DATABASE_URL unset) from a copy of this working tree in
 * a fresh mktemp -d directory (mode 0700): the files git sees, the build outputs (so the start
 * does not compile everything again) and node_modules hard-linked, so that everything, the
 * PostgreSQL programs included, sits inside the private directory as in a clone.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import pg from 'pg';
import { checkoutDataDir, StoreError } from '../src/index.js';
import { ROOT } from './child.js';
import { freePort, tempDir } from './helpers.js';

const WORKSPACES = ['store', 'native', 'exporter', 'api'];
const BUILD_OUTPUTS = [...WORKSPACES.flatMap((w) => [`${w}/dist`, `${w}/tsconfig.tsbuildinfo`, `${w}/build-info.json`]), 'native/build', 'api/admin/dist'];

/** This working tree as a fresh clone at `to`, node_modules hard-linked (cp -al: fast, no space). */
function copyCheckout(to: string): void {
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  if (git.status !== 0) throw new Error(`git ls-files failed: ${git.stderr}`);
  for (const f of git.stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(ROOT, f))) continue; // deleted in the working tree
    mkdirSync(dirname(join(to, f)), { recursive: true });
    cpSync(join(ROOT, f), join(to, f), { preserveTimestamps: true });
  }
  // Real copies: the build writes them in place.
  for (const f of BUILD_OUTPUTS) if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(to, f), { recursive: true, preserveTimestamps: true });
  const cp = spawnSync('cp', ['-al', join(ROOT, 'node_modules'), join(to, 'node_modules')], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`cp -al node_modules failed: ${cp.stderr}`);
  // The install stamp is rewritten in place after an install: a copy, not a link to ours.
  const stamp = join(to, 'node_modules', '.perfwatch-install');
  if (existsSync(stamp)) {
    rmSync(stamp);
    copyFileSync(join(ROOT, 'node_modules', '.perfwatch-install'), stamp);
  }
}

/** The mode of every directory from / down to dir and below it (node_modules left out). */
function directoryModes(dir: string): Map<string, number> {
  const modes = new Map<string, number>();
  for (let d = dirname(dir); ; d = dirname(d)) {
    modes.set(d, statSync(d).mode & 0o7777);
    if (dirname(d) === d) break;
  }
  const walk = (d: string) => {
    modes.set(d, lstatSync(d).mode & 0o7777);
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory() && e.name !== 'node_modules') walk(join(d, e.name));
  };
  walk(dir);
  return modes;
}

interface Started {
  proc: ChildProcess;
  out(): string;
  /** the line of npm start's banner that names the embedded PostgreSQL's data directory. */
  dataDir: string;
  stop(): Promise<number | null>;
}

/** npm start's environment: this process's without a database or data directory of its own, then env. */
function startEnv(env: Record<string, string>): Record<string, string | undefined> {
  const childEnv: Record<string, string | undefined> = { ...process.env };
  for (const k of ['DATABASE_URL', 'PERFWATCH_DATA_DIR', 'TEST_DATABASE_URL']) delete childEnv[k];
  return { ...childEnv, ...env };
}

/** Free ports for npm start's services and its embedded PostgreSQL; no UI. */
async function portsEnv() {
  return {
    PERFWATCH_EXPORTER_PORT: String(await freePort()),
    PERFWATCH_API_PORT: String(await freePort()),
    PERFWATCH_UI_PORT: 'off',
    PERFWATCH_EMBEDDED_PG_PORT: String(await freePort()),
  };
}

/** Runs `node scripts/start.mjs` in checkout until it prints that PerfWatch is running. */
async function npmStart(checkout: string, env: Record<string, string>, user?: { uid: number; gid: number }): Promise<Started> {
  const proc = spawn(process.execPath, ['scripts/start.mjs'], { cwd: checkout, env: startEnv(env), stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}) });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
    const t = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    try {
      return await exited;
    } finally {
      clearTimeout(t);
    }
  };
  const end = Date.now() + 240_000;
  while (!/PerfWatch is running:/.test(out)) {
    if (proc.exitCode !== null || Date.now() > end) {
      await stop();
      throw new Error(`npm start did not come up (exit ${proc.exitCode}):\n${out.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const dataDir = /embedded PostgreSQL \S+ on 127\.0\.0\.1:\d+, data in (\S+)/.exec(out)?.[1];
  if (!dataDir) {
    await stop();
    throw new Error(`npm start did not say where the data is:\n${out.slice(-4000)}`);
  }
  return { proc, out: () => out, dataDir, stop };
}

/** Owner (uid) and program of the postmaster of dataDir. */
function postmaster(dataDir: string): { uid: number; exe: string } {
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return { uid, exe: realpathSync(`/proc/${pid}/exe`) };
}

async function schemas(url: pg.ClientConfig): Promise<string[]> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return (await c.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname = 'perfwatch'`)).rows.map((r) => r.nspname);
  } finally {
    await c.end();
  }
}

/** Runs npm start in checkout expecting it to fail: its exit code and what it printed to stderr. */
function npmStartFails(checkout: string, env: Record<string, string>): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['scripts/start.mjs'], { cwd: checkout, env: startEnv(env), encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, stderr: r.stderr };
}

function id(flag: string, user: string): number {
  return Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());
}

/** Skips the test unless this process is root. */
function needRoot(test: Mocha.Context, why: string): void {
  if (process.getuid?.() !== 0) {
    console.log(`      skipped: needs root (${why})`);
    test.skip();
  }
}

describe('a checkout in a private (0700) directory: npm start with the embedded PostgreSQL (issue #21)', function () {
  this.timeout(600_000);
  const created: string[] = [];
  let running: Started | undefined;

  afterEach(async () => {
    await running?.stop();
    running = undefined;
    for (const p of created.splice(0).reverse()) {
      if (p.endsWith('/')) {
        // a directory the test may have created: removed only when empty
        if (existsSync(p) && readdirSync(p).length === 0) rmdirSync(p);
      } else rmSync(p, { recursive: true, force: true });
    }
  });

  /** A copy of this checkout at <priv>/perfwatch, priv a fresh mktemp -d directory removed after the test. */
  const privateCheckout = (): { priv: string; checkout: string } => {
    const priv = mkdtempSync(join(tmpdir(), 'perfwatch-private-'));
    created.push(priv);
    const checkout = join(priv, 'perfwatch');
    copyCheckout(checkout);
    return { priv, checkout };
  };

  it('as root: the server runs as postgres from a copy of its programs, its data under /var/lib/perfwatch, found again on the next start; no directory changes mode', async function () {
    needRoot(this, 'the server then runs as user postgres');
    const { priv, checkout } = privateCheckout();
    expect(statSync(priv).mode & 0o777).to.equal(0o700);
    // A cache of its own, to see the programs copied (the default is /var/cache/perfwatch).
    const cache = join(mkdtempSync(join(tmpdir(), 'perfwatch-cache-')), 'cache');
    created.push(dirname(cache));
    spawnSync('chmod', ['755', dirname(cache)]);
    if (!existsSync('/var/lib/perfwatch')) created.push('/var/lib/perfwatch/');
    const before = directoryModes(checkout);
    const env = {
      ...(await portsEnv()),
      PERFWATCH_EMBEDDED_PG_CACHE_DIR: cache,
      ADMIN_PASSWORD: 'private-checkout-test-1',
    };

    // as root the data goes to /var/lib/perfwatch/<checkout name>-<hash of its path>
    const home = join('/var/lib/perfwatch', `perfwatch-${createHash('sha256').update(realpathSync(checkout)).digest('hex').slice(0, 8)}`);
    created.push(home);

    running = await npmStart(checkout, env);
    const dataDir = running.dataDir;
    expect(dataDir).to.equal(join(home, 'pg'));
    expect(running.out()).to.match(new RegExp(`copying its programs to ${cache}/postgres-`));
    const server = postmaster(dataDir);
    expect(server.uid).to.equal(id('-u', 'postgres'));
    expect(server.exe.startsWith(`${cache}/postgres-`), server.exe).to.equal(true);
    const password = readFileSync(join(dataDir, 'perfwatch.password'), 'utf8').trim();
    const port = Number(env.PERFWATCH_EMBEDDED_PG_PORT);
    // the api migrated the database through it
    expect(await schemas({ host: '127.0.0.1', port, user: 'postgres', password, database: 'perfwatch' })).to.deep.equal(['perfwatch']);
    expect(await running.stop()).to.equal(0);
    running = undefined;

    running = await npmStart(checkout, env);
    expect(running.dataDir).to.equal(dataDir);
    expect(running.out()).not.to.match(/initialising a new PostgreSQL cluster|copying its programs/);
    expect(await schemas({ host: '127.0.0.1', port, user: 'postgres', password, database: 'perfwatch' })).to.deep.equal(['perfwatch']);
    expect(await running.stop()).to.equal(0);
    running = undefined;

    expect(existsSync(join(checkout, '.perfwatch', 'pg')), 'no data in the checkout').to.equal(false);
    const after = directoryModes(checkout);
    const changed = [...before].filter(([d, m]) => after.get(d) !== m).map(([d, m]) => `${d}: ${m.toString(8)} -> ${after.get(d)?.toString(8)}`);
    expect(changed).to.deep.equal([]);
  });

  it('as root, what still cannot work says what to do in one line: a read-only cache directory, a data directory postgres cannot enter', async function () {
    needRoot(this, 'the server then runs as user postgres');
    const { priv, checkout } = privateCheckout();
    const ro = mkdtempSync(join(tmpdir(), 'perfwatch-ro-'));
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'perfwatch-test', ro], { encoding: 'utf8' });
    const base = await portsEnv();
    const oneLine = (stderr: string) => stderr.trim().split('\n').filter((l) => l.startsWith('[perfwatch]'));
    try {
      if (mount.status === 0) {
        const r = npmStartFails(checkout, { ...base, PERFWATCH_EMBEDDED_PG_CACHE_DIR: join(ro, 'cache') });
        expect(r.status).to.equal(1);
        expect(oneLine(r.stderr), r.stderr).to.have.length(1);
        expect(r.stderr).to.match(/embedded PostgreSQL did not start: user postgres, .*cannot reach its programs .*read-only file system.*: choose a writable cache directory \(npm start: PERFWATCH_EMBEDDED_PG_CACHE_DIR\)\n$/);
        expect(r.stderr).not.to.match(/\n\s+at /); // no stack
      } else {
        console.log(`      (read-only case not run: mount -t tmpfs -o ro failed: ${mount.stderr.trim()})`);
      }
    } finally {
      if (mount.status === 0) spawnSync('umount', [ro]);
      rmdirSync(ro);
    }
    const inside = join(checkout, '.perfwatch');
    let r = npmStartFails(checkout, { ...base, PERFWATCH_DATA_DIR: inside });
    expect(r.status).to.equal(1);
    expect(oneLine(r.stderr), r.stderr).to.have.length(1);
    expect(r.stderr, r.stderr).to.include(`cannot enter ${realpathSync(priv)} (mode 700) above its data directory ${inside}/pg: choose a data directory it can reach`);
    const cache = join(priv, 'cache');
    r = npmStartFails(checkout, { ...base, PERFWATCH_EMBEDDED_PG_CACHE_DIR: cache });
    expect(r.status).to.equal(1);
    expect(oneLine(r.stderr), r.stderr).to.have.length(1);
    expect(r.stderr, r.stderr).to.include(`nor the cache directory ${cache} to copy them to (${realpathSync(priv)} is mode 700): choose a cache directory it can reach`);
    expect(existsSync(cache), 'nothing copied').to.equal(false);
    expect(statSync(priv).mode & 0o777).to.equal(0o700);
  });

  it('as an ordinary user: the server runs as that user from node_modules, its data in <checkout>/.perfwatch', async function () {
    needRoot(this, 'to run npm start as another user');
    const user = 'perfwatch-test';
    if (spawnSync('id', ['-u', user]).status !== 0 && spawnSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', user]).status !== 0) {
      console.log(`      skipped: cannot create user ${user}`);
      this.skip();
    }
    const ids = { uid: id('-u', user), gid: id('-g', user) };
    const { priv, checkout } = privateCheckout();
    // The user's own checkout (node_modules stays root's hard links: readable, never written).
    const chown = (p: string) => {
      chownSync(p, ids.uid, ids.gid);
      if (lstatSync(p).isDirectory()) for (const e of readdirSync(p)) if (p !== checkout || e !== 'node_modules') chown(join(p, e));
    };
    chown(priv);
    const before = directoryModes(checkout);
    const env = {
      ...(await portsEnv()),
      ADMIN_PASSWORD: 'private-checkout-test-1',
      HOME: priv,
    };
    running = await npmStart(checkout, env, ids);
    expect(running.dataDir).to.equal(join(checkout, '.perfwatch', 'pg'));
    const server = postmaster(running.dataDir);
    expect(server.uid).to.equal(ids.uid);
    expect(server.exe.startsWith(join(checkout, 'node_modules')), server.exe).to.equal(true);
    expect(await running.stop()).to.equal(0);
    running = undefined;
    const after = directoryModes(checkout);
    expect([...before].filter(([d, m]) => after.get(d) !== m).map(([d]) => d)).to.deep.equal([]);
  });
});

describe('checkoutDataDir: where npm start keeps its data as root', function () {
  let tmp: { dir: string; remove(): void };
  let home: string;
  after(() => tmp?.remove());
  const fakeCluster = (checkout: string) => {
    mkdirSync(join(checkout, '.perfwatch', 'pg'), { recursive: true });
    writeFileSync(join(checkout, '.perfwatch', 'pg', 'PG_VERSION'), '17\n');
    chownSync(join(checkout, '.perfwatch', 'pg'), id('-u', 'postgres'), id('-g', 'postgres'));
  };
  const hashed = (checkout: string) => join(home, `${basename(checkout)}-${createHash('sha256').update(realpathSync(checkout)).digest('hex').slice(0, 8)}`);

  before(function () {
    if (process.getuid?.() !== 0) {
      console.log('      skipped: needs root (not root, it is always <checkout>/.perfwatch)');
      this.skip();
    }
    tmp = tempDir('perfwatch-datadir-');
    home = join(tmp.dir, 'var-lib-perfwatch');
  });

  it('a fresh checkout: <home>/<checkout name>-<hash of its path>, one per checkout', () => {
    const a = join(tmp.dir, 'a', 'perf watch');
    const b = join(tmp.dir, 'b', 'perf watch');
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    expect(checkoutDataDir(a, home)).to.equal(hashed(a).replace('perf watch', 'perf_watch'));
    expect(checkoutDataDir(a, home)).not.to.equal(checkoutDataDir(b, home));
  });

  it("an earlier PerfWatch's cluster in <checkout>/.perfwatch/pg that postgres can reach stays in use", () => {
    const checkout = join(tmp.dir, 'old', 'perfwatch');
    fakeCluster(checkout);
    expect(checkoutDataDir(checkout, home)).to.equal(join(checkout, '.perfwatch'));
  });

  it('one postgres cannot reach: a one-line error that says how to move it, without changing any mode', () => {
    const priv = join(tmp.dir, 'private');
    mkdirSync(priv, { mode: 0o700 });
    const checkout = join(priv, 'perfwatch');
    fakeCluster(checkout);
    const err = (() => {
      try {
        return checkoutDataDir(checkout, home);
      } catch (e) {
        return e;
      }
    })();
    expect(err).to.be.instanceOf(StoreError);
    expect((err as StoreError).message).to.equal(
      `the history of an earlier start is in ${checkout}/.perfwatch/pg, which user postgres cannot reach (${priv} is mode 700): move it to where PerfWatch keeps it as root, mkdir -p ${home} && mv ${checkout}/.perfwatch ${hashed(checkout)}, or set PERFWATCH_DATA_DIR`,
    );
    expect(statSync(priv).mode & 0o777).to.equal(0o700);
    // moved as the message says: found there
    mkdirSync(home, { recursive: true });
    renameSync(join(checkout, '.perfwatch'), hashed(checkout));
    expect(checkoutDataDir(checkout, home)).to.equal(hashed(checkout));
  });
});
