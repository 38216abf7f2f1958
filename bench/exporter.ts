/**
 * Exporter benchmark on this machine's real /proc, against prometheus-node-exporter measured in
 * the same run (started on a free port; CPU read from its /proc/<pid>/stat the same way).
 *
 * 1. The default mode, what users run: background collection every 5 s with the writer on (the
 *    machine's PostgreSQL, or an embedded one; a schema of its own, dropped afterwards), scraped
 *    as Prometheus does (Accept-Encoding: gzip). In rounds, each: a window nobody scrapes (CPU
 *    per background collection), a window scraped every second and one every 15 s (process CPU
 *    per second of wall time); then a burst of back-to-back scrapes inside one snapshot (CPU per
 *    scrape of a cached snapshot) and 1,000 back-to-back scrapes (p50/p99 latency, RSS, VmHWM).
 *    node_exporter is scraped in the same windows; it collects at every scrape.
 * 2. The every-scrape mode (BACKGROUND_COLLECTION_ENABLED=false, no writer): every scrape
 *    collects and renders, node_exporter's way; CPU per scrape, p50/p99 with 1 and 4 clients.
 *
 * 3. Where a collection's CPU goes: each default collector alone in this process, warm, on this
 *    machine (process.cpuUsage over repeated collections), and the render of the whole snapshot.
 *
 * CPU is the process's utime + stime (/proc/<pid>/stat), never wall time. The machine may be
 * shared: each figure is the median of its rounds, and every ratio compares figures of one run.
 *
 *   BENCH_EXPORTER_MODE=default|every-scrape|collectors|both (both: all three)  BENCH_ROUNDS=3  BENCH_WARMUP_SECONDS=60
 *   BENCH_IDLE_SECONDS=30  BENCH_FAST_SECONDS=30  BENCH_SLOW_SECONDS=60  BENCH_SCRAPES=300
 *   BENCH_LATENCY_SCRAPES=300  TEST_DATABASE_URL (else the machine's PostgreSQL, else embedded)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { runCleanups, testServer } from '../store/test/helpers.js';
import { COLLECTORS, selectCollectors } from '../exporter/src/collectors/registry.js';
import { loadConfig } from '../exporter/src/config.js';
import { snapshotFamilies } from '../exporter/src/families.js';
import { writeFamilies } from '../exporter/src/exposition.js';
import { SnapshotPipeline } from '../exporter/src/snapshot.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODE = process.env.BENCH_EXPORTER_MODE ?? 'both';
const num = (name: string, def: number) => Number(process.env[name] ?? def);
const ROUNDS = num('BENCH_ROUNDS', 3);
const WARMUP_S = num('BENCH_WARMUP_SECONDS', 60);
const IDLE_S = num('BENCH_IDLE_SECONDS', 30);
const FAST_S = num('BENCH_FAST_SECONDS', 30);
const SLOW_S = num('BENCH_SLOW_SECONDS', 60);
const BURST = 200;
const BACK_TO_BACK = 1000;
const SCRAPES_CPU = num('BENCH_SCRAPES', 300);
const SCRAPES_LAT = num('BENCH_LATENCY_SCRAPES', 300);
const INTERVAL_MS = 5000;
const CLK_TCK = 100;
const GZIP = { 'accept-encoding': 'gzip' };
const IDENTITY = { 'accept-encoding': 'identity' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** utime + stime of the whole process (all threads), in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1000;
}

function memMb(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(s.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function waitUp(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

/** One scrape; ms until the whole body has arrived. */
async function scrapeOnce(url: string, headers: Record<string, string>): Promise<number> {
  const t = performance.now();
  const r = await fetch(url, { headers });
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return performance.now() - t;
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const median = (values: number[]) => pct(values, 50);

function stop(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

async function seriesOf(url: string): Promise<number> {
  const body = await (await fetch(url, { headers: IDENTITY })).text();
  return body.split('\n').filter((l) => l && !l.startsWith('#')).length;
}

interface Target {
  name: string;
  child: ChildProcess;
  url: string;
}

function nodeExporterPath(): string | undefined {
  return spawnSync('sh', ['-c', 'command -v prometheus-node-exporter'], { encoding: 'utf8' }).stdout.trim() || undefined;
}

async function startNodeExporter(): Promise<Target | undefined> {
  const bin = nodeExporterPath();
  if (!bin) return undefined;
  const port = await freePort();
  const child = spawn(bin, [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'ignore'] });
  const t = { name: 'node_exporter', child, url: `http://127.0.0.1:${port}/metrics` };
  await waitUp(t.url, child);
  return t;
}

async function startPerfwatch(env: Record<string, string>): Promise<Target> {
  const port = await freePort();
  // run as a program, as npm start does, so main.js's shebang flags apply
  const child = spawn(`${ROOT}exporter/dist/main.js`, [], {
    env: { ...process.env, PERFWATCH_EXPORTER_PORT: String(port), PERFWATCH_EXPORTER_HOST: '127.0.0.1', PERFWATCH_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const t = { name: 'perfwatch', child, url: `http://127.0.0.1:${port}/metrics` };
  await waitUp(t.url, child);
  return t;
}

const ratio = (ours: number, theirs: number | undefined) => (theirs === undefined || !(theirs > 0) ? 'n/a' : (ours / theirs).toFixed(2));
const ms = (v: number, d = 2) => `${v.toFixed(d)} ms`;

// ---------------------------------------------------------------------------------------------
// 1. default mode

/** ts of the exporter's latest snapshot (/health), ms. */
async function lastSnapshotMs(base: string): Promise<number> {
  const h = (await (await fetch(`${base}/health`)).json()) as { lastSnapshot: string | null };
  return h.lastSnapshot ? Date.parse(h.lastSnapshot) : 0;
}

/** Scrapes every target every `everyMs` for `seconds`; CPU ms used by each and the latencies. */
async function scrapeWindow(targets: Target[], seconds: number, everyMs: number): Promise<{ cpu: number[]; lat: number[][]; scrapes: number }> {
  const c0 = targets.map((t) => cpuMs(t.child.pid!));
  const lat: number[][] = targets.map(() => []);
  const started = performance.now();
  let scrapes = 0;
  for (let next = started; next < started + seconds * 1000; next += everyMs) {
    await sleep(Math.max(0, next - performance.now()));
    for (const [i, t] of targets.entries()) lat[i]!.push(await scrapeOnce(t.url, GZIP));
    scrapes++;
  }
  await sleep(Math.max(0, started + seconds * 1000 - performance.now()));
  return { cpu: targets.map((t, i) => cpuMs(t.child.pid!) - c0[i]!), lat, scrapes };
}

/** CPU per scrape over `n` back-to-back gzip scrapes that all fall inside one snapshot of ours. */
async function cachedBurst(ours: Target, n: number): Promise<number> {
  const base = ours.url.replace(/\/metrics$/, '');
  for (let attempt = 0; attempt < 5; attempt++) {
    // start just after a collection, and render + gzip that snapshot's page with one scrape
    const before = await lastSnapshotMs(base);
    while ((await lastSnapshotMs(base)) === before) await sleep(50);
    const snap = await lastSnapshotMs(base);
    await scrapeOnce(ours.url, GZIP);
    const c0 = cpuMs(ours.child.pid!);
    for (let i = 0; i < n; i++) await scrapeOnce(ours.url, GZIP);
    const cpu = cpuMs(ours.child.pid!) - c0;
    if ((await lastSnapshotMs(base)) === snap) return cpu / n;
    // a collection ran during the burst: its CPU is in the figure, so try again
  }
  throw new Error('every burst of cached scrapes overlapped a collection');
}

async function defaultMode(): Promise<Record<string, unknown>> {
  const server = await testServer();
  const schema = `bench_exporter_${process.pid}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'perfwatch-bench-exporter-'));
  const ours = await startPerfwatch({ DATABASE_URL: server.url, PERFWATCH_DB_SCHEMA: schema, PERFWATCH_DATA_DIR: dataDir });
  const theirs = await startNodeExporter();
  const targets = theirs ? [ours, theirs] : [ours];
  const base = ours.url.replace(/\/metrics$/, '');
  try {
    const series = await Promise.all(targets.map((t) => seriesOf(t.url)));
    console.log(
      `default mode: PerfWatch background collection every 5 s, writer on (${server.kind} PostgreSQL, schema ${schema}); ` +
        `${series[0]} series vs node_exporter's ${series[1] ?? '-'}; warm-up ${WARMUP_S} s scraped every second`,
    );
    await scrapeWindow(targets, WARMUP_S, 1000);

    const idle: { perColl: number; perSec: number; ne: number }[] = [];
    const fast: { ours: number; theirs: number; oursScrape: number; theirsScrape: number }[] = [];
    const slow: { ours: number; theirs: number }[] = [];
    const latFast: number[][] = [[], []];
    const latSlow: number[][] = [[], []];
    for (let r = 0; r < ROUNDS; r++) {
      // nobody scrapes: the background collections (and the writer) alone
      const t0 = await lastSnapshotMs(base);
      const c0 = targets.map((t) => cpuMs(t.child.pid!));
      await sleep(IDLE_S * 1000);
      const c1 = targets.map((t) => cpuMs(t.child.pid!));
      const collections = Math.round(((await lastSnapshotMs(base)) - t0) / INTERVAL_MS);
      const idleCpu = c1[0]! - c0[0]!;
      idle.push({ perColl: idleCpu / collections, perSec: idleCpu / IDLE_S, ne: theirs ? c1[1]! - c0[1]! : NaN });

      const f = await scrapeWindow(targets, FAST_S, 1000);
      fast.push({
        ours: f.cpu[0]! / FAST_S,
        theirs: f.cpu[1]! / FAST_S,
        // what the scrapes add to the background work
        oursScrape: (f.cpu[0]! - (idleCpu / IDLE_S) * FAST_S) / f.scrapes,
        theirsScrape: f.cpu[1]! / f.scrapes,
      });
      f.lat.forEach((l, i) => latFast[i]!.push(...l));

      const s = await scrapeWindow(targets, SLOW_S, 15_000);
      slow.push({ ours: s.cpu[0]! / SLOW_S, theirs: s.cpu[1]! / SLOW_S });
      s.lat.forEach((l, i) => latSlow[i]!.push(...l));
      const m = (a: number[]) => a.map((v) => v.toFixed(2)).join(' / ');
      console.log(
        `  round ${r + 1}: idle ${ms(idleCpu / collections)} per collection (${collections}); CPU per s at 1 s scrapes ${m([fast[r]!.ours, fast[r]!.theirs])} ms, ` +
          `at 15 s ${m([slow[r]!.ours, slow[r]!.theirs])} ms (ours / node_exporter)`,
      );
    }

    const cached: number[] = [];
    for (let r = 0; r < ROUNDS; r++) cached.push(await cachedBurst(ours, BURST));
    let neScrape = NaN;
    if (theirs) {
      const c0 = cpuMs(theirs.child.pid!);
      for (let i = 0; i < BURST; i++) await scrapeOnce(theirs.url, GZIP);
      neScrape = (cpuMs(theirs.child.pid!) - c0) / BURST;
    }

    // 1,000 back-to-back scrapes each: latency, then RSS and the high-water mark through them
    const b2b: number[][] = [];
    const mem: { rss: number; hwm: number }[] = [];
    for (const t of targets) {
      const lat: number[] = [];
      for (let i = 0; i < BACK_TO_BACK; i++) lat.push(await scrapeOnce(t.url, GZIP));
      b2b.push(lat);
      mem.push(memMb(t.child.pid!));
    }
    await sleep(2 * INTERVAL_MS);
    const steady = memMb(ours.child.pid!);

    const med = <T>(xs: T[], f: (x: T) => number) => median(xs.map(f));
    const res = {
      series: series[0],
      nodeExporterSeries: series[1],
      cpuPerCollectionMs: med(idle, (x) => x.perColl),
      idleCpuPerSecondMs: med(idle, (x) => x.perSec),
      nodeExporterIdleCpuPerSecondMs: med(idle, (x) => x.ne / IDLE_S),
      cpuPerSecondAt1sMs: med(fast, (x) => x.ours),
      nodeExporterCpuPerSecondAt1sMs: med(fast, (x) => x.theirs),
      cpuPerSecondAt15sMs: med(slow, (x) => x.ours),
      nodeExporterCpuPerSecondAt15sMs: med(slow, (x) => x.theirs),
      scrapeCpuAt1sMs: med(fast, (x) => x.oursScrape),
      nodeExporterScrapeCpuMs: med(fast, (x) => x.theirsScrape),
      cachedScrapeCpuMs: median(cached),
      nodeExporterBurstScrapeCpuMs: neScrape,
      latency: {
        at1s: { p50: pct(latFast[0]!, 50), p99: pct(latFast[0]!, 99), ne: theirs ? { p50: pct(latFast[1]!, 50), p99: pct(latFast[1]!, 99) } : undefined },
        at15s: { p50: pct(latSlow[0]!, 50), p99: pct(latSlow[0]!, 99), ne: theirs ? { p50: pct(latSlow[1]!, 50), p99: pct(latSlow[1]!, 99) } : undefined },
        backToBack: { p50: pct(b2b[0]!, 50), p99: pct(b2b[0]!, 99), ne: theirs ? { p50: pct(b2b[1]!, 50), p99: pct(b2b[1]!, 99) } : undefined },
      },
      rssMb: mem[0]!.rss,
      steadyRssMb: steady.rss,
      vmHwmMb: mem[0]!.hwm,
      nodeExporterRssMb: mem[1]?.rss,
      nodeExporterVmHwmMb: mem[1]?.hwm,
    };

    const row = (what: string, o: number, t: number | undefined, unit = 'ms', target = '') =>
      console.log(
        `  ${what.padEnd(44)} ${`${o.toFixed(2)} ${unit}`.padStart(11)}  ${(t === undefined || Number.isNaN(t) ? '-' : `${t.toFixed(2)} ${unit}`).padStart(11)}  ${ratio(o, t).padStart(5)}  ${target}`,
      );
    console.log(`  ${'figure (median of rounds)'.padEnd(44)} ${'PerfWatch'.padStart(11)}  ${'node_exp.'.padStart(11)}  ratio  target`);
    row('CPU per background collection', res.cpuPerCollectionMs, res.nodeExporterScrapeCpuMs, 'ms', '<= 5 ms (node_exporter: one scrape collects)');
    row('CPU per s, nobody scraping', res.idleCpuPerSecondMs, res.nodeExporterIdleCpuPerSecondMs);
    row('CPU per s, scraped every 1 s', res.cpuPerSecondAt1sMs, res.nodeExporterCpuPerSecondAt1sMs, 'ms', '<= 0.8x node_exporter');
    row('CPU per s, scraped every 15 s', res.cpuPerSecondAt15sMs, res.nodeExporterCpuPerSecondAt15sMs);
    row('CPU per scrape of a cached snapshot', res.cachedScrapeCpuMs, res.nodeExporterBurstScrapeCpuMs, 'ms', '<= 1 ms');
    row('CPU a scrape adds at 1 s (1 in 5 renders)', res.scrapeCpuAt1sMs, res.nodeExporterScrapeCpuMs);
    const l = res.latency;
    row('p50 latency at 1 s', l.at1s.p50, l.at1s.ne?.p50);
    row('p99 latency at 1 s', l.at1s.p99, l.at1s.ne?.p99);
    row('p50 latency at 15 s', l.at15s.p50, l.at15s.ne?.p50);
    row('p99 latency at 15 s', l.at15s.p99, l.at15s.ne?.p99);
    row('p50 latency, 1,000 back-to-back', l.backToBack.p50, l.backToBack.ne?.p50);
    row('p99 latency, 1,000 back-to-back', l.backToBack.p99, l.backToBack.ne?.p99);
    row('RSS after 1,000 back-to-back scrapes', res.rssMb, res.nodeExporterRssMb, 'MB', '<= 70 MB steady');
    row('RSS 10 s later (steady)', res.steadyRssMb, res.nodeExporterRssMb, 'MB');
    row('VmHWM through them', res.vmHwmMb, res.nodeExporterVmHwmMb, 'MB', '<= 80 MB');
    return res;
  } finally {
    await Promise.all(targets.map((t) => stop(t.child)));
    rmSync(dataDir, { recursive: true, force: true });
    const c = new pg.Client(server.url);
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await c.end();
    await runCleanups();
  }
}

// ---------------------------------------------------------------------------------------------
// 2. every-scrape mode

interface EveryScrape {
  name: string;
  series: number;
  cpuMsPerScrape: number;
  lat: Record<number, { p50: number; p99: number }>;
  rssMb: number;
  peakRssMb: number;
}

async function measureEveryScrape(t: Target): Promise<EveryScrape> {
  for (let i = 0; i < 20; i++) await scrapeOnce(t.url, IDENTITY); // warm-up (JIT, page cache)
  const series = await seriesOf(t.url);
  const c0 = cpuMs(t.child.pid!);
  for (let i = 0; i < SCRAPES_CPU; i++) await scrapeOnce(t.url, IDENTITY);
  const cpuMsPerScrape = (cpuMs(t.child.pid!) - c0) / SCRAPES_CPU;
  const lat: EveryScrape['lat'] = {};
  for (const clients of [1, 4]) {
    const times: number[] = [];
    const per = Math.ceil(SCRAPES_LAT / clients);
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = 0; i < per; i++) times.push(await scrapeOnce(t.url, IDENTITY));
      }),
    );
    lat[clients] = { p50: pct(times, 50), p99: pct(times, 99) };
  }
  const mem = memMb(t.child.pid!);
  return { name: t.name, series, cpuMsPerScrape, lat, rssMb: mem.rss, peakRssMb: mem.hwm };
}

