/**
 * PromQL benchmark: GET /prometheus/api/v1/query_range over HTTP with an API token, against an
 * api started in this process on a fresh schema of the test PostgreSQL. Prints the data set, then
 * per query the p50 and p95 latency and the tier that served it.
 *
 *   node --conditions=perfwatch-src --import tsx api/bench/promql.ts      (npm run bench -- promql)
 *
 * Data set: host "ref", the 2-CPU reference host (exporter/test/fixtures/small without vm and
 * nstat, values evolving as store/test/synth.ts makes them) at 5 s for 30 days = 518,400
 * snapshots. Built the fast way api/bench/api.ts does: its last day through insertSnapshots and
 * runRollups (1m); the days before are that day's raw rows and 1m rows copied in SQL a day
 * earlier each (counters restart every midnight: a reset a day, which rate handles); the 1h tier
 * by runRollups from all of them.
 * Queries, at a step of whole minutes giving ~1,000 points (what Grafana asks for a wide panel):
 * one gauge series, one counter's rate, and sum by (mode) (rate(perfwatch_cpu_seconds_total[5m]))
 * over 16 series, for 30 days (1m tier) and 24 h (1m tier; and raw, forced, for comparison); and
 * the same sum with [1h] windows at 1-hour steps over 30 days (1h tier).
 *
 * Environment: TEST_DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres), BENCH_PROMQL_DAYS
 * (30), BENCH_PROMQL_RUNS (40 timed runs per query after 3 untimed), BENCH_KEEP=1 keeps the schema.
 */
import { cpus } from 'node:os';
import pg from 'pg';
import { createPool, insertSnapshots, migrate, runRollups, type Snapshot } from '@perfwatch/store';
import { fixtureSnapshot, HostSim } from '../../store/test/synth.js';
import { loadConfig } from '../src/config.js';
import { startApi } from '../src/service.js';
import pino from 'pino';

const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DAYS = Number(process.env.BENCH_PROMQL_DAYS ?? 30);
const RUNS = Number(process.env.BENCH_PROMQL_RUNS ?? 40);
const KEEP = process.env.BENCH_KEEP === '1';

const MIN = 60_000;
const DAY = 86_400_000;
const IV = 5_000;
// Data ends at midnight UTC two days ago: every rollup block is due.
const END = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
const START = END - DAYS * DAY;

const started = performance.now();
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const secs = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const say = (line: string) => process.stdout.write(`${line}\n`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const schema = `bench_promql_${process.pid}`;
const pool = createPool({ databaseUrl: url, schema, poolMax: 4, statementTimeoutMs: 600_000 });

async function seed(): Promise<void> {
  await migrate(pool);
  const sim = new HostSim(fixtureSnapshot('small', { compact: true }), 'ref', 42);
  const perDay = DAY / IV;
  let i = 0;
  let t0 = performance.now();
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
  say(`  ref's last day: ${fmt(perDay)} snapshots through insertSnapshots in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  t0 = performance.now();
  while ((await runRollups(pool, { tier: '1m', now: Date.now(), maxBuckets: 1_000_000 })).behind);
  say(`  1m rollup of that day in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  if (DAYS > 1) {
    t0 = performance.now();
    const ref = (await pool.query<{ id: number }>(`SELECT id FROM hosts WHERE name = 'ref'`)).rows[0]!.id;
    const first = new Date(START).toISOString().slice(0, 10);
    await pool.query('SELECT ensure_snapshot_partitions($1::date, $2)', [first, DAYS]);
    await pool.query(`SELECT ensure_rollup_partitions('1m', $1::date, $2)`, [first, DAYS]);
    await pool.query(
      `INSERT INTO snapshots (host_id, ts, shape_id, vals)
       SELECT s.host_id, s.ts - k * interval '1 day', s.shape_id, s.vals FROM snapshots s, generate_series(1, $2::int) k WHERE s.host_id = $1`,
      [ref, DAYS - 1],
    );
    await pool.query(
      `INSERT INTO rollups_1m (host_id, series_id, start, n, v1, v2, v3)
       SELECT r.host_id, r.series_id, r.start - k * interval '1 day', r.n, r.v1, r.v2, r.v3 FROM rollups_1m r, generate_series(1, $2::int) k WHERE r.host_id = $1`,
      [ref, DAYS - 1],
    );
    await pool.query('UPDATE hosts SET first_seen = $2 WHERE id = $1', [ref, new Date(START)]);
    say(`  ${DAYS - 1} days before it: raw and 1m rows copied in SQL in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  }
  t0 = performance.now();
  while ((await runRollups(pool, { tier: '1h', now: Date.now(), maxBuckets: 1_000_000 })).behind);
  say(`  1h rollup of the ${DAYS} days in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  for (const t of ['snapshots', 'rollups_1m', 'rollups_1h', 'series']) await pool.query(`VACUUM ANALYZE ${t}`);
  const c = (await pool.query<{ s: string; m: string; h: string }>(`SELECT (SELECT count(*) FROM snapshots) AS s, (SELECT count(*) FROM rollups_1m) AS m, (SELECT count(*) FROM rollups_1h) AS h`)).rows[0]!;
  say(`data: host "ref", ${fmt(Number(c.s))} raw snapshots (${DAYS} days at 5 s), ${fmt(Number(c.m))} 1m and ${fmt(Number(c.h))} 1h rollup rows [${secs()}]`);
}

async function main(): Promise<void> {
  say(`# PerfWatch PromQL benchmark (${new Date().toISOString()})`);
  const server = new pg.Client(url);
  await server.connect();
  const ver = (await server.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
  await server.end();
  say(`server: ${ver.split(' on ')[0]}; client: Node ${process.version}; ${cpus().length} CPUs`);
  await seed();

  const config = loadConfig({
    DATABASE_URL: url, PERFWATCH_DB_SCHEMA: schema, PERFWATCH_API_PORT: '0', PERFWATCH_API_HOST: '127.0.0.1',
    PERFWATCH_SCRYPT_N: '1024', ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'bench-promql-password-1',
  });
  const api = await startApi(config, pino({ level: 'warn' }), { announce: () => undefined, processMetrics: false, shutdownGraceMs: 1000 });
  try {
    const login = await fetch(`${api.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-promql-password-1' }) });
    const session = (await login.json()) as { token: string };
    const tok = await fetch(`${api.url}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${session.token}` }, body: JSON.stringify({ name: 'bench' }) });
    const token = ((await tok.json()) as { token: string }).token;

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
      const times: number[] = [];
      for (let k = 0; k < RUNS; k++) {
        const t0 = performance.now();
        await once();
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
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
  if (!KEEP) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  await pool.end();
}
say(`\ndone in ${secs()}`);
