/**
 * 1,000 hosts on one PostgreSQL, simulated for real (#16): `npx tsx bench/fleet.ts`
 * (HOSTS=1000 PROCS=4 DURATION_S=600 by default).
 *
 * HOSTS exporters' writers (exporter/src/writer.ts, each with its own pool of 2 connections and its
 * own spool) in PROCS processes (bench/fleet-writer.ts), realistic snapshots every 5 s each, for
 * DURATION_S, through Debian's pgbouncer in transaction mode (store/test/pgbouncer.ts, 20 server
 * connections) into a fresh schema of the test PostgreSQL. Measured: ingest lag (snapshot time to
 * the commit of its batch) p50/p99/max, snapshots lost (generated - rows in the database),
 * PostgreSQL's connections (pg_stat_activity, sampled every 5 s) and CPU (its processes in /proc,
 * when it runs on this machine), pgbouncer's client and server connections.
 *
 * Then, at HOSTS hosts, the api (in this process, its own pool, queries in its worker threads as by default): the hosts
 * list, the `$host` variable (PromQL label values and the JSON API's), the status screen, the
 * annotations over 24 h and 30 days (the gap index built first, as the job does), and one query
 * over all hosts (instant and over the run). Each 3 times; the median and the slowest.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { updateGapIndex } from '../store/src/index.js';
import { runCleanups, tempDir, testSchema } from '../store/test/helpers.js';
import { startPgbouncer } from '../store/test/pgbouncer.js';
import { loadConfig } from '../api/src/config.js';
import { createLogger } from '../api/src/log.js';
import { startApi } from '../api/src/service.js';
import { postgresCpuSeconds } from '../store/bench/lib.js';

const HOSTS = Number(process.env.HOSTS ?? 1000);
const PROCS = Number(process.env.PROCS ?? 4);
const DURATION_S = Number(process.env.DURATION_S ?? 600);
const WRITER = fileURLToPath(new URL('./fleet-writer.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ADMIN = { username: 'admin', password: 'fleet-bench-admin-password-1' };

const say = (s: string) => process.stdout.write(`${s}\n`);

interface ChildResult {
  hosts: number;
  generated: number;
  written: number;
  spooled: number;
  dropped: number;
  writeErrors: number;
  all: number[];
}

async function main(): Promise<void> {
  const t = await testSchema({ migrate: true, prefix: 'fleet' });
  const bouncer = await startPgbouncer(t.url, { poolSize: 20, maxClientConn: HOSTS * 2 + 100 });
  const spool = tempDir('perfwatch-fleet-');
  say(`${HOSTS} hosts in ${PROCS} processes, a snapshot every 5 s each for ${DURATION_S} s, through pgbouncer (transaction mode, 20 server connections)`);

  // Start a little ahead, so that every writer (1,000 pools) exists before the first snapshot.
  const startAt = Date.now() + 5_000 + HOSTS * 5;
  const per = Math.ceil(HOSTS / PROCS);
  const children = Array.from({ length: PROCS }, (_, p) => {
    const from = p * per;
    const count = Math.max(0, Math.min(per, HOSTS - from));
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: bouncer.url,
        SCHEMA: t.schema,
        HOST_FROM: String(from),
        HOST_COUNT: String(count),
        HOSTS_TOTAL: String(HOSTS),
        START_AT: String(startAt),
        DURATION_S: String(DURATION_S),
        SPOOL_DIR: spool.dir,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    return new Promise<ChildResult>((resolve, reject) =>
      child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult) : reject(new Error(`writer process ${p} exited ${code}`)))),
    );
  });

  // Samples while it runs: PostgreSQL's connections, pgbouncer's pools.
  let maxPg = 0;
  let maxClients = 0;
  let maxServers = 0;
  let cpuFrom: { at: number; cpu: number } | undefined;
  let cpuTo: { at: number; cpu: number } | undefined;
  const sampler = setInterval(() => {
    void (async () => {
      const now = Date.now();
      if (now < startAt + 30_000 || now > startAt + DURATION_S * 1000) return;
      cpuFrom ??= { at: now, cpu: postgresCpuSeconds() };
      cpuTo = { at: now, cpu: postgresCpuSeconds() };
      const pg = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()');
      maxPg = Math.max(maxPg, pg.rows[0]!.n);
      const pools = await bouncer.admin<{ database: string; cl_active: string; cl_waiting: string; sv_active: string; sv_idle: string; sv_used: string }>('SHOW POOLS');
      for (const r of pools.filter((x) => x.database !== 'pgbouncer')) {
        maxClients = Math.max(maxClients, Number(r.cl_active) + Number(r.cl_waiting));
        maxServers = Math.max(maxServers, Number(r.sv_active) + Number(r.sv_idle) + Number(r.sv_used));
      }
    })().catch(() => undefined);
  }, 5_000);
  const results = await Promise.all(children);
  clearInterval(sampler);

  const sum = (f: (r: ChildResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const lags = results.flatMap((r) => r.all).sort((a, b) => a - b);
  const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))]!;
  const rows = Number((await t.pool.query<{ n: string }>('SELECT count(*) AS n FROM snapshots')).rows[0]!.n);
  const generated = sum((r) => r.generated);
  say(`\nsnapshots generated ${generated.toLocaleString('en')}, in the database ${rows.toLocaleString('en')}, lost ${generated - rows}; spooled ${sum((r) => r.spooled)}, dropped ${sum((r) => r.dropped)}, failed writes ${sum((r) => r.writeErrors)}`);
  say(`ingest lag (snapshot time to commit): p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lags.at(-1)} ms (${lags.length.toLocaleString('en')} snapshots)`);
  say(`PostgreSQL: at most ${maxPg} connections to the database; pgbouncer: at most ${maxClients} active client connections over ${maxServers} server connections`);
  if (cpuFrom && cpuTo && cpuTo.at > cpuFrom.at) {
    say(`PostgreSQL CPU (all its processes on this machine, after the first 30 s): ${(((cpuTo.cpu - cpuFrom.cpu) / ((cpuTo.at - cpuFrom.at) / 1000)) * 100).toFixed(0)} % of one core`);
  }

  // ---- the api at HOSTS hosts -------------------------------------------------------------------
  const started = performance.now();
  const idx = await updateGapIndex(t.pool, { now: Date.now() });
  say(`\ngap index for ${idx.hosts} hosts (the job's work after the run): ${(performance.now() - started).toFixed(0)} ms`);
  const config = loadConfig({
    DATABASE_URL: t.url,
    PERFWATCH_DB_SCHEMA: t.schema,
    PERFWATCH_API_PORT: '0',
    PERFWATCH_API_HOST: '127.0.0.1',
    PERFWATCH_UI_PORT: 'off',
    PERFWATCH_SCRYPT_N: '1024',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    PERFWATCH_API_MAX_RANGE_DAYS: '800',
  });
  const api = await startApi(config, createLogger('warn'), { processMetrics: false });
  try {
    const login = await fetch(`${api.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    const { token } = (await login.json()) as { token: string };
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const prom = (query: string) => `/prometheus/api/v1/query?query=${encodeURIComponent(query)}&time=${(now - 60_000) / 1000}`;
    const range = (query: string) =>
      `/prometheus/api/v1/query_range?query=${encodeURIComponent(query)}&start=${(now - DURATION_S * 1000) / 1000}&end=${now / 1000}&step=${Math.max(15, Math.round(DURATION_S / 100))}`;
    const requests: [string, string][] = [
      ['hosts list (GET /api/v1/hosts)', '/api/v1/hosts'],
      ['$host variable (PromQL label values)', '/prometheus/api/v1/label/host/values'],
      ['$host variable (JSON API label values)', `/api/v1/metrics/perfwatch_load_average_1m/labels/host/values`],
      ['status screen (GET /api/v1/status)', '/api/v1/status'],
      ['annotations, 24 h', `/api/v1/annotations?from=${iso(now - 86_400_000)}&to=${iso(now)}`],
      ['annotations, 30 days', `/api/v1/annotations?from=${iso(now - 30 * 86_400_000)}&to=${iso(now)}`],
      ['all hosts, instant: count(perfwatch_load_average_1m)', prom('count(perfwatch_load_average_1m)')],
      ['all hosts, the run: sum by (mode) (rate(cpu[1m]))', range('sum by (mode) (rate(perfwatch_cpu_seconds_total[1m]))')],
    ];
    say(`\n| at ${HOSTS} hosts | status | median | slowest of 3 |`);
    say('|---|---|---|---|');
    for (const [name, path] of requests) {
      const ms: number[] = [];
      let status = 0;
      let size = 0;
      for (let i = 0; i < 3; i++) {
        const s = performance.now();
        const r = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
        size = (await r.arrayBuffer()).byteLength;
        ms.push(performance.now() - s);
        status = r.status;
      }
      ms.sort((a, b) => a - b);
      say(`| ${name} | ${status}, ${(size / 1024).toFixed(0)} KiB | ${ms[1]!.toFixed(0)} ms | ${ms[2]!.toFixed(0)} ms |`);
    }
  } finally {
    await api.close();
  }
  await bouncer.stop();
  spool.remove();
  await t.drop();
}

main()
  .then(runCleanups)
  .catch(async (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    await runCleanups();
    process.exit(1);
  });
