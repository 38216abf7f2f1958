/**
 * PromQL benchmark: GET /prometheus/api/v1/query_range over HTTP with an API token, against the
 * api in its own process (api/dist when built, as in production) on a fresh schema of the test
 * PostgreSQL, side by side with a real
 * Prometheus (Debian's 2.42, api/test/prometheus-peer.ts) holding the same samples, in the same
 * run. Prints the data set, then per query the p50 and p95 latency of PerfWatch in its default
 * mode (auto: rollup tiers where it picks them) and of Prometheus, timed alternately with the same
 * client code, the ratio PerfWatch / Prometheus, whether the answers agree; then PerfWatch with raw
 * samples forced (x-perfwatch-tier: raw), which is what Prometheus does, for comparison.
 *
 *   node --conditions=perfwatch-src --import tsx api/bench/promql.ts      (npm run bench -- promql)
 *
 * Data set: host "ref", the 2-CPU reference host (exporter/test/fixtures/small without vm and
 * nstat, values evolving as store/test/synth.ts makes them) at 5 s for 30 days = 518,400
 * snapshots. Built the fast way api/bench/api.ts does (buildReference of store/bench/lib.ts): its
 * last day through insertSnapshots and runRollups (1m); the days before are that day's raw rows
 * and 1m rows copied in SQL a day earlier each (counters restart every midnight: a reset a day,
 * which rate handles); the 1h tier by runRollups from all of them.
 * Prometheus gets the raw samples of every series the queries read (readRawSamples: the CPU
 * counters and the two gauges, 30 days) by remote write in time order (no staleness marker: the
 * series end at the queries' end, as PerfWatch reads them); the bench waits until its TSDB has
 * compacted them into blocks and checks with count_over_time that every sample is there.
 *
 * Queries, at a step of whole minutes giving ~1,000 points (what Grafana asks for a wide panel):
 * vector(1), which reads nothing (the cost of a request by itself), one gauge series and one counter's rate over 24 h and 30 days, sum by (mode) of the 16 CPU
 * counters' rates (24 h, 30 days, and [1h] windows at 1 h steps over 30 days), topk(3, ...) of
 * those rates, a regex matcher, a subquery. First both servers are warmed as a running api is
 * (200 rounds of vector(1), the gauge and the rate over 24 h, each side: V8 compiles a path after
 * some hundreds of runs; Go has no such phase). Per query: 3 untimed runs of each side, then 20
 * timed runs of each (100 when the quickest untimed pair of answers, one of each side, took
 * under 200 ms: a p95 of 20 is the second slowest, one pause of the machine), alternating PerfWatch and Prometheus (which goes first swaps every run) so load
 * from elsewhere on the machine falls on both alike.
 *
 * Agreement: the same label sets, the same timestamps, and how many values lie within 1% and 10%
 * of Prometheus's. Forced raw they should be (nearly) equal: Prometheus 2.42's windows are closed
 * on the left ([t − r, t]), PerfWatch's (t − r, t] as Prometheus 3's, and the samples lie on the
 * 5 s grid, so a window's first sample can differ. From the rollup tiers they are close (the
 * tolerances of docs/prometheus-api.md), except at midnight: the copied days' 1m rows carry no
 * increase across the daily counter reset, raw samples (and Prometheus) count the new value.
 *
 * Environment: TEST_DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres), BENCH_PROMQL_DAYS
 * (30), BENCH_PROMQL_RUNS (20 timed runs per query and side after BENCH_PROMQL_WARMUP = 3
 * untimed; BENCH_PROMQL_RUNS_FAST = 100 for a query whose quickest untimed pair of answers takes under 200 ms), BENCH_PROMQL_WARM_ROUNDS (200), BENCH_PROMQL_RAW_MAX_S (10: forced raw is skipped for a query whose first run takes
 * longer, 0: never; slower than 1 s a run, fewer runs, about 20 s a query and at least 3), BENCH_PROMQL_PEER=0 (no
 * Prometheus), BENCH_PROMQL_ONLY (a regular expression: only the queries whose label it finds), BENCH_KEEP=1
 * keeps the schema.
 */
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { readRawSamples } from '@perfwatch/store';
import { benchSchema, buildReference, dataEnd, DAY, fmt, HOUR, MIN, percentile, say, serverVersion, stopwatch, url, vacuumAnalyze } from '../../store/bench/lib.js';
import { prometheusBinary, startPrometheus, wireSeries, type PeerSeries, type PrometheusPeer } from '../test/prometheus-peer.js';
import { DEFAULTS } from '../src/config.js';
import { apiCommand, apiToken, login, spawnApi } from './lib.js';

