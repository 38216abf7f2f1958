/**
 * Storage benchmark: bytes per snapshot, ingest rate, series read latency, rollups, retention,
 * on the test server (TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres), in
 * schemas of its own that are dropped afterwards. Prints the data set used and every figure
 * beside its target (docs/storage.md, "Measured here").
 *
 *   npx tsx store/bench/storage.ts
 *
 * Environment (defaults = the reference data set of the storage issue):
 *   BENCH_DAYS=30        days of the 2-CPU reference host at 5 s (518,400 snapshots)
 *   BENCH_HOSTS=100      hosts in the table for the "1 vs N hosts" query comparison (1 day each)
 *   BENCH_INGEST=40000   snapshots for the ingest measurement (4 connections, batches of 100)
 *   BENCH_RUNS=25        runs per query for its p50
 *   BENCH_KEEP=1         keep the schemas (to look at them afterwards)
 *
 * The reference host is written through insertSnapshots (the exporter's path) with realistic
 * values (store/test/synth.ts). The other hosts of the 1-vs-N comparison are the reference host's
 * last day copied in SQL under other host ids (raw rows and rollups alike): what a query of one
 * host meets in the table is the same, and it takes seconds instead of half an hour. The 64-CPU
 * host of the aggregate query has 30 days of 1-minute rollups written directly (its raw
 * snapshots would take longer to generate than the whole benchmark may run), which is all a
 * 30-day query reads.
 *
 * The series reads are store's share of a query: the raw samples or rollup buckets that the api's
 * PromQL evaluator (which answers both /prometheus and POST /api/v1/query) reads for a query over
 * the range at the step, chosen as it chooses (api/src/promql/eval.ts, sourceOf). The evaluation
 * on top, over HTTP, is in api/bench/api.ts and api/bench/promql.ts (against Prometheus).
 */
import type pg from 'pg';
import {
  compileMatchers, encodeSnapshot, insertSnapshots, metricInfo, readBuckets, readRawSamples, runRetention, runRollups, TIER_SPECS,
  type Matcher, type SampleSelector, type Snapshot,
} from '../src/index.js';
import { fixtureSnapshot, HostSim, rng } from '../test/synth.js';
import { copyHostDay, dataEnd, DAY, fmt, hostId, HOUR, ingestRate, IV, MIN, say, serverVersion, stopwatch, timedRuns, withSchema as inSchema } from './lib.js';

const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const HOSTS = Number(process.env.BENCH_HOSTS ?? 100);
const INGEST = Number(process.env.BENCH_INGEST ?? 40_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 25);

// Data ends at midnight UTC, a while ago: every rollup block is due.
const END = dataEnd();
const START = END - DAYS * DAY;
const NOW = END + 3 * HOUR;

const secs = stopwatch();
function verdict(value: number, target: number, lowerIsBetter = true): string {
  return (lowerIsBetter ? value <= target : value >= target) ? 'meets target' : 'MISSES target';
}

