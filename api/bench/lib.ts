/**
 * What the api benchmarks share beyond store/bench/lib.ts: the api as its own process (as in
 * production) on a benchmark's schema, and logging in to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, url } from '../../store/bench/lib.js';

const SRC_MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const DIST_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const SOURCE = { args: ['--conditions=perfwatch-src', '--import', 'tsx', SRC_MAIN], what: 'api/src/main.ts through tsx' };

/**
 * How to run the api: 'source' is api/src/main.ts through tsx; 'built' is api/dist/main.js (npm
 * run bench builds it first) unless it is missing or older than the source, then the source.
 */
export function apiCommand(prefer: 'built' | 'source'): { args: string[]; what: string } {
  if (prefer === 'source') return SOURCE;
  const built = (f: string) => (existsSync(f) ? statSync(f).mtimeMs : 0);
  const fresh = ['main', 'live', 'service'].every((m) => built(fileURLToPath(new URL(`../dist/${m}.js`, import.meta.url))) >= built(fileURLToPath(new URL(`../src/${m}.ts`, import.meta.url))));
  return fresh && existsSync(DIST_MAIN)
    ? { args: [DIST_MAIN], what: 'api/dist/main.js' }
    : { args: SOURCE.args, what: 'api/src/main.ts through tsx (no fresh build: RSS includes the TypeScript loader)' };
}

export interface ApiProcess {
  child: ChildProcess;
  port: number;
  /** http://127.0.0.1:<port> */
  base: string;
  /** resolves once /ready answers 200; throws when the process exits or a minute passes first. */
  ready(): Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts the api on a free port of 127.0.0.1 over `schema` of the benchmark database (migrated by
 * the api at start), without the admin UI and background jobs, the administrator `admin` with
 * `password`, warnings only in its log; `env` adds or overrides settings; BENCH_API_NODE_ARGS
 * (split at spaces) goes before the api's script, for node's own options. With `stdout`, the
 * api's stdout (its JSON log lines) goes there; else it is dropped. Its stderr is ours.
 */
export async function spawnApi(o: { schema: string; password: string; command: { args: string[] }; env?: Record<string, string>; stdout?: (chunk: Buffer) => void }): Promise<ApiProcess> {
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATABASE_URL: url,
    PERFWATCH_DB_SCHEMA: o.schema,
    PERFWATCH_API_PORT: String(port),
    PERFWATCH_API_HOST: '127.0.0.1',
    PERFWATCH_UI_PORT: 'off',
    PERFWATCH_API_JOBS: 'false',
    PERFWATCH_SCRYPT_N: '1024',
    PERFWATCH_LOG_LEVEL: 'warn',
    ...o.env,
    ADMIN_USERNAME: 'admin',
    ADMIN_PASSWORD: o.password,
  };
  delete env.NODE_ENV;
  // BENCH_API_NODE_ARGS: node's own options for the api (e.g. "--cpu-prof --cpu-prof-dir=DIR",
  // which NODE_OPTIONS refuses; the profile is written at the graceful stop)
  const nodeArgs = (process.env.BENCH_API_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...o.command.args], { env, stdio: ['ignore', o.stdout ? 'pipe' : 'ignore', 'inherit'] });
  if (o.stdout) child.stdout!.on('data', o.stdout);
  const base = `http://127.0.0.1:${port}`;
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    port,
    base,
    async ready() {
      for (let i = 0; ; i++) {
        const ok = await fetch(`${base}/ready`).then((r) => r.status === 200, () => false);
        if (ok) return;
        if (i > 600 || gone()) throw new Error('the api did not become ready');
        await sleep(100);
      }
    },
    async stop() {
      if (gone()) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Logs in with username and password; the session token. */
export async function login(base: string, password: string, username = 'admin'): Promise<string> {
  const r = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  return ((await r.json()) as { token: string }).token;
}

/** Creates an API token (POST /api/v1/tokens with `body`) with a session token; the API token. */
export async function apiToken(base: string, session: string, body: { name: string; role?: 'viewer' | 'admin' }): Promise<string> {
  const r = await fetch(`${base}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` }, body: JSON.stringify(body) });
  return ((await r.json()) as { token: string }).token;
}