const PASSWORD = 'bench-promql-password-1';

const DAYS = Number(process.env.BENCH_PROMQL_DAYS ?? 30);
const RUNS = Number(process.env.BENCH_PROMQL_RUNS ?? 20);
/** Timed runs of a query both sides answer within 50 ms (a p95 of 20 runs is their second slowest). */
const RUNS_FAST = Number(process.env.BENCH_PROMQL_RUNS_FAST ?? 100);
const WARMUP = Number(process.env.BENCH_PROMQL_WARMUP ?? 3);
/** Rounds of the three 24 h queries each side answers before any timing (a running api is warm). */
const WARM_ROUNDS = Number(process.env.BENCH_PROMQL_WARM_ROUNDS ?? 200);
const RAW_MAX_MS = Number(process.env.BENCH_PROMQL_RAW_MAX_S ?? 10) * 1000;
/** Forced raw runs slower than 1 s: as many as fit in about this long (at least 3). */
const RAW_BUDGET_MS = 20_000;
const ONLY = process.env.BENCH_PROMQL_ONLY;
const WANT_PEER = process.env.BENCH_PROMQL_PEER !== '0';
/** The metrics the queries read: what Prometheus is given. */
const METRICS = ['perfwatch_cpu_seconds_total', 'perfwatch_load_average_1m', 'perfwatch_memory_mem_available_bytes'];

// Data ends at midnight UTC two days ago: every rollup block is due.
const END = dataEnd();
const START = END - DAYS * DAY;

const secs = stopwatch();
/** The Prometheus of this run, closed (and its directory removed) at the end whatever happens. */
let peer: PrometheusPeer | undefined;
const { schema, pool, close } = benchSchema('promql', { poolMax: 4, statementTimeoutMs: 600_000 });

type L = Record<string, string>;
type Matrix = { metric: L; values: [number, string][] }[];

const key = (l: L) => JSON.stringify(Object.entries(l).filter(([, v]) => v !== '').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const ms = (sec: number) => Math.round(sec * 1000);

async function seed(): Promise<void> {
  await buildReference(pool, { days: DAYS, end: END, stamp: secs });
  await vacuumAnalyze(pool, ['snapshots', 'rollups_1m', 'rollups_1h', 'series']);
  const c = (await pool.query<{ s: string; m: string; h: string }>(`SELECT (SELECT count(*) FROM snapshots) AS s, (SELECT count(*) FROM rollups_1m) AS m, (SELECT count(*) FROM rollups_1h) AS h`)).rows[0]!;
  say(`data: host "ref", ${fmt(Number(c.s))} raw snapshots (${DAYS} days at 5 s), ${fmt(Number(c.m))} 1m and ${fmt(Number(c.h))} 1h rollup rows [${secs()}]`);
}

/** A number of a Prometheus /metrics text: the sum of the samples of `name` (any labels). */
function promMetric(text: string, name: string): number {
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    seen = true;
  }
  return seen ? sum : NaN;
}

/**
 * Waits until Prometheus's TSDB has compacted what the head no longer needs and stopped: no
 * block being written, the head not compactable (at most 1.5 × its 2 h chunk range), and the
 * count of compactions and loaded blocks unchanged for 5 s. Answers the blocks and compactions.
 */
