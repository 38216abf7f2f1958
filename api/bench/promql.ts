/**
 * PromQL benchmark: GET /prometheus/api/v1/query_range over HTTP with an API token, against an
 * api started in this process on a fresh schema of the test PostgreSQL. Prints the data set, then
 * per query the p50 and p95 latency and the tier that served it.
 *
 *   node --conditions=perfwatch-src --import tsx api/bench/promql.ts      (npm run bench -- promql)
 *
 * Data set: host "ref", the 2-CPU reference host (exporter/test/fixtures/small without vm and
 * nstat, values evolving as store/test/synth.ts makes them) at 5 s for 30 days = 518,400
 * snapshots. Built the fast way api/bench/api.ts does (buildReference of store/bench/lib.ts): its
 * last day through insertSnapshots and runRollups (1m); the days before are that day's raw rows
 * and 1m rows copied in SQL a day earlier each (counters restart every midnight: a reset a day,
 * which rate handles); the 1h tier by runRollups from all of them.
 * Queries, at a step of whole minutes giving ~1,000 points (what Grafana asks for a wide panel):
 * one gauge series, one counter's rate, and sum by (mode) (rate(perfwatch_cpu_seconds_total[5m]))
 * over 16 series, for 30 days (1m tier) and 24 h (1m tier; and raw, forced, for comparison); and
 * the same sum with [1h] windows at 1-hour steps over 30 days (1h tier).
 *
 * Environment: TEST_DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres), BENCH_PROMQL_DAYS
 * (30), BENCH_PROMQL_RUNS (40 timed runs per query after 3 untimed), BENCH_KEEP=1 keeps the schema.
 */
import { cpus } from 'node:os';
import pino from 'pino';
import { benchSchema, buildReference, dataEnd, DAY, fmt, MIN, percentile, say, serverVersion, stopwatch, timedRuns, url, vacuumAnalyze } from '../../store/bench/lib.js';
import { loadConfig } from '../src/config.js';
import { startApi } from '../src/service.js';
import { apiToken, login } from './lib.js';

const DAYS = Number(process.env.BENCH_PROMQL_DAYS ?? 30);
const RUNS = Number(process.env.BENCH_PROMQL_RUNS ?? 40);

// Data ends at midnight UTC two days ago: every rollup block is due.
const END = dataEnd();

const secs = stopwatch();
const { schema, pool, close } = benchSchema('promql', { poolMax: 4, statementTimeoutMs: 600_000 });

async function seed(): Promise<void> {
  await buildReference(pool, { days: DAYS, end: END });
  await vacuumAnalyze(pool, ['snapshots', 'rollups_1m', 'rollups_1h', 'series']);
  const c = (await pool.query<{ s: string; m: string; h: string }>(`SELECT (SELECT count(*) FROM snapshots) AS s, (SELECT count(*) FROM rollups_1m) AS m, (SELECT count(*) FROM rollups_1h) AS h`)).rows[0]!;
  say(`data: host "ref", ${fmt(Number(c.s))} raw snapshots (${DAYS} days at 5 s), ${fmt(Number(c.m))} 1m and ${fmt(Number(c.h))} 1h rollup rows [${secs()}]`);
}

async function main(): Promise<void> {
  say(`# PerfWatch PromQL benchmark (${new Date().toISOString()})`);
  say(`server: ${await serverVersion()}; client: Node ${process.version}; ${cpus().length} CPUs`);
  await seed();

  const config = loadConfig({
    DATABASE_URL: url, PERFWATCH_DB_SCHEMA: schema, PERFWATCH_API_PORT: '0', PERFWATCH_API_HOST: '127.0.0.1',
    PERFWATCH_SCRYPT_N: '1024', ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'bench-promql-password-1',
  });
  const api = await startApi(config, pino({ level: 'warn' }), { announce: () => undefined, processMetrics: false, shutdownGraceMs: 1000 });
  try {
    const token = await apiToken(api.url, await login(api.url, 'bench-promql-password-1'), { name: 'bench' });

    const run = async (query: string, range: number, tier?: 'raw', stepMs?: number) => {
      const step = stepMs ?? Math.ceil(range / 1000 / MIN) * MIN;
      const qs = new URLSearchParams({ query, start: String((END - range) / 1000), end: String(END / 1000), step: String(step / 1000) });
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(tier ? { 'x-perfwatch-tier': tier } : {}) };
      const once = async () => {
        const r = await fetch(`${api.url}/prometheus/api/v1/query_range?${qs}`, { headers });
        const body = (await r.json()) as { status: string; error?: string; data?: { result: { values: unknown[] }[] } };
        if (r.status !== 200) throw new Error(`${query}: ${r.status} ${body.error}`);
        return { body, tier: r.headers.get('x-perfwatch-tier') };
      };
      let last = await once();
      for (let k = 0; k < 2; k++) last = await once();
      const times = await timedRuns(once, RUNS, 0);
      const series = last.body.data!.result;
      const points = series.reduce((m, s) => Math.max(m, s.values.length), 0);
      return { p50: percentile(times, 50), p95: percentile(times, 95), tier: last.tier, series: series.length, points, step };
    };

    const one = 'perfwatch_load_average_1m{host="ref"}';
    const rate = 'rate(perfwatch_cpu_seconds_total{host="ref",cpu="0",mode="user"}[5m])';
    const sum = 'sum by (mode) (rate(perfwatch_cpu_seconds_total[5m]))';
    const cases: [string, string, number, ('raw' | undefined)?, number?][] = [
      [`one series (gauge), ${DAYS} days`, one, DAYS * DAY],
      [`one series (counter rate), ${DAYS} days`, rate, DAYS * DAY],
      [`${sum}, ${DAYS} days`, sum, DAYS * DAY],
      ['one series (gauge), 24 h', one, DAY],
      [`${sum}, 24 h`, sum, DAY],
      [`${sum}, 24 h, raw samples forced (x-perfwatch-tier: raw)`, sum, DAY, 'raw'],
      [`sum by (mode) (rate(perfwatch_cpu_seconds_total[1h])), ${DAYS} days at 1 h steps`, sum.replace('[5m]', '[1h]'), DAYS * DAY, undefined, 3_600_000],
    ];
    say(`\nquery_range over HTTP (p50 / p95 of ${RUNS} runs after 3 untimed; ~1,000 points, step whole minutes):`);
    for (const [label, query, range, tier, step] of cases) {
      const r = await run(query, range, tier, step);
      say(`  ${label}: p50 ${fmt(r.p50, 1)} ms, p95 ${fmt(r.p95, 1)} ms [tier ${r.tier}, step ${r.step / 1000} s, ${r.series} series x ${r.points} points] [${secs()}]`);
    }
  } finally {
    await api.close();
  }
}

try {
  await main();
} finally {
  await close();
}
say(`\ndone in ${secs()}`);
