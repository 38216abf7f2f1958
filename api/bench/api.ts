/**
 * Metrics API benchmark: POST /api/v1/query over HTTP with a real API token, against the api
 * process (api/src/main.ts, its own process, as in production) on a fresh schema of the test
 * PostgreSQL. Prints the data set, then per query p50 / p99 latency and requests/s, sequential and
 * with 8 concurrent clients.
 *
 *   node --conditions=perfwatch-src --import tsx api/bench/api.ts      (npm run bench -- api)
 *
 * Data set (what a Grafana dashboard meets):
 * - host "ref": the 2-CPU reference host (exporter/test/fixtures/small without vm and nstat, values
 *   evolving as store/test/synth.ts makes them) at 5 s for 30 days = 518,400 snapshots, rolled up
 *   to 1m and 1h. To stay within a few minutes, only its last day is written through
 *   insertSnapshots and rolled up by runRollups (1m); the 29 days before are that day's raw rows
 *   and 1m rollup rows copied in SQL one day earlier each (so counters restart every midnight: one
 *   counter reset a day, which rates handle); the 1h tier is then rolled up by runRollups from all
 *   30 days of 1m rows. What a query reads is the same as with 30 generated days; generating and
 *   rolling them up would take about 3 minutes more (docs/storage.md).
 * - 99 more hosts with ref's last day (raw, 1m and 1h rows) copied in SQL under their ids: 100
 *   hosts with 24 h each.
 * Queries (maxDataPoints 1000, Grafana's default for a wide panel):
 * - one host, 24 h and 30 days: two targets, the gauge perfwatch_load_average_1m and the rate of
 *   perfwatch_cpu_seconds_total (2 CPUs x 8 modes = 16 series), as a CPU panel asks;
 * - 100 hosts, 24 h: sum by (mode) of the rate of perfwatch_cpu_seconds_total (1,600 series in).
 * Then GET /api/v1/annotations (gaps, retention runs) for 1 host over 24 h and 30 days and for
 * the 100 hosts over 24 h, sequentially.
 *
 * Environment: TEST_DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres), BENCH_API_HOSTS
 * (100), BENCH_API_DAYS (30), BENCH_API_SECONDS (8: time per measurement, at most BENCH_API_RUNS
 * = 200 requests), BENCH_KEEP=1 keeps the schema.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createPool, insertSnapshots, migrate, runRollups, type Snapshot } from '@perfwatch/store';
import { fixtureSnapshot, HostSim } from '../../store/test/synth.js';

const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const HOSTS = Number(process.env.BENCH_API_HOSTS ?? 100);
const DAYS = Number(process.env.BENCH_API_DAYS ?? 30);
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 8);
const RUNS = Number(process.env.BENCH_API_RUNS ?? 200);
const KEEP = process.env.BENCH_KEEP === '1';
const CONCURRENCY = 8;
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const PASSWORD = 'bench-api-password-1';

const DAY = 86_400_000;
const IV = 5_000;
// Data ends at midnight UTC two days ago: every rollup block is due.
const END = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
const START = END - DAYS * DAY;

const started = performance.now();
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const secs = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const say = (line: string) => process.stdout.write(`${line}\n`);

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

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const schema = `bench_api_${process.pid}`;
const pool = createPool({ databaseUrl: url, schema, poolMax: 4, statementTimeoutMs: 600_000 });

async function seed(): Promise<void> {
  await migrate(pool);
  const compact = fixtureSnapshot('small', { compact: true });
  // ref's last day through the writer, on 4 connections.
  const sim = new HostSim(compact, 'ref', 42);
  const perDay = DAY / IV;
  let i = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (;;) {
        const b: Snapshot[] = [];
        for (let k = 0; k < 500 && i < perDay; k++, i++) b.push(sim.next(END - DAY + i * IV));
        if (!b.length) return;
        await insertSnapshots(pool, b);
      }
    }),
  );
  say(`  ref's last day: ${fmt(perDay)} snapshots through insertSnapshots in ${fmt((performance.now() - t0) / 1000, 1)} s [${secs()}]`);
  let t1 = performance.now();
  while ((await runRollups(pool, { tier: '1m', now: Date.now(), maxBuckets: 1_000_000 })).behind);
  say(`  1m rollup of that day in ${fmt((performance.now() - t1) / 1000, 1)} s`);

  const ref = (await pool.query<{ id: number }>(`SELECT id FROM hosts WHERE name = 'ref'`)).rows[0]!.id;
  if (DAYS > 1) {
    t1 = performance.now();
    const first = new Date(START).toISOString().slice(0, 10);
    await pool.query('SELECT ensure_snapshot_partitions($1::date, $2)', [first, DAYS]);
    await pool.query(`SELECT ensure_rollup_partitions('1m', $1::date, $2)`, [first, DAYS]);
    await pool.query(
      `INSERT INTO snapshots (host_id, ts, shape_id, vals)
       SELECT s.host_id, s.ts - k * interval '1 day', s.shape_id, s.vals FROM snapshots s, generate_series(1, $2::int) k
        WHERE s.host_id = $1`,
      [ref, DAYS - 1],
    );
    await pool.query(
      `INSERT INTO rollups_1m (host_id, series_id, start, n, v1, v2, v3)
       SELECT r.host_id, r.series_id, r.start - k * interval '1 day', r.n, r.v1, r.v2, r.v3 FROM rollups_1m r, generate_series(1, $2::int) k
        WHERE r.host_id = $1`,
      [ref, DAYS - 1],
    );
    await pool.query('UPDATE hosts SET first_seen = $2 WHERE id = $1', [ref, new Date(START)]);
    say(`  ${DAYS - 1} days before it: raw and 1m rows copied in SQL in ${fmt((performance.now() - t1) / 1000, 1)} s [${secs()}]`);
  }
  t1 = performance.now();
  while ((await runRollups(pool, { tier: '1h', now: Date.now(), maxBuckets: 1_000_000 })).behind);
  say(`  1h rollup of the ${DAYS} days in ${fmt((performance.now() - t1) / 1000, 1)} s [${secs()}]`);

  if (HOSTS > 1) {
    t1 = performance.now();
    await pool.query(`INSERT INTO hosts (name, first_seen, last_seen) SELECT 'host' || g, $1, $2 FROM generate_series(2, $3::int) g`, [new Date(END - DAY), new Date(END - IV), HOSTS]);
    await pool.query(`INSERT INTO snapshot_shapes (host_id, hash, frags) SELECT h.id, s.hash, s.frags FROM hosts h, snapshot_shapes s WHERE h.name LIKE 'host%' AND s.host_id = $1`, [ref]);
    await pool.query(`INSERT INTO series (host_id, metric, labels, counter) SELECT h.id, s.metric, s.labels, s.counter FROM hosts h, series s WHERE h.name LIKE 'host%' AND s.host_id = $1`, [ref]);
    await pool.query(
      `INSERT INTO snapshots (host_id, ts, shape_id, vals)
       SELECT h.id, s.ts, c.id, s.vals FROM snapshots s JOIN snapshot_shapes o ON o.id = s.shape_id
         CROSS JOIN hosts h JOIN snapshot_shapes c ON c.host_id = h.id
        WHERE h.name LIKE 'host%' AND c.hash = o.hash AND s.host_id = $1 AND s.ts >= $2 AND s.ts < $3`,
      [ref, new Date(END - DAY), new Date(END)],
    );
    for (const table of ['rollups_1m', 'rollups_1h'] as const) {
      await pool.query(
        `INSERT INTO ${table} (host_id, series_id, start, n, v1, v2, v3)
         SELECT h.id, c.id, r.start, r.n, r.v1, r.v2, r.v3 FROM ${table} r JOIN series o ON o.id = r.series_id
           CROSS JOIN hosts h JOIN series c ON c.host_id = h.id AND c.metric = o.metric AND c.labels = o.labels
          WHERE h.name LIKE 'host%' AND r.host_id = $1 AND r.start >= $2 AND r.start < $3`,
        [ref, new Date(END - DAY), new Date(END)],
      );
    }
    await pool.query(
      `INSERT INTO rollup_watermarks (host_id, tier, watermark) SELECT h.id, w.tier, w.watermark FROM hosts h, rollup_watermarks w WHERE h.name LIKE 'host%' AND w.host_id = $1`,
      [ref],
    );
    say(`  ${HOSTS - 1} more hosts with ref's last day (raw, 1m, 1h) copied in SQL in ${fmt((performance.now() - t1) / 1000, 1)} s [${secs()}]`);
  }
  for (const t of ['snapshots', 'rollups_1m', 'rollups_1h', 'series']) await pool.query(`VACUUM ANALYZE ${t}`);
  const n = await pool.query<{ s: string; m: string; h: string; hosts: string }>(
    `SELECT (SELECT count(*) FROM snapshots) AS s, (SELECT count(*) FROM rollups_1m) AS m, (SELECT count(*) FROM rollups_1h) AS h, (SELECT count(*) FROM hosts) AS hosts`,
  );
  const c = n.rows[0]!;
  say(`data: ${c.hosts} hosts, ${fmt(Number(c.s))} raw snapshots, ${fmt(Number(c.m))} 1m and ${fmt(Number(c.h))} 1h rollup rows (one row = a series' hour / day) [${secs()}]`);
}

interface Measure {
  p50: number;
  p99: number;
  /** answers 200 per second. */
  rps: number;
  n: number;
  /** answered 503 (the pool's checkout timed out, PERFWATCH_DB_CONNECT_TIMEOUT_SECONDS: overload). */
  busy: number;
}