async function settle(peer: PrometheusPeer): Promise<{ blocks: number; compactions: number; headHours: number }> {
  const t0 = Date.now();
  let last = '';
  let since = Date.now();
  for (;;) {
    const text = await (await fetch(`${peer.url}/metrics`)).text();
    const failed = promMetric(text, 'prometheus_tsdb_compactions_failed_total');
    if (failed > 0) throw new Error(`Prometheus: ${failed} compactions failed`);
    const now = {
      blocks: promMetric(text, 'prometheus_tsdb_blocks_loaded'),
      compactions: promMetric(text, 'prometheus_tsdb_compactions_total'),
      headHours: (promMetric(text, 'prometheus_tsdb_head_max_time') - promMetric(text, 'prometheus_tsdb_head_min_time')) / HOUR,
    };
    const busy = promMetric(text, 'prometheus_tsdb_compaction_populating_block') > 0 || now.headHours > 3;
    const sig = `${now.blocks} ${now.compactions}`;
    if (busy || sig !== last) {
      last = sig;
      since = Date.now();
    } else if (Date.now() - since >= 5_000) return now;
    if (Date.now() - t0 > 15 * MIN) throw new Error(`Prometheus still compacting after 15 minutes (${sig}, head ${now.headHours.toFixed(1)} h)`);
    await sleep(1_000);
  }
}

/** Gives Prometheus the raw samples of METRICS over the whole history and checks it holds them all. */
async function feedPeer(): Promise<{ peer: PrometheusPeer; series: number; samples: number; blocks: number; compactions: number }> {
  const t0 = performance.now();
  const raw = await readRawSamples(pool, { metric: (n) => METRICS.includes(n), match: () => true }, START - MIN, END);
  const series: PeerSeries[] = raw.map((s) => ({ labels: { ...s.labels, __name__: s.metric.name }, t: s.t, v: s.v }));
  const samples = series.reduce((n, s) => n + s.t.length, 0);
  // No staleness marker after the last sample: PerfWatch ends a series there only when its read
  // reaches 1.5 intervals past it, which a query ending at the last sample's time does not; with
  // the marker Prometheus would answer one point less at the end of every series.
  const wire = series.map((s) => wireSeries(s.labels, s.t, s.v));
  say(`  read back from PerfWatch: ${series.length} series, ${fmt(samples)} raw samples in ${fmt((performance.now() - t0) / 1000, 1)} s [${secs()}]`);

  // The default retention (15 days, counted back from the newest block) would drop the first half.
  const peer = await startPrometheus({ args: ['--storage.tsdb.retention.time=3650d'] });
  try {
    const t1 = performance.now();
    const written = await peer.write(wire, 30 * MIN);
    const writeS = (performance.now() - t1) / 1000;
    say(`  Prometheus ${peer.version}: ${fmt(written)} samples by remote write in ${fmt(writeS, 1)} s (${fmt(written / writeS)}/s) [${secs()}]`);
    const t2 = performance.now();
    const s = await settle(peer);
    say(`  Prometheus compacted: ${s.blocks} blocks after ${s.compactions} compactions, ${s.headHours.toFixed(1)} h in the head; waited ${fmt((performance.now() - t2) / 1000, 1)} s [${secs()}]`);

    // Every sample landed: count_over_time of each series over the whole history (one query a
    // metric: the function drops the name).
    const held = new Map<string, number>();
    for (const m of METRICS) {
      const back = (await peer.query(`count_over_time(${m}[${DAYS + 1}d])`, END / 1000)) as { status: string; error?: string; data?: { result: { metric: L; value: [number, string] }[] } };
      if (back.status !== 'success') throw new Error(`counting in Prometheus: ${back.error}`);
      for (const r of back.data!.result) held.set(key({ ...r.metric, __name__: m }), Number(r.value[1]));
    }
    let missing = 0;
    for (const x of series) {
      missing += Math.abs((held.get(key(x.labels)) ?? 0) - x.t.length);
    }
    const total = [...held.values()].reduce((a, b) => a + b, 0);
    if (missing || held.size !== series.length) throw new Error(`Prometheus holds ${held.size} series and ${total} samples, expected ${series.length} and ${samples}`);
    say(`  Prometheus holds all of them: count_over_time gives ${held.size} series, ${fmt(total)} samples`);
    return { peer, series: series.length, samples, blocks: s.blocks, compactions: s.compactions };
  } catch (err) {
    await peer.close();
    throw err;
  }
}