async function sizeOf(pool: pg.Pool, parent: string): Promise<{ total: number; heap: number; toast: number; index: number; rows: number }> {
  const r = await pool.query<{ total: string; heap: string; toast: string; idx: string }>(
    `SELECT sum(pg_total_relation_size(c.oid))::bigint AS total, sum(pg_relation_size(c.oid))::bigint AS heap,
            sum(coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0))::bigint AS toast, sum(pg_indexes_size(c.oid))::bigint AS idx
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`,
    [parent],
  );
  const n = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${parent}`);
  const x = r.rows[0]!;
  return { total: Number(x.total ?? 0), heap: Number(x.heap ?? 0), toast: Number(x.toast ?? 0), index: Number(x.idx ?? 0), rows: Number(n.rows[0]!.n) };
}

interface SeriesQuery {
  hosts: string[] | 'all';
  metric: string;
  matchers?: Matcher[];
  from: number;
  to: number;
  stepMs: number;
}

/**
 * What the evaluator reads for `rate(m[step])` (a counter) or `avg_over_time(m[step])` (a gauge)
 * over [from, to] at the step: 1-hour buckets for steps of whole hours, 1-minute buckets for whole
 * minutes over more than 6 hours (each host's newest stretch past its watermark from raw
 * snapshots), raw samples otherwise.
 */
async function readSeries(pool: pg.Pool, q: SeriesQuery): Promise<{ tier: string; series: number; values: number }> {
  const ms = compileMatchers(q.matchers);
  const hosts = q.hosts === 'all' ? undefined : new Set(q.hosts);
  const sel: SampleSelector = {
    metric: q.metric,
    ...(hosts ? { host: (h: string) => hosts.has(h) } : {}),
    match: (_name, labels) => (!hosts || hosts.has(labels.host!)) && ms.every((m) => m.test(labels[m.label] ?? '')),
  };
  const from = q.from - q.stepMs;
  if (q.stepMs < MIN || q.stepMs % MIN !== 0 || q.to - from <= 6 * HOUR) {
    const r = await readRawSamples(pool, sel, from, q.to);
    return { tier: 'raw', series: r.length, values: r.reduce((n, x) => n + x.t.length, 0) };
  }
  const tier = q.stepMs % HOUR === 0 ? '1h' : '1m';
  const counter = metricInfo(q.metric)!.type === 'counter';
  const r = await readBuckets(pool, sel, from, q.to, tier, counter ? { v3: true } : { v1: true });
  return { tier, series: r.length, values: r.reduce((n, x) => n + x.start.length, 0) };
}

let lastMin = 0;
/** Median of `runs` timed runs after 3 untimed ones; the fastest run is left in lastMin. */
async function p50(fn: () => Promise<unknown>, runs = RUNS): Promise<number> {
  const times = await timedRuns(fn, runs);
  lastMin = times[0]!;
  return times[Math.floor(times.length / 2)]!;
}

/** fn on a migrated schema of its own (bench_<name>_<pid>), dropped afterwards unless BENCH_KEEP=1. */
function withSchema<T>(name: string, poolMax: number, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  return inSchema(name, { poolMax, statementTimeoutMs: 600_000 }, fn);
}

const compact = fixtureSnapshot('small', { compact: true });
let jsonbPerRow = 0;
const slots = encodeSnapshot(compact).frags.length - 1;

say(`# PerfWatch storage benchmark (${new Date().toISOString()})`);
say(`server: ${await serverVersion()}; client: Node ${process.version}; ${(await import('node:os')).cpus().length} CPUs`);
say(`snapshot: exporter/test/fixtures/small without vm and nstat (2-CPU host, ${slots} values, ${JSON.stringify(compact).length} B of JSON), values evolving as on a live host (store/test/synth.ts)`);

// ---- 1. Ingest --------------------------------------------------------------------------------------
await withSchema('ingest', 4, async (pool) => {
  const hosts = 100;
  const sims = Array.from({ length: hosts }, (_, h) => new HostSim(compact, `ingest${h}`, h + 1));
  const per = Math.ceil(INGEST / hosts);
  // Generated before timing: what is measured is insertSnapshots (encoding included), not the generator.
  const batches: Snapshot[][] = [];
  for (let h = 0; h < hosts; h++) {
    const all = Array.from({ length: per }, (_, i) => sims[h]!.next(START + i * IV));
    for (let i = 0; i < all.length; i += 100) batches.push(all.slice(i, i + 100));
  }
  // Interleave hosts, as 100 exporters writing at once would.
  batches.sort((a, b) => a[0]!.ts - b[0]!.ts);
  await insertSnapshots(pool, batches.map((b) => b[0]!).slice(0, hosts)); // hosts and partitions registered
  let i = 0;
  const rate = await ingestRate(pool, 4, () => batches[i++]);
  say(`ingest: ${fmt(hosts * per)} snapshots of ${hosts} hosts through insertSnapshots, batches of 100, 4 connections: ${fmt(rate)} snapshots/s (target >= 8,000/s: ${verdict(rate, 8_000, false)})`);
});

// ---- 2. Size of the other shapes, and of plain JSONB, for comparison ---------------------------------------
await withSchema('shapes', 4, async (pool) => {
  const n = 20_000;
  for (const [label, base] of [
    ['2-CPU host, whole fixture (vm and nstat included)', fixtureSnapshot('small')],
    ['64-CPU host (fixtures/large)', fixtureSnapshot('large')],
  ] as const) {
    const host = label.startsWith('64') ? 'big' : 'full';
    const sim = new HostSim(base, host, 9);
    const count = host === 'big' ? n / 4 : n;
    let i = 0;
    await ingestRate(pool, 4, () => (i < count ? Array.from({ length: Math.min(100, count - i) }, () => sim.next(START + i++ * IV)) : undefined));
    const s = await pool.query<{ b: string; n: string }>(
      `SELECT sum(pg_column_size(s.*))::bigint AS b, count(*) AS n FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = $1`, [host],
    );
    const values = encodeSnapshot(base).frags.length - 1;
    const rowBytes = Number(s.rows[0]!.b) / Number(s.rows[0]!.n);
    say(`  ${label}: ${values} values, ${fmt(rowBytes)} B per row (tuple; + ~35 B of index and line pointer) = ${fmt(rowBytes / values, 2)} B per value`);
  }
  // The same reference snapshots as plain JSONB rows (the format before migration 0003).
  await pool.query(`CREATE TABLE jsonb_rows (host_id int, ts timestamptz, data jsonb, PRIMARY KEY (host_id, ts))`);
  const sim = new HostSim(compact, 'j', 3);
  for (let i = 0; i < n; i += 1000) {
    const rows = Array.from({ length: 1000 }, (_, k) => sim.next(START + (i + k) * IV));
    await pool.query(`INSERT INTO jsonb_rows SELECT 1, to_timestamp((e->>'ts')::float8 / 1000), e FROM jsonb_array_elements($1::jsonb) e`, [JSON.stringify(rows)]);
  }
  await pool.query('VACUUM ANALYZE jsonb_rows');
  const j = await pool.query<{ b: string }>(`SELECT pg_total_relation_size('jsonb_rows') AS b`);
  jsonbPerRow = Number(j.rows[0]!.b) / n;
  say(`  the reference snapshot as plain JSONB (before migration 0003): ${fmt(jsonbPerRow)} B per row all-in (${fmt(n)} rows)`);
});

// ---- 3. The reference data set ------------------------------------------------------------------------------
await withSchema('ref', 4, async (pool) => {
  const total = DAYS * (DAY / IV);
  say(`\nreference data: host "ref", ${DAYS} days at 5 s = ${fmt(total)} snapshots, ${new Date(START).toISOString().slice(0, 10)} .. ${new Date(END).toISOString().slice(0, 10)}; then ${HOSTS - 1} more hosts with 1 day each (copied in SQL)`);
  const sim = new HostSim(compact, 'ref', 42);
  let i = 0;
  const rate = await ingestRate(pool, 4, () => {
    if (i >= total) return undefined;
    const b: Snapshot[] = [];
    for (let k = 0; k < 500 && i < total; k++, i++) b.push(sim.next(START + i * IV));
    return b;
  });
  say(`  written through insertSnapshots in batches of 500 on 4 connections, generation included: ${fmt(rate)} snapshots/s [${secs()}]`);
  await pool.query('VACUUM ANALYZE snapshots');
  const size = await sizeOf(pool, 'snapshots');
  const perSnap = size.total / size.rows;
  say(`storage: ${fmt(size.rows)} snapshots take ${fmt(size.total / 2 ** 20, 1)} MiB all-in (heap ${fmt(size.heap / 2 ** 20, 1)}, TOAST ${fmt(size.toast / 2 ** 20, 1)}, indexes ${fmt(size.index / 2 ** 20, 1)} MiB)`);
  say(`  ${fmt(perSnap)} B per snapshot (target <= 1,000 B: ${verdict(perSnap, 1000)}; plain JSONB ${fmt(jsonbPerRow)} B above; Prometheus ~500 B)`);
  say(`  ${fmt(perSnap / slots, 2)} B per sample (${slots} values per snapshot; Prometheus ~2.9 B per sample with its index, 1-2 B in compressed chunks)`);

  // Rollups of the whole history.
  let t0 = performance.now();
  let blocks = 0;
  for (;;) {
    const r = await runRollups(pool, { tier: '1m', now: NOW, maxBuckets: 1_000_000 });
    blocks += r.blocks;
    if (!r.behind) break;
  }
  const m1s = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await runRollups(pool, { tier: '1h', now: NOW, maxBuckets: 1_000_000 });
  const h1s = (performance.now() - t0) / 1000;
  await pool.query('VACUUM ANALYZE rollups_1m');
  await pool.query('VACUUM ANALYZE rollups_1h');
  const m1 = await sizeOf(pool, 'rollups_1m');
  const h1 = await sizeOf(pool, 'rollups_1h');
  const series = (await pool.query<{ n: string }>('SELECT count(*) AS n FROM series')).rows[0]!.n;
  say(`rollups: 1m of ${fmt(total)} snapshots (${blocks} hour blocks x ${series} series) in ${fmt(m1s, 1)} s (${fmt(total / m1s)} snapshots/s); 1h in ${fmt(h1s, 1)} s [${secs()}]`);
  say(`  1m tier ${fmt(m1.total / 2 ** 20, 1)} MiB (${fmt(m1.total / DAYS / 2 ** 20, 1)} MiB per host-day, ${fmt(m1.total / (total / 12) / Number(series), 1)} B per series-minute); 1h tier ${fmt(h1.total / 2 ** 20, 1)} MiB`);

  // A 64-CPU host with 30 days of 1-minute rollups of perfwatch_cpu_seconds_total{mode="user"}.
  t0 = performance.now();
  const big = (await pool.query<{ id: number }>(`INSERT INTO hosts (name, first_seen, last_seen) VALUES ('cpu64', $1, $2) RETURNING id`, [new Date(START), new Date(END)])).rows[0]!.id;
  const ids: number[] = [];
  for (let c = 0; c < 64; c++) {
    const r = await pool.query<{ id: number }>(`INSERT INTO series (host_id, metric, labels, counter) VALUES ($1, 'perfwatch_cpu_seconds_total', $2, true) RETURNING id`, [big, JSON.stringify({ cpu: String(c), mode: 'user' })]);
    ids.push(r.rows[0]!.id);
  }
  const r64 = rng(64);
  const spec = TIER_SPECS['1m'];
  const counters = ids.map(() => r64() * 1e6);
  for (let blockStart = START; blockStart < END; blockStart += spec.blockMs) {
    const bufs = ids.map((_, c) => {
      const n = Buffer.alloc(120);
      const v1 = Buffer.alloc(480);
      const v2 = Buffer.alloc(480);
      const v3 = Buffer.alloc(480);
      for (let m = 0; m < 60; m++) {
        const inc = Math.round(r64() * 3000) / 100; // up to 30 s of user time per minute (jiffies)
        n.writeUInt16BE(12, m * 2);
        v1.writeDoubleBE(counters[c]! + inc / 12, m * 8);
        counters[c] = counters[c]! + inc;
        v2.writeDoubleBE(counters[c]!, m * 8);
        v3.writeDoubleBE(inc, m * 8);
      }
      return [n, v1, v2, v3];
    });
    await pool.query(`SELECT ensure_rollup_partitions('1m', $1::date, 1)`, [new Date(blockStart).toISOString().slice(0, 10)]);
    await pool.query(
      `INSERT INTO rollups_1m (host_id, series_id, start, n, v1, v2, v3)
       SELECT $1, u.s, $2::timestamptz, substring($4::bytea FROM (u.i - 1)::int * 120 + 1 FOR 120), substring($5::bytea FROM (u.i - 1)::int * 480 + 1 FOR 480),
              substring($6::bytea FROM (u.i - 1)::int * 480 + 1 FOR 480), substring($7::bytea FROM (u.i - 1)::int * 480 + 1 FOR 480)
         FROM unnest($3::int[]) WITH ORDINALITY AS u(s, i)`,
      [big, new Date(blockStart).toISOString(), ids, ...[0, 1, 2, 3].map((k) => Buffer.concat(bufs.map((b) => b[k]!)))],
    );
  }
  await pool.query(`INSERT INTO rollup_watermarks (host_id, tier, watermark) VALUES ($1, '1m', $2)`, [big, new Date(END)]);
  await pool.query('ANALYZE rollups_1m');
  say(`64-CPU host "cpu64": 64 series x ${DAYS} days of 1-minute rollups (${fmt((64 * DAYS * DAY) / HOUR)} rows) written directly in ${fmt((performance.now() - t0) / 1000, 1)} s [${secs()}]`);

  // ---- Queries -------------------------------------------------------------------------------------------
  const range = DAYS * DAY;
  // ~1,000 points: the JSON API's steps (whole minutes past a minute).
  const q = (x: Partial<SeriesQuery>): SeriesQuery => ({ hosts: ['ref'], metric: 'perfwatch_load_average_1m', from: END - range, to: END, stepMs: Math.ceil(range / 1000 / MIN) * MIN, ...x });
  const day = (x: Partial<SeriesQuery>): SeriesQuery => q({ from: END - DAY, stepMs: 2 * MIN, ...x });
  const user0 = [{ label: 'cpu', op: '=' as const, value: '0' }, { label: 'mode', op: '=' as const, value: 'user' }];
  const queries: [string, SeriesQuery, number][] = [
    [`gauge perfwatch_load_average_1m, ${DAYS} days`, q({}), 18],
    ['gauge perfwatch_load_average_1m, 24 h', day({}), 3],
    [`counter rate perfwatch_cpu_seconds_total{cpu="0",mode="user"}, ${DAYS} days`, q({ metric: 'perfwatch_cpu_seconds_total', matchers: user0 }), 18],
    ['counter rate perfwatch_cpu_seconds_total{cpu="0",mode="user"}, 24 h', day({ metric: 'perfwatch_cpu_seconds_total', matchers: user0 }), 3],
    [`the 64 per-CPU series of a sum of rates (cpu64), ${DAYS} days`, q({ hosts: ['cpu64'], metric: 'perfwatch_cpu_seconds_total' }), 795],
  ];
  say(`\nseries reads, what a query of ~1,000 points reads from storage (p50 of ${RUNS} runs; rollups complete):`);
  const oneHost: [number, number][] = [];
  for (const [label, query, target] of queries) {
    const r = await readSeries(pool, query);
    const ms = await p50(() => readSeries(pool, query));
    oneHost.push([ms, lastMin]);
    say(`  ${label}: ${fmt(ms, 1)} ms (target <= ${target} ms: ${verdict(ms, target)}) [tier ${r.tier}, ${r.series} series, ${fmt(r.values)} buckets or samples]`);
  }
  // The live edge: the 1m tier lags up to an hour plus the grace period; the rest comes from raw rows.
  const live = day({ to: END });
  const liveMs = await p50(() => readSeries(pool, live));
  await pool.query(`UPDATE rollup_watermarks SET watermark = $1 WHERE tier = '1m' AND host_id = (SELECT id FROM hosts WHERE name = 'ref')`, [new Date(END - HOUR)]);
  const liveTail = await p50(() => readSeries(pool, live));
  await pool.query(`UPDATE rollup_watermarks SET watermark = $1 WHERE tier = '1m' AND host_id = (SELECT id FROM hosts WHERE name = 'ref')`, [new Date(END)]);
  say(`  gauge, 24 h, with the last hour from raw snapshots (the live edge, rollups an hour behind): ${fmt(liveTail, 1)} ms (${fmt(liveMs, 1)} ms with none from raw)`);
  const raw6h = q({ from: END - 6 * HOUR, stepMs: 30_000 });
  say(`  gauge, 6 h at 30 s from raw snapshots (4,320 rows): ${fmt(await p50(() => readSeries(pool, raw6h), 9), 1)} ms [tier raw]`);

  // ---- 1 vs N hosts ----------------------------------------------------------------------------------------
  if (HOSTS > 1) {
    t0 = performance.now();
    await copyHostDay(pool, { ref: await hostId(pool, 'ref'), prefix: 'copy', hosts: HOSTS, dayEnd: END, watermark: END });
    await pool.query('VACUUM ANALYZE snapshots');
    await pool.query('VACUUM ANALYZE rollups_1m');
    const hostsNow = (await pool.query<{ n: string }>('SELECT count(*) AS n FROM hosts WHERE last_seen IS NOT NULL')).rows[0]!.n;
    const rows = (await pool.query<{ n: string }>('SELECT count(*) AS n FROM snapshots')).rows[0]!.n;
    say(`\n1 vs ${HOSTS} hosts: ${HOSTS - 1} hosts copied with the reference host's last day in ${fmt((performance.now() - t0) / 1000, 1)} s; now ${hostsNow} hosts, ${fmt(Number(rows))} snapshots [${secs()}]`);
    // The copy went through shared buffers: warm the reference host's rows up again first.
    for (const [, query] of queries.slice(0, 4)) await p50(() => readSeries(pool, query), 5);
    say(`  p50 (fastest run) of one host's queries, with 1 host in the table -> with ${hostsNow}:`);
    for (const [i, [label, query]] of queries.slice(0, 4).entries()) {
      const ms = await p50(() => readSeries(pool, query), RUNS * 2);
      const [before1, min1] = oneHost[i]!;
      say(`  ${label}: ${fmt(before1, 1)} (${fmt(min1, 1)}) ms -> ${fmt(ms, 1)} (${fmt(lastMin, 1)}) ms (${lastMin <= min1 * 1.5 + 0.5 ? 'no growth' : 'GROWS'})`);
    }
    const all = day({ hosts: 'all' });
    const allR = await readSeries(pool, all);
    say(`  gauge, 24 h, of all ${hostsNow} hosts: ${fmt(await p50(() => readSeries(pool, all), 9), 1)} ms [${allR.tier}, ${allR.series} series]`);
  }

  // ---- Retention -------------------------------------------------------------------------------------------
  const before = await sizeOf(pool, 'snapshots');
  // A policy under which exactly the oldest day of the reference data has expired.
  const days = Math.floor((NOW - START) / DAY) - 1;
  await pool.query(`UPDATE retention_policies SET days = $1 WHERE tier = 'raw'`, [days]);
  t0 = performance.now();
  const runs = await runRetention(pool, { now: NOW, tiers: ['raw'] });
  const retMs = performance.now() - t0;
  const after = await sizeOf(pool, 'snapshots');
  say(`\nretention of one day: dropped ${runs[0]!.dropped.filter((p) => p >= `snapshots_${new Date(START).toISOString().slice(0, 10).replaceAll('-', '')}`).join(', ')} (${fmt(before.rows - after.rows)} rows) in ${fmt(retMs, 0)} ms (target < 1,000 ms: ${verdict(retMs, 1000)}); snapshots ${fmt(before.total / 2 ** 20, 1)} -> ${fmt(after.total / 2 ** 20, 1)} MiB (${after.total <= before.total ? 'no growth' : 'GREW'})`);
});

say(`\ndone in ${secs()}`);
