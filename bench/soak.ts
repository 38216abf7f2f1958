/**
 * Soak (issue #20): the exporter (writing history to PostgreSQL, 1 s interval) and the api, each
 * its own process, under steady load for BENCH_SOAK_MINUTES (10): 10 scrapes/s of the exporter's
 * /metrics and 2 PromQL queries/s (range over the last 5 minutes) of the api. Samples both
 * processes' RSS every 5 s and prints, per process, RSS at the end of the warm-up (the first fifth
 * of the run, at least 1 minute when the run is 5 minutes or more), at the end and at its peak,
 * and the least-squares slope of RSS per minute after the warm-up: a leak shows as a slope that
 * stays positive run after run; a flat process is within a fraction of a MB per minute. Errors
 * (non-200 answers, failed requests) are counted and printed too.
 *
 *   node --conditions=perfwatch-src --import tsx bench/soak.ts
 *
 * TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); BENCH_SOAK_MINUTES=10.
 * The schema is the benchmark's own and dropped afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchSchema, fmt, freePort, url } from '../store/bench/lib.js';
import { apiCommand, login, spawnApi } from '../api/bench/lib.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 10);
const SCRAPES_PER_S = 10;
const QUERIES_PER_S = 2;
const SAMPLE_MS = 5_000;
const PASSWORD = 'bench-soak-password-1';
const HOST = 'bench-soak';

function rssMb(pid: number): number {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(s)?.[1] ?? NaN) / 1024;
}

/** Least-squares slope of y over x. */
function slope(points: [x: number, y: number][]): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Runs `fn` `perSecond` times a second until `stop()` says so; counts what fails. */
function steady(perSecond: number, fn: () => Promise<boolean>, stop: () => boolean): { done: Promise<void>; ok: () => number; errors: () => number } {
  let ok = 0;
  let errors = 0;
  const done = (async () => {
    const every = 1000 / perSecond;
    let next = performance.now();
    const inflight = new Set<Promise<void>>();
    while (!stop()) {
      const p: Promise<void> = fn().then(
        (good) => {
          if (good) ok++;
          else errors++;
        },
        () => {
          errors++;
        },
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      next += every;
      await sleep(Math.max(0, next - performance.now()));
    }
    await Promise.all(inflight);
  })();
  return { done, ok: () => ok, errors: () => errors };
}

const { schema, close } = benchSchema('soak');
const dataDir = mkdtempSync(join(tmpdir(), 'perfwatch-soak-'));
let exporter: ChildProcess | undefined;
let api: Awaited<ReturnType<typeof spawnApi>> | undefined;
try {
  process.stdout.write(`# soak (${new Date().toISOString()}): Node ${process.version}, ${cpus().length} CPUs, ${MINUTES} min, ${SCRAPES_PER_S} scrapes/s + ${QUERIES_PER_S} queries/s\n`);
  const cmd = apiCommand('built');
  api = await spawnApi({ schema, password: PASSWORD, command: cmd });
  await api.ready();
  const token = await login(api.base, PASSWORD);

  const port = await freePort();
  const built = `${ROOT}exporter/dist/main.js`;
  const args = existsSync(built) ? [built] : ['--conditions=perfwatch-src', '--import', 'tsx', `${ROOT}exporter/src/main.ts`];
  exporter = spawn(process.execPath, args, {
    env: {
      ...process.env,
      PERFWATCH_EXPORTER_PORT: String(port),
      PERFWATCH_EXPORTER_HOST: '127.0.0.1',
      PERFWATCH_INTERVAL_SECONDS: '1',
      PERFWATCH_HOSTNAME: HOST,
      PERFWATCH_LOG_LEVEL: 'warn',
      PERFWATCH_DATA_DIR: dataDir,
      DATABASE_URL: url,
      PERFWATCH_DB_SCHEMA: schema,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const metrics = `http://127.0.0.1:${port}/metrics`;
  for (let i = 0; ; i++) {
    if (exporter.exitCode !== null) throw new Error(`the exporter exited (${exporter.exitCode})`);
    if (await fetch(metrics).then((r) => r.ok, () => false)) break;
    if (i > 600) throw new Error('the exporter did not come up');
    await sleep(100);
  }
  process.stdout.write(`exporter: ${args.at(-1)}; api: ${cmd.what}\n`);

  const end = Date.now() + MINUTES * 60_000;
  const stop = () => Date.now() >= end;
  const scrapes = steady(SCRAPES_PER_S, async () => {
    const r = await fetch(metrics);
    await r.arrayBuffer();
    return r.status === 200;
  }, stop);
  const query = () => {
    const now = Date.now() / 1000;
    const q = new URLSearchParams({ query: `rate(perfwatch_cpu_seconds_total{host="${HOST}"}[1m])`, start: String(now - 300), end: String(now), step: '15' });
    return `${api!.base}/prometheus/api/v1/query_range?${q}`;
  };
  const queries = steady(QUERIES_PER_S, async () => {
    const r = await fetch(query(), { headers: { authorization: `Bearer ${token}` } });
    await r.arrayBuffer();
    return r.status === 200;
  }, stop);

  const t0 = Date.now();
  const samples: { min: number; exporter: number; api: number }[] = [];
  while (!stop()) {
    samples.push({ min: (Date.now() - t0) / 60_000, exporter: rssMb(exporter.pid!), api: rssMb(api.child.pid!) });
    await sleep(Math.min(SAMPLE_MS, Math.max(0, end - Date.now())));
  }
  samples.push({ min: (Date.now() - t0) / 60_000, exporter: rssMb(exporter.pid!), api: rssMb(api.child.pid!) });
  await Promise.all([scrapes.done, queries.done]);

  const warmup = MINUTES >= 5 ? Math.max(1, MINUTES / 5) : MINUTES / 5;
  const after = samples.filter((s) => s.min >= warmup);
  process.stdout.write(`warm-up: the first ${fmt(warmup, 1)} min; ${after.length} samples after it, every ${SAMPLE_MS / 1000} s\n`);
  process.stdout.write('| process | RSS after warm-up | RSS at the end | peak RSS | slope after warm-up |\n|---|---|---|---|---|\n');
  const results: Record<string, { warmRssMb: number; endRssMb: number; peakRssMb: number; slopeMbPerMin: number }> = {};
  for (const which of ['exporter', 'api'] as const) {
    const ys = after.map((s) => s[which]);
    const r = { warmRssMb: ys[0]!, endRssMb: ys.at(-1)!, peakRssMb: Math.max(...samples.map((s) => s[which])), slopeMbPerMin: slope(after.map((s) => [s.min, s[which]])) };
    results[which] = r;
    process.stdout.write(
      `| ${which} | ${fmt(r.warmRssMb, 1)} MB | ${fmt(r.endRssMb, 1)} MB | ${fmt(r.peakRssMb, 1)} MB | ${r.slopeMbPerMin >= 0 ? '+' : ''}${fmt(r.slopeMbPerMin, 2)} MB/min |\n`,
    );
  }
  process.stdout.write(`scrapes: ${fmt(scrapes.ok())} ok, ${scrapes.errors()} errors; queries: ${fmt(queries.ok())} ok, ${queries.errors()} errors\n`);
  const errors = { scrapes: scrapes.errors(), queries: queries.errors() };
  process.stdout.write(`BENCH_JSON ${JSON.stringify({ bench: 'soak', minutes: MINUTES, warmupMinutes: warmup, results, errors })}\n`);
  if (scrapes.errors() + queries.errors() > 0) process.exitCode = 1;
} finally {
  if (exporter && exporter.exitCode === null) {
    const exited = new Promise((r) => exporter!.once('exit', r));
    exporter.kill('SIGTERM');
    await exited;
  }
  await api?.stop();
  await close();
  rmSync(dataDir, { recursive: true, force: true });
}