interface Case {
  label: string;
  query: string;
  range: number;
  /** ms; default whole minutes giving ~1,000 points. */
  step?: number;
}

interface Agreement {
  text: string;
  /** the same label sets, and at least 98% of either side's points at the same times: the same work. */
  same: boolean;
  /** share of the values at the same times within 10% of Prometheus's. */
  within10: number;
}

/** How two range answers compare: label sets, timestamps, values within 1% / 10%. */
function agreement(pw: Matrix, prom: Matrix): Agreement {
  const a = new Map(pw.map((s) => [key(s.metric), s.values]));
  const b = new Map(prom.map((s) => [key(s.metric), s.values]));
  const common = [...a.keys()].filter((k) => b.has(k));
  let points = 0;
  let pointsPw = 0;
  let pointsProm = 0;
  let in1 = 0;
  let in10 = 0;
  let maxRel = 0;
  for (const s of a.values()) pointsPw += s.length;
  for (const s of b.values()) pointsProm += s.length;
  for (const k of common) {
    const theirs = new Map(b.get(k)!.map(([t, v]) => [ms(t), Number(v)]));
    for (const [t, v] of a.get(k)!) {
      const y = theirs.get(ms(t));
      if (y === undefined) continue;
      points++;
      const x = Number(v);
      const rel = x === y || (Number.isNaN(x) && Number.isNaN(y)) ? 0 : Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y));
      if (rel <= 0.01) in1++;
      if (rel <= 0.1) in10++;
      maxRel = Math.max(maxRel, Number.isNaN(rel) ? Infinity : rel);
    }
  }
  const sameSeries = common.length === a.size && common.length === b.size;
  const samePoints = points === pointsPw && points === pointsProm;
  const pct = (n: number) => (points ? `${fmt((100 * n) / points, 1)}%` : '-');
  const text = `${sameSeries ? `same ${a.size} series` : `${a.size} vs ${b.size} series (${common.length} in both)`}, ${samePoints ? `same ${fmt(points)} timestamps` : `${fmt(pointsPw)} vs ${fmt(pointsProm)} points (${fmt(points)} at the same time)`}; values within 1%: ${pct(in1)}, within 10%: ${pct(in10)}, largest difference ${fmt(100 * maxRel, 1)}%`;
  // topk picks other series among near-equal values, the edges differ by a point: 98%, not all.
  const same = sameSeries && points >= 0.98 * Math.max(pointsPw, pointsProm);
  return { text, same, within10: points ? in10 / points : NaN };
}

interface Side {
  p50: number;
  p95: number;
  runs: number;
}

const stats = (times: number[], runs = times.length): Side => {
  const s = [...times].sort((x, y) => x - y);
  return { p50: percentile(s, 50), p95: percentile(s, 95), runs };
};

