/** Shared test helpers: gated child processes and skips that say why. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Skips the current test or hook, printing the reason so a skipped suite is never silent. */
export function skip(ctx: Mocha.Context, reason: string): never {
  console.log(`      skipped: ${reason}`);
  ctx.skip();
  throw new Error('unreachable');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function haveCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** The unprivileged user the permission tests run as (created by ensureTestUser). */
export const TEST_USER = 'perfwatch-test';

/** Creates TEST_USER unless it exists (root only); the reason it could not, else undefined. */
export function ensureTestUser(): string | undefined {
  if (spawnSync('id', ['-u', TEST_USER], { stdio: 'ignore' }).status === 0) return undefined;
  const r = spawnSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', TEST_USER], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `useradd ${TEST_USER} failed: ${r.stderr.trim() || r.error}`;
}

/**
 * A child that prints "ready", waits for one line on stdin, then runs `work` (JavaScript for
 * `node -e`) and exits. Lets a test open counters on the child's pid before the work starts.
 */
export interface GatedChild {
  child: ChildProcess;
  pid: number;
  go(): void;
  exited: Promise<number | null>;
  /** what `work` printed to stdout so far. */
  output(): string;
}

export async function gatedNode(work: string, prefix: readonly string[] = []): Promise<GatedChild> {
  const script = `process.stdout.write('ready\\n'); process.stdin.once('data', async () => { ${work}; process.exit(0); });`;
  const argv = [...prefix, process.execPath, '-e', script];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      resolve();
    });
  });
  if (child.pid === undefined) throw new Error('child has no pid');
  return { child, pid: child.pid, go: () => child.stdin?.write('go\n'), exited, output: () => out.replace(/^ready\n/, '') };
}

/**
 * A busy loop that runs until the process has used `ms` milliseconds of CPU time, as `node -e`
 * source. CPU time, not wall time: on a loaded machine a loop of `ms` wall milliseconds may get a
 * small share of a CPU, and the counters the tests compare with it count CPU time.
 */
export const busyLoop = (ms: number): string =>
  `{ const u0 = process.cpuUsage(); let x = 0, u = u0; while ((u = process.cpuUsage(u0)).user + u.system < ${ms * 1000}) x++; }`;

export function sumBy<T>(items: readonly T[], f: (t: T) => number): number {
  return items.reduce((acc, t) => acc + f(t), 0);
}

/** file: URL of tsx's loader, for `node --import` in child processes. */
export const TSX_LOADER = import.meta.resolve('tsx');

/** URL of this package's TypeScript entry, for child scripts. */
export const LIB_URL = new URL('../lib/index.ts', import.meta.url).href;

export interface ChildResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript (.mts) script in a fresh node through tsx, optionally behind a command
 * prefix such as ['runuser', '-u', user, '--'] or ['prlimit', '--nofile=64:64'].
 */
export function runTs(script: string, prefix: readonly string[] = [], cwd?: string): ChildResult {
  const argv = [...prefix, process.execPath, '--import', TSX_LOADER, script];
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', cwd, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/** The last line of stdout parsed as JSON (child scripts print their result that way). */
export function lastJson<T>(r: ChildResult): T {
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`child printed no JSON (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

/**
 * A cgroup v2 hierarchy mounted on a fresh temporary directory (root only), for tests that need
 * cgroups of their own. `mkdir` creates a child cgroup; `remove` deletes the children (after their
 * tasks have exited), unmounts and removes the directory, saying what it could not undo.
 */
export class TempCgroup2 {
  private readonly made: string[] = [];
  private mounted = false;
  readonly dir: string;

  private constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  /** Mounts one, or skips the test with the reason when this is not root or the mount fails. */
  static mount(ctx: Mocha.Context, prefix = 'perfwatch-cg2-'): TempCgroup2 {
    if (!isRoot()) skip(ctx, 'mounting cgroup2 needs root');
    const cg = new TempCgroup2(prefix);
    const r = spawnSync('mount', ['-t', 'cgroup2', 'none', cg.dir], { encoding: 'utf8' });
    if (r.status !== 0) {
      rmdirSync(cg.dir);
      skip(ctx, `mount -t cgroup2 failed: ${(r.stderr || String(r.error)).trim()}`);
    }
    cg.mounted = true;
    return cg;
  }

  mkdir(name: string): string {
    const d = join(this.dir, name);
    mkdirSync(d);
    this.made.push(d);
    return d;
  }

  remove(): void {
    // Children first; a cgroup can be removed once its tasks have exited and been reaped.
    for (const d of this.made.splice(0).reverse()) {
      try {
        rmdirSync(d);
      } catch (err) {
        console.log(`      cleanup: rmdir ${d}: ${(err as Error).message}`);
      }
    }
    if (this.mounted) {
      const r = spawnSync('umount', [this.dir], { encoding: 'utf8' });
      if (r.status !== 0) console.log(`      cleanup: umount ${this.dir}: ${r.stderr.trim()}`);
      this.mounted = false;
    }
    try {
      rmdirSync(this.dir);
    } catch {
      // already gone
    }
  }
}