/** A 503 DB_UNAVAILABLE: the api shedding load, counted rather than fatal. */
class Busy extends Error {}

function check(label: string, status: number, out: string): void {
  if (status === 503) throw new Busy(out);
  if (status !== 200) throw new Error(`${label}: ${status} ${out.slice(0, 300)}`);
}

const busyNote = (m: Measure) => (m.busy ? ` (${m.busy} answered 503)` : '');

/** Requests from `clients` loops until SECONDS have passed or RUNS requests are done, after 3 untimed ones. */
async function measure(fn: () => Promise<void>, clients: number): Promise<Measure> {
  for (let i = 0; i < 3; i++) await fn().catch((e: unknown) => { if (!(e instanceof Busy)) throw e; });
  const times: number[] = [];
  const t0 = performance.now();
  let issued = 0;
  let busy = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (issued < RUNS && performance.now() - t0 < SECONDS * 1000) {
        issued++;
        const a = performance.now();
        try {
          await fn();
          times.push(performance.now() - a);
        } catch (e) {
          if (!(e instanceof Busy)) throw e;
          busy++;
        }
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), rps: times.length / wall, n: times.length, busy };
}

const warnings = new Map<string, number>();
const apiPort = await freePort();
const base = `http://127.0.0.1:${apiPort}`;
let child: ReturnType<typeof spawn> | undefined;
try {
  const server = new pg.Client(url);
  await server.connect();
  const ver = (await server.query('SELECT version() AS v')).rows[0].v as string;
  await server.end();
  say(`# PerfWatch metrics API benchmark (${new Date().toISOString()})`);
  say(`server: ${ver.split(' on ')[0]}; client and api: Node ${process.version}; ${cpus().length} CPUs (the api, PostgreSQL and this client share them)`);
  say(`data set: host "ref" (2 CPUs, 176 values per snapshot) at 5 s for ${DAYS} days up to ${new Date(END).toISOString().slice(0, 10)}, and ${HOSTS - 1} more hosts with its last 24 h`);
  await seed();

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
    ADMIN_USERNAME: 'admin',
    ADMIN_PASSWORD: PASSWORD,
  };
  delete env.NODE_ENV;
  child = spawn(process.execPath, ['--conditions=perfwatch-src', '--import', 'tsx', MAIN], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  // The api's warnings (JSON lines): why a request failed, printed at the end.
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      const j = JSON.parse(l) as { level?: number; msg?: string; err?: unknown; code?: string };
      const why = `${j.msg ?? ''} ${j.code ?? ''} ${typeof j.err === 'string' ? j.err : JSON.stringify(j.err ?? '')}`.slice(0, 300);
      if ((j.level ?? 0) >= 40) warnings.set(why, (warnings.get(why) ?? 0) + 1);
    }
  });
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/ready`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (i > 600 || child.exitCode !== null) throw new Error('the api did not become ready');
    await sleep(100);
  }
  const login = (await (await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) })).json()) as { token: string };
  const created = await fetch(`${base}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${login.token}` }, body: JSON.stringify({ name: 'bench', role: 'viewer' }) });
  const { token } = (await created.json()) as { token: string };

  const cpuPanel = (from: number) => ({
    from,
    to: END,
    maxDataPoints: 1000,
    targets: [
      { refId: 'A', metric: 'perfwatch_load_average_1m', hosts: ['ref'] },
      { refId: 'B', metric: 'perfwatch_cpu_seconds_total', hosts: ['ref'] },
    ],
  });
  const queries: [string, unknown][] = [
    ['1 host, 24 h: gauge + counter rate (17 series)', cpuPanel(END - DAY)],
    [`1 host, ${DAYS} days: gauge + counter rate (17 series)`, cpuPanel(START)],
    [`${HOSTS} hosts, 24 h: sum by (mode) of the counter rate (${HOSTS * 16} series -> 8)`, { from: END - DAY, to: END, maxDataPoints: 1000, targets: [{ refId: 'S', metric: 'perfwatch_cpu_seconds_total', aggregation: { op: 'sum', by: ['mode'] } }] }],
  ];

  say(`\nPOST /api/v1/query with an API token (viewer), maxDataPoints 1000; up to ${RUNS} requests or ${SECONDS} s per line:`);
  say(`| query | tier, step, points | response | sequential p50 / p99 | sequential req/s | ${CONCURRENCY} clients p50 / p99 | ${CONCURRENCY} clients req/s |`);
  say('|---|---|---|---|---|---|---|');
  for (const [label, body] of queries) {
    const text = JSON.stringify(body);
    let bytes = 0;
    let shape = '';
    const fn = async () => {
      const r = await fetch(`${base}/api/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: text });
      const out = await r.text();
      check(label, r.status, out);
      bytes = out.length;
      if (!shape) {
        const j = JSON.parse(out) as { results: { tier: string; stepMs: number; series: { timestamps: number[] }[] }[] };
        shape = j.results.map((x) => `${x.tier}, ${x.stepMs / 1000} s, ${x.series.length} x ${x.series[0]?.timestamps.length ?? 0}`).join('; ');
      }
    };
    const seq = await measure(fn, 1);
    const par = await measure(fn, CONCURRENCY);
    say(`| ${label} | ${shape} | ${fmt(bytes / 1024, 0)} KiB | ${fmt(seq.p50, 1)} / ${fmt(seq.p99, 1)} ms | ${fmt(seq.rps, 1)}${busyNote(seq)} | ${fmt(par.p50, 1)} / ${fmt(par.p99, 1)} ms | ${fmt(par.rps, 1)}${busyNote(par)} |`);
  }

  // Annotations read the time of every snapshot in the range (gaps): the other cost a dashboard pays.
  say(`\nGET /api/v1/annotations (gaps and retention runs; finding gaps walks every snapshot time of the range):`);
  say('| request | annotations | sequential p50 / p99 | sequential req/s |');
  say('|---|---|---|---|');
  const annotations: [string, string][] = [
    ['1 host, 24 h', `from=${END - DAY}&to=${END}&host=ref`],
    [`1 host, ${DAYS} days`, `from=${START}&to=${END}&host=ref`],
    [`${HOSTS} hosts, 24 h`, `from=${END - DAY}&to=${END}`],
  ];
  for (const [label, qs] of annotations) {
    let count = 0;
    const fn = async () => {
      const r = await fetch(`${base}/api/v1/annotations?${qs}`, { headers: { authorization: `Bearer ${token}` } });
      const out = await r.text();
      check(`annotations ${label}`, r.status, out);
      count = (JSON.parse(out) as { annotations: unknown[] }).annotations.length;
    };
    const seq = await measure(fn, 1);
    say(`| ${label} | ${count} | ${fmt(seq.p50, 1)} / ${fmt(seq.p99, 1)} ms | ${fmt(seq.rps, 1)}${busyNote(seq)} |`);
  }
  for (const [why, n] of warnings) say(`api warning (${n}x): ${why}`);
  say(`\ndone in ${secs()}`);
} finally {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => (child!.exitCode !== null ? r(undefined) : child!.once('exit', r)));
  }
  if (!KEEP) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  await pool.end();
}
