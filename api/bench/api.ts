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
 *   to 1m and 1h (buildReference of store/bench/lib.ts). To stay within a few minutes, only its
 *   last day is written through insertSnapshots and rolled up by runRollups (1m); the 29 days
 *   before are that day's raw rows
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
import { cpus } from 'node:os';
import { benchSchema, buildReference, copyHostDay, dataEnd, DAY, fmt, percentile, say, serverVersion, stopwatch, vacuumAnalyze } from '../../store/bench/lib.js';
import { apiCommand, apiToken, login, spawnApi, type ApiProcess } from './lib.js';

const HOSTS = Number(process.env.BENCH_API_HOSTS ?? 100);
const DAYS = Number(process.env.BENCH_API_DAYS ?? 30);
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 8);
const RUNS = Number(process.env.BENCH_API_RUNS ?? 200);
const CONCURRENCY = 8;
const PASSWORD = 'bench-api-password-1';

// Data ends at midnight UTC two days ago: every rollup block is due.
const END = dataEnd();
const START = END - DAYS * DAY;

const secs = stopwatch();
const { schema, pool, close } = benchSchema('api', { poolMax: 4, statementTimeoutMs: 600_000 });

async function seed(): Promise<void> {
  const ref = await buildReference(pool, { days: DAYS, end: END, stamp: secs });
  if (HOSTS > 1) {
    const t1 = performance.now();
    await copyHostDay(pool, { ref, prefix: 'host', hosts: HOSTS, dayEnd: END });
    say(`  ${HOSTS - 1} more hosts with ref's last day (raw, 1m, 1h) copied in SQL in ${fmt((performance.now() - t1) / 1000, 1)} s [${secs()}]`);
  }
  await vacuumAnalyze(pool, ['snapshots', 'rollups_1m', 'rollups_1h', 'series']);
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
let api: ApiProcess | undefined;
try {
  say(`# PerfWatch metrics API benchmark (${new Date().toISOString()})`);
  say(`server: ${await serverVersion()}; client and api: Node ${process.version}; ${cpus().length} CPUs (the api, PostgreSQL and this client share them)`);
  say(`data set: host "ref" (2 CPUs, 176 values per snapshot) at 5 s for ${DAYS} days up to ${new Date(END).toISOString().slice(0, 10)}, and ${HOSTS - 1} more hosts with its last 24 h`);
  await seed();

  // The api's warnings (JSON lines): why a request failed, printed at the end.
  let partial = '';
  api = await spawnApi({
    schema,
    password: PASSWORD,
    command: apiCommand('source'),
    stdout: (chunk) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        if (!l.startsWith('{')) continue;
        const j = JSON.parse(l) as { level?: number; msg?: string; err?: unknown; code?: string };
        const why = `${j.msg ?? ''} ${j.code ?? ''} ${typeof j.err === 'string' ? j.err : JSON.stringify(j.err ?? '')}`.slice(0, 300);
        if ((j.level ?? 0) >= 40) warnings.set(why, (warnings.get(why) ?? 0) + 1);
      }
    },
  });
  await api.ready();
  const base = api.base;
  const token = await apiToken(base, await login(base, PASSWORD), { name: 'bench', role: 'viewer' });

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
  await api?.stop();
  await close();
}