function printEveryScrape(r: EveryScrape): void {
  console.log(
    `  ${r.name.padEnd(14)} series=${String(r.series).padStart(5)}  cpu/scrape=${r.cpuMsPerScrape.toFixed(2)} ms  ` +
      `p50/p99 1 client=${r.lat[1]!.p50.toFixed(2)}/${r.lat[1]!.p99.toFixed(2)} ms  4 clients=${r.lat[4]!.p50.toFixed(2)}/${r.lat[4]!.p99.toFixed(2)} ms  ` +
      `rss=${r.rssMb.toFixed(1)} MB (peak ${r.peakRssMb.toFixed(1)} MB)`,
  );
}

async function everyScrapeMode(): Promise<EveryScrape[]> {
  console.log('every-scrape mode: BACKGROUND_COLLECTION_ENABLED=false, no writer: every scrape collects and renders (node_exporter\'s way)');
  const results: EveryScrape[] = [];
  const ours = await startPerfwatch({ BACKGROUND_COLLECTION_ENABLED: 'false' });
  try {
    results.push(await measureEveryScrape(ours));
  } finally {
    await stop(ours.child);
  }
  printEveryScrape(results[0]!);
  const theirs = await startNodeExporter();
  if (!theirs) {
    console.log('  node_exporter: not installed (Debian package prometheus-node-exporter); no ratio this run');
    return results;
  }
  try {
    results.push(await measureEveryScrape(theirs));
  } finally {
    await stop(theirs.child);
  }
  const [o, t] = results as [EveryScrape, EveryScrape];
  printEveryScrape(t);
  console.log(
    `  ratio ours/node_exporter: cpu/scrape=${ratio(o.cpuMsPerScrape, t.cpuMsPerScrape)}  p50 1 client=${ratio(o.lat[1]!.p50, t.lat[1]!.p50)}  ` +
      `p50 4 clients=${ratio(o.lat[4]!.p50, t.lat[4]!.p50)}  rss=${ratio(o.rssMb, t.rssMb)}  (series ${o.series} vs ${t.series})`,
  );
  return results;
}