async function main(): Promise<void> {
  say(`# PerfWatch PromQL benchmark, with Prometheus as the peer (${new Date().toISOString()})`);
  say(`server: ${await serverVersion()}; client: Node ${process.version}; ${cpus().length} CPUs (${cpus()[0]?.model.trim()}); load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  const tData = performance.now();
  await seed();

  let fed: Awaited<ReturnType<typeof feedPeer>> | undefined;
  const bin = prometheusBinary();
  if (!WANT_PEER) say('Prometheus: not measured (BENCH_PROMQL_PEER=0)');
  else if ('missing' in bin) say(`Prometheus: not measured, ${bin.missing}`);
  else {
    fed = await feedPeer();
    peer = fed.peer;
  }
  const dataS = (performance.now() - tData) / 1000;
  say(`data built in ${fmt(dataS, 0)} s (PerfWatch${peer ? ' and Prometheus' : ''})`);

  // The api as its own process, as in production (and as Prometheus runs): a client in the api's
  // process would share its thread, charging PerfWatch the client's work that Prometheus is not.
  // Built (api/dist) when the build is fresh, else the source through tsx.
  const command = apiCommand('built');
  say(`api: ${command.what}, its own process; queries in ${DEFAULTS.queryWorkers} worker thread(s) (the default here)`);
  const api = await spawnApi({ schema, password: PASSWORD, command });
  await api.ready();
  const apiUrl = api.base;
  try {
    const token = await apiToken(apiUrl, await login(apiUrl, PASSWORD), { name: 'bench' });

    /** One query_range of `base` (same client code for both): its series and the tier header. */
    const ask = async (base: string, headers: Record<string, string>, qs: URLSearchParams) => {
      const r = await fetch(`${base}/api/v1/query_range?${qs}`, { headers });
      const body = (await r.json()) as { status: string; error?: string; data?: { result: Matrix } };
      if (r.status !== 200 || body.status !== 'success') throw new Error(`${qs.get('query')}: ${r.status} ${body.error}`);
      return { result: body.data!.result, tier: r.headers.get('x-perfwatch-tier') };
    };
    const pwBase = `${apiUrl}/prometheus`;
    const auth = { authorization: `Bearer ${token}` };
    const timed = async (fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      await fn();
      return performance.now() - t0;
    };

    const gauge = 'perfwatch_load_average_1m{host="ref"}';
    const rate = 'rate(perfwatch_cpu_seconds_total{host="ref",cpu="0",mode="user"}[5m])';
    const sum = 'sum by (mode) (rate(perfwatch_cpu_seconds_total[5m]))';
    const topk = 'topk(3, rate(perfwatch_cpu_seconds_total[5m]))';
    const regex = 'perfwatch_cpu_seconds_total{mode=~"user|sys.*"}';
    const subquery = 'max_over_time(rate(perfwatch_cpu_seconds_total[5m])[1h:1m])';
    const D = `${DAYS} days`;
    const cases: Case[] = [
      // Reads nothing: what a request costs by itself (HTTP, JSON, and PerfWatch's token check).
      { label: 'no data: vector(1), 24 h', query: 'vector(1)', range: DAY },
      { label: 'gauge, 24 h', query: gauge, range: DAY },
      { label: `gauge, ${D}`, query: gauge, range: DAYS * DAY },
      { label: 'counter rate, 24 h', query: rate, range: DAY },
      { label: `counter rate, ${D}`, query: rate, range: DAYS * DAY },
      { label: 'sum by (mode) (rate[5m]), 24 h', query: sum, range: DAY },
      { label: `sum by (mode) (rate[5m]), ${D}`, query: sum, range: DAYS * DAY },
      { label: `sum by (mode) (rate[1h]), ${D} at 1 h steps`, query: sum.replace('[5m]', '[1h]'), range: DAYS * DAY, step: HOUR },
      { label: 'topk(3, rate[5m]), 24 h', query: topk, range: DAY },
      { label: `topk(3, rate[5m]), ${D}`, query: topk, range: DAYS * DAY },
      { label: 'regex matcher {mode=~"user|sys.*"}, 24 h', query: regex, range: DAY },
      { label: `regex matcher {mode=~"user|sys.*"}, ${D}`, query: regex, range: DAYS * DAY },
      { label: 'subquery max_over_time(rate[5m])[1h:1m], 24 h', query: subquery, range: DAY },
      // Raw samples only (no rollup holds what they need): the steps' windows are read, not the range.
      { label: `irate, ${D}`, query: rate.replace('rate(', 'irate('), range: DAYS * DAY },
      { label: `deriv of the gauge, ${D}`, query: `deriv(${gauge}[5m])`, range: DAYS * DAY },
    ].filter((c) => !ONLY || new RegExp(ONLY).test(c.label));

    say(`\nquery_range over HTTP, ~1,000 points (step whole minutes); p50 / p95 of ${RUNS} runs after ${WARMUP} untimed, PerfWatch${peer ? ' and Prometheus alternating' : ''}:`);
    say(`queries: gauge = ${gauge}; counter rate = ${rate}; sum = ${sum}; topk = ${topk}; regex = ${regex}; subquery = ${subquery}`);
    const rows: Record<string, unknown>[] = [];

    // Both servers warm, as they are after serving dashboards for a while: a fresh api process
    // runs its code in V8's interpreter and baseline tiers until each path has run some hundreds
    // of times; Prometheus (compiled Go) has no such phase. Same requests, same client, both sides.
    if (WARM_ROUNDS > 0) {
      const t0 = performance.now();
      const warm = [`vector(1)`, gauge, rate].map((query) => new URLSearchParams({ query, start: String((END - DAY) / 1000), end: String(END / 1000), step: '120' }));
      for (let i = 0; i < WARM_ROUNDS; i++) {
        for (const qs of warm) {
          await ask(pwBase, auth, qs);
          if (peer) await ask(peer.url, {}, qs);
        }
      }
      say(`warm-up: ${WARM_ROUNDS} rounds of vector(1), the gauge and the counter rate over 24 h, each side, in ${fmt((performance.now() - t0) / 1000, 1)} s (BENCH_PROMQL_WARM_ROUNDS)`);
    }

    for (const c of cases) {
      const step = c.step ?? Math.ceil(c.range / 1000 / MIN) * MIN;
      const qs = new URLSearchParams({ query: c.query, start: String((END - c.range) / 1000), end: String(END / 1000), step: String(step / 1000) });
      const pwOnce = () => ask(pwBase, auth, qs);
      const promOnce = () => ask(peer!.url, {}, qs);
      const rawOnce = () => ask(pwBase, { ...auth, 'x-perfwatch-tier': 'raw' }, qs);

      // PerfWatch's default mode and Prometheus, alternating.
      // A query whose quickest untimed pair (the first one runs cold) takes under 200 ms is timed
      // RUNS_FAST times: a p95 of 20 runs is their second slowest, one pause of the machine.
      let tFirst = performance.now();
      const pwAns = await pwOnce();
      const promAns = peer ? await promOnce() : undefined;
      let quickest = performance.now() - tFirst;
      for (let k = 1; k < WARMUP; k++) {
        tFirst = performance.now();
        await pwOnce();
        if (peer) await promOnce();
        quickest = Math.min(quickest, performance.now() - tFirst);
      }
      const fast = quickest < (peer ? 200 : 100);
      const tPw: number[] = [];
      const tProm: number[] = [];
      const runs = fast ? Math.max(RUNS, RUNS_FAST) : RUNS;
      for (let i = 0; i < runs; i++) {
        if (peer && i % 2) tProm.push(await timed(promOnce));
        tPw.push(await timed(pwOnce));
        if (peer && !(i % 2)) tProm.push(await timed(promOnce));
      }
      const pw = stats(tPw);
      const prom = peer ? stats(tProm) : undefined;
      const points = pwAns.result.reduce((m, s) => Math.max(m, s.values.length), 0);
      say(`\n  ${c.label}  [step ${step / 1000} s, ${pwAns.result.length} series x ${points} points, ${runs} runs] [${secs()}]`);
      say(`    PerfWatch (default, tier ${pwAns.tier}): p50 ${fmt(pw.p50, 1)} ms, p95 ${fmt(pw.p95, 1)} ms`);
      let agree: Agreement | undefined;
      if (prom && promAns) {
        say(`    Prometheus ${peer!.version}:${' '.repeat(Math.max(1, 12 + (pwAns.tier ?? '').length - peer!.version.length))}p50 ${fmt(prom.p50, 1)} ms, p95 ${fmt(prom.p95, 1)} ms`);
        say(`    ratio PerfWatch / Prometheus: p50 ${fmt(pw.p50 / prom.p50, 2)}, p95 ${fmt(pw.p95 / prom.p95, 2)}${pw.p50 / prom.p50 > 1 || pw.p95 / prom.p95 > 1 ? '  (above 1.0)' : ''}`);
        agree = agreement(pwAns.result, promAns.result);
        say(`    answers (PerfWatch default vs Prometheus): ${agree.text}`);
      }

      // Then raw samples forced, where that finishes in reasonable time.
      let raw: Side | undefined;
      let rawAgree: Agreement | undefined;
      let rawNote = '';
      const probe = performance.now();
      const rawAns = RAW_MAX_MS > 0 ? await rawOnce() : undefined;
      const first = performance.now() - probe;
      if (!rawAns) rawNote = 'not measured (BENCH_PROMQL_RAW_MAX_S=0)';
      else if (first > RAW_MAX_MS) {
        rawNote = `skipped: its first run took ${fmt(first / 1000, 1)} s (over ${RAW_MAX_MS / 1000} s)`;
        say(`    PerfWatch raw (forced): ${rawNote}`);
      } else {
        const slow = first > 1000;
        const runs = slow ? Math.max(3, Math.min(RUNS, Math.floor(RAW_BUDGET_MS / first))) : RUNS;
        if (!slow) for (let k = 1; k < WARMUP; k++) await rawOnce();
        const tRaw: number[] = [];
        for (let i = 0; i < runs; i++) tRaw.push(await timed(rawOnce));
        raw = stats(tRaw, runs);
        const ratio = prom ? `; ratio to Prometheus p50 ${fmt(raw.p50 / prom.p50, 2)}, p95 ${fmt(raw.p95 / prom.p95, 2)}` : '';
        say(`    PerfWatch raw (forced, tier ${rawAns.tier}): p50 ${fmt(raw.p50, 1)} ms, p95 ${fmt(raw.p95, 1)} ms${runs !== RUNS ? ` (${runs} runs after 1: ${fmt(first / 1000, 1)} s a run)` : ''}${ratio}`);
        if (promAns) {
          rawAgree = agreement(rawAns.result, promAns.result);
          say(`    answers (PerfWatch raw vs Prometheus): ${rawAgree.text}`);
        }
      }
      rows.push({
        query: c.label, expr: c.query, step: step / 1000, series: pwAns.result.length, points, tier: pwAns.tier,
        perfwatch: pw, prometheus: prom, ratio: prom ? { p50: pw.p50 / prom.p50, p95: pw.p95 / prom.p95 } : undefined,
        agree, raw, rawRatio: raw && prom ? { p50: raw.p50 / prom.p50, p95: raw.p95 / prom.p95 } : undefined, rawAgree, rawNote: rawNote || undefined,
      });
    }

    // /health while the heaviest query runs (#19: under 100 ms): 30 days of raw samples, summed.
    // Asked by another process, as another client would (an in-process client would share the
    // api's event loop and count its own turns too). First in the default mode (queries evaluated
    // in a worker thread), then with PERFWATCH_QUERY_WORKERS=0 (in the api's own thread).
    if (!ONLY || new RegExp(ONLY).test('health')) {
      const heavy = new URLSearchParams({ query: sum, start: String((END - DAYS * DAY) / 1000), end: String(END / 1000), step: String(Math.ceil((DAYS * DAY) / 1000 / MIN) * 60) });
      const healthDuring = async (apiUrl: string, headers: Record<string, string>, mode: string) => {
        const poller = spawn(process.execPath, ['-e', `
          const lat = [];
          let stop = false;
          process.stdin.on('data', () => { stop = true; });
          (async () => {
            while (!stop) {
              const t0 = performance.now();
              const r = await fetch(process.argv[1] + '/health');
              await r.arrayBuffer();
              lat.push(performance.now() - t0);
              await new Promise((res) => setTimeout(res, 25));
            }
            process.stdout.write(JSON.stringify(lat));
            process.exit(0);
          })();
        `, apiUrl], { stdio: ['pipe', 'pipe', 'inherit'] });
        let out = '';
        poller.stdout.on('data', (d: Buffer) => (out += d));
        const exited = new Promise<void>((res) => poller.on('exit', () => res()));
        await new Promise((res) => setTimeout(res, 300)); // the poller is running
        const t0 = performance.now();
        await ask(`${apiUrl}/prometheus`, { ...headers, 'x-perfwatch-tier': 'raw' }, heavy);
        const took = performance.now() - t0;
        poller.stdin.write('stop\n');
        await exited;
        const lat = (JSON.parse(out || '[]') as number[]).sort((a, b) => a - b);
        const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? Number.NaN;
        say(`\n  /health (from another process) while ${sum} over ${D} reads raw samples, ${mode} (${fmt(took / 1000, 1)} s): ${lat.length} answers, p50 ${fmt(pct(0.5), 1)} ms, p99 ${fmt(pct(0.99), 1)} ms, max ${fmt(lat[lat.length - 1] ?? Number.NaN, 1)} ms (target: under 100 ms)`);
        rows.push({ query: `/health during the heaviest query, ${mode}`, healthAnswers: lat.length, p50: pct(0.5), p99: pct(0.99), max: lat[lat.length - 1], heavySeconds: took / 1000 });
      };
      await healthDuring(apiUrl, auth, `default: evaluated in ${DEFAULTS.queryWorkers} worker thread(s)`);
      const inThread = await spawnApi({ schema, password: PASSWORD, command, env: { PERFWATCH_QUERY_WORKERS: '0' } });
      try {
        await inThread.ready();
        await healthDuring(inThread.base, auth, "PERFWATCH_QUERY_WORKERS=0: evaluated in the api's thread");
      } finally {
        await inThread.stop();
      }
    }

    if (peer) {
      // A compaction during the runs would have slowed Prometheus: say so.
      const text = await (await fetch(`${peer.url}/metrics`)).text();
      const after = promMetric(text, 'prometheus_tsdb_compactions_total');
      if (after !== fed!.compactions) say(`\n  note: Prometheus compacted ${after - fed!.compactions} more times during the runs`);
    }

    say('\nsummary (ms; ratio = PerfWatch / Prometheus, above 1.0 is slower than Prometheus):');
    say('| query | tier | PerfWatch p50 / p95 | Prometheus p50 / p95 | ratio p50 / p95 | raw forced p50 / p95 | raw ratio p50 / p95 | answers: series and times; values within 10% (default / raw) |');
    say('|---|---|---|---|---|---|---|---|');
    for (const r of rows.filter((x) => 'perfwatch' in x) as { query: string; tier: string; perfwatch: Side; prometheus?: Side; ratio?: { p50: number; p95: number }; raw?: Side; rawRatio?: { p50: number; p95: number }; agree?: Agreement; rawAgree?: Agreement; rawNote?: string }[]) {
      const pair = (s?: { p50: number; p95: number }, d = 1) => (s ? `${fmt(s.p50, d)} / ${fmt(s.p95, d)}` : '-');
      const yn = (a?: Agreement) => (a === undefined ? '-' : `${a.same ? 'same' : 'NOT same'}, ${fmt(100 * a.within10, 0)}%`);
      say(`| ${r.query} | ${r.tier} | ${pair(r.perfwatch)} | ${pair(r.prometheus)} | ${pair(r.ratio, 2)} | ${r.raw ? pair(r.raw) : 'skipped'} | ${pair(r.rawRatio, 2)} | ${yn(r.agree)} / ${yn(r.rawAgree)} |`);
    }
    say(`BENCH_JSON ${JSON.stringify({ bench: 'promql', days: DAYS, runs: RUNS, prometheus: peer?.version, peerSeries: fed?.series, peerSamples: fed?.samples, dataSeconds: dataS, results: rows })}`);
  } finally {
    await api.stop();
  }
}

try {
  await main();
} finally {
  await peer?.close();
  await close();
}
say(`\ndone in ${secs()}`);
