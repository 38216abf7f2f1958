/**
 * Live stream fan-out: the api process (api/dist/main.js when built, else api/src/main.ts through
 * tsx; its own process so its CPU and memory can be read from /proc) with 100 WebSocket clients subscribed to one host; snapshots of the
 * large fixture host (exporter/test/fixtures/large, values moving as store/test/synth.ts makes
 * them) written with insertSnapshots (the exporter's path) at 1/s for 20 s, then a burst of
 * 20/s for 5 s. Prints the delivery latency from the insert's commit (insertSnapshots resolved)
 * to the receipt at each client, p50/p99/max, messages/s received, and the api's CPU (share of
 * one core over the phase) and RSS.
 *
 *   node --conditions=perfwatch-src --import tsx api/bench/live.ts
 *
 * TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); BENCH_LIVE_CLIENTS=100,
 * BENCH_LIVE_SECONDS=20. The schema is the benchmark's own and dropped afterwards.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { createPool, insertSnapshots } from '@perfwatch/store';
import { fixtureSnapshot, HostSim } from '../../store/test/synth.js';

const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CLIENTS = Number(process.env.BENCH_LIVE_CLIENTS ?? 100);
const SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 20);
const BURST_RATE = 20;
const BURST_SECONDS = 5;
const HOST = 'bench-live';
const SRC_MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const DIST_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
/** The built api (npm run bench builds it first) unless it is missing or older than the source. */
function apiCommand(): { args: string[]; what: string } {
  const built = (f: string) => (existsSync(f) ? statSync(f).mtimeMs : 0);
  const fresh = ['main', 'live', 'service'].every((m) => built(fileURLToPath(new URL(`../dist/${m}.js`, import.meta.url))) >= built(fileURLToPath(new URL(`../src/${m}.ts`, import.meta.url))));
  return fresh && existsSync(DIST_MAIN)
    ? { args: [DIST_MAIN], what: 'api/dist/main.js' }
    : { args: ['--conditions=perfwatch-src', '--import', 'tsx', SRC_MAIN], what: 'api/src/main.ts through tsx (no fresh build: RSS includes the TypeScript loader)' };
}
const PASSWORD = 'bench-live-password-1';
const TICK = 100; // clock ticks per second (USER_HZ)

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system) of a process so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

function memory(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const schema = `bench_live_${process.pid}`;
const apiPort = await freePort();
process.stdout.write(`# live stream fan-out (${new Date().toISOString()}): Node ${process.version}, ${cpus().length} CPUs\n`);

const env: Record<string, string | undefined> = {
  ...process.env,
  DATABASE_URL: url,
  PERFWATCH_DB_SCHEMA: schema,
  PERFWATCH_API_PORT: String(apiPort),
  PERFWATCH_API_HOST: '127.0.0.1',
  PERFWATCH_UI_PORT: 'off',
  PERFWATCH_API_JOBS: 'false',
  PERFWATCH_SCRYPT_N: '1024',
  PERFWATCH_LOG_LEVEL: 'warn',
  PERFWATCH_LIVE_MAX_CLIENTS_PER_USER: String(CLIENTS + 10),
  ADMIN_USERNAME: 'admin',
  ADMIN_PASSWORD: PASSWORD,
};
delete env.NODE_ENV;
const cmd = apiCommand();
process.stdout.write(`api: ${cmd.what}\n`);
const child = spawn(process.execPath, cmd.args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
const base = `http://127.0.0.1:${apiPort}`;
const pool = createPool({ databaseUrl: url, schema });
const clients: WebSocket[] = [];

try {
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/ready`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (i > 600 || child.exitCode !== null) throw new Error('the api did not become ready');
    await sleep(100);
  }
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
  const { token } = (await login.json()) as { token: string };

  // Received messages: ts -> receipt times (ms, performance.now()).
  const receipts = new Map<number, number[]>();
  let bytes = 0;
  await Promise.all(
    Array.from(
      { length: CLIENTS },
      () =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${apiPort}/api/v1/live`, { headers: { authorization: `Bearer ${token}` } });
          clients.push(ws);
          ws.on('message', (data) => {
            const now = performance.now();
            const text = String(data);
            const m = JSON.parse(text) as { type: string; ts?: number };
            if (m.type === 'subscribed') return resolve();
            if (m.type !== 'snapshot') return;
            bytes += text.length;
            let r = receipts.get(m.ts!);
            if (!r) receipts.set(m.ts!, (r = []));
            r.push(now);
          });
          ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', hosts: [HOST] })));
          ws.once('error', reject);
        }),
    ),
  );

  const sim = new HostSim(fixtureSnapshot('large'), HOST, 7);
  let ts = Date.UTC(2030, 0, 1);
  // The host exists and has a snapshot before timing (the first write registers it).
  await insertSnapshots(pool, [sim.next(ts)]);
  await sleep(500);
  const size = Buffer.byteLength(JSON.stringify(sim.next(ts - 1)));

  async function phase(name: string, rate: number, seconds: number): Promise<void> {
    receipts.clear();
    bytes = 0;
    const committed = new Map<number, number>();
    const cpu0 = cpuSeconds(child.pid!);
    const t0 = performance.now();
    const n = Math.round(rate * seconds);
    for (let i = 0; i < n; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const s = sim.next((ts += 1000));
      await insertSnapshots(pool, [s]);
      committed.set(s.ts, performance.now());
    }
    // Let the last ones arrive (or be missing).
    for (let i = 0; i < 50 && [...committed.keys()].some((k) => (receipts.get(k)?.length ?? 0) < CLIENTS); i++) await sleep(100);
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(child.pid!) - cpu0;
    const lat: number[] = [];
    let missing = 0;
    for (const [k, at] of committed) {
      const r = receipts.get(k) ?? [];
      missing += CLIENTS - r.length;
      for (const x of r) lat.push(x - at);
    }
    lat.sort((a, b) => a - b);
    const mem = memory(child.pid!);
    process.stdout.write(
      `${name}: ${n} snapshots at ${rate}/s to ${CLIENTS} clients: latency commit->receipt p50 ${fmt(percentile(lat, 50), 1)} ms, p99 ${fmt(percentile(lat, 99), 1)} ms, max ${fmt(lat[lat.length - 1] ?? NaN, 1)} ms; ` +
        `${fmt(lat.length / wall)} messages/s received (${fmt(bytes / wall / 1e6, 1)} MB/s), ${missing} missing; ` +
        `api CPU ${fmt((cpu / wall) * 100, 1)}% of one core, RSS ${fmt(mem.rss / 2 ** 20)} MiB (peak ${fmt(mem.hwm / 2 ** 20)} MiB)\n`,
    );
  }

  process.stdout.write(`snapshot: exporter/test/fixtures/large (${fmt(size / 1024, 1)} KiB of JSON per message)\n`);
  await phase('steady', 1, SECONDS);
  await phase('burst', BURST_RATE, BURST_SECONDS);
} finally {
  for (const ws of clients) ws.terminate();
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  await pool.end();
}