// ---------------------------------------------------------------------------------------------
// 3. per collector, in process

async function collectorCosts(): Promise<Record<string, number>> {
  const config = loadConfig({ ...process.env, PERFWATCH_LOG_LEVEL: 'silent' });
  const log = pino({ level: 'silent' });
  const cpuOf = async (n: number, f: () => unknown): Promise<number> => {
    for (let i = 0; i < 10; i++) await f();
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await f();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / n;
  };
  const costs: Record<string, number> = {};
  const defs = selectCollectors(undefined, COLLECTORS);
  for (const def of defs) {
    const p = new SnapshotPipeline(config, [def], log);
    costs[def.name] = await cpuOf(50, () => p.collect());
    await p.close();
  }
  const all = new SnapshotPipeline(config, defs, log);
  costs['(all, one pipeline)'] = await cpuOf(50, () => all.collect());
  const snap = await all.collect();
  await all.close();
  costs['(render the snapshot, text)'] = await cpuOf(50, () => writeFamilies(snapshotFamilies(snap), false));
  console.log("where a collection's CPU goes: each default collector alone, warm, in this process (ms per collection)");
  const sorted = Object.entries(costs).sort((a, b) => b[1] - a[1]);
  for (const [name, v] of sorted) console.log(`  ${name.padEnd(30)} ${v.toFixed(3).padStart(8)}`);
  return costs;
}

const out: Record<string, unknown> = { bench: 'exporter' };
if (!nodeExporterPath()) console.log('node_exporter: not installed (Debian package prometheus-node-exporter); no ratios this run');
if (MODE === 'both' || MODE === 'default') out.defaultMode = await defaultMode();
if (MODE === 'both' || MODE === 'every-scrape') out.results = await everyScrapeMode();
if (MODE === 'both' || MODE === 'collectors') out.collectorCpuMs = await collectorCosts();
console.log(`BENCH_JSON ${JSON.stringify(out)}`);
