/**
 * Exporter benchmark on this machine's real /proc: CPU per scrape (each scrape collects and
 * renders: the exporter runs with BACKGROUND_COLLECTION_ENABLED=false, so no cached snapshot
 * makes a scrape look free), p50/p99 latency with 1 and 4 concurrent clients, RSS. When
 * prometheus-node-exporter is installed, the same run measures it and prints our/theirs ratios.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRAPES_CPU = Number(process.env.BENCH_SCRAPES ?? 300);
const SCRAPES_LAT = Number(process.env.BENCH_LATENCY_SCRAPES ?? 300);
const CLK_TCK = 100;

interface Result {
  name: string;
  series: number;
  cpuMsPerScrape: number;
  lat: Record<number, { p50: number; p99: number }>;
  rssMb: number;
  peakRssMb: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime + stime
}

function rssMb(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(s.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function waitUp(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

async function scrapeOnce(url: string): Promise<number> {
  const t = performance.now();
  const r = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
  await r.arrayBuffer();
  return performance.now() - t;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(name: string, child: ChildProcess, url: string): Promise<Result> {
  await waitUp(url, child);
  for (let i = 0; i < 20; i++) await scrapeOnce(url); // warm-up (JIT, page cache)
  const body = await (await fetch(url)).text();
  const series = body.split('\n').filter((l) => l && !l.startsWith('#')).length;

  const c0 = cpuSeconds(child.pid!);
  for (let i = 0; i < SCRAPES_CPU; i++) await scrapeOnce(url);
  const cpuMsPerScrape = ((cpuSeconds(child.pid!) - c0) * 1000) / SCRAPES_CPU;

  const lat: Result['lat'] = {};
  for (const clients of [1, 4]) {
    const times: number[] = [];
    const per = Math.ceil(SCRAPES_LAT / clients);
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = 0; i < per; i++) times.push(await scrapeOnce(url));
      }),
    );
    times.sort((a, b) => a - b);
    lat[clients] = { p50: pct(times, 50), p99: pct(times, 99) };
  }
  const mem = rssMb(child.pid!);
  return { name, series, cpuMsPerScrape, lat, rssMb: mem.rss, peakRssMb: mem.hwm };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

function print(r: Result): void {
  console.log(
    `${r.name.padEnd(14)} series=${String(r.series).padStart(5)}  cpu/scrape=${r.cpuMsPerScrape.toFixed(2)} ms  ` +
      `p50/p99 1 client=${r.lat[1]!.p50.toFixed(2)}/${r.lat[1]!.p99.toFixed(2)} ms  4 clients=${r.lat[4]!.p50.toFixed(2)}/${r.lat[4]!.p99.toFixed(2)} ms  ` +
      `rss=${r.rssMb.toFixed(1)} MB (peak ${r.peakRssMb.toFixed(1)} MB)`,
  );
}

const results: Result[] = [];
{
  const port = await freePort();
  // run as a program, as npm start does, so main.js's shebang flags apply
  const child = spawn(`${ROOT}exporter/dist/main.js`, [], {
    env: { ...process.env, PERFWATCH_EXPORTER_PORT: String(port), PERFWATCH_EXPORTER_HOST: '127.0.0.1', BACKGROUND_COLLECTION_ENABLED: 'false', PERFWATCH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    results.push(await measure('perfwatch', child, `http://127.0.0.1:${port}/metrics`));
  } finally {
    await stop(child);
  }
}
print(results[0]!);

const nodeExporter = spawnSync('sh', ['-c', 'command -v prometheus-node-exporter'], { encoding: 'utf8' }).stdout.trim();
if (nodeExporter) {
  const port = await freePort();
  const child = spawn(nodeExporter, [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    results.push(await measure('node_exporter', child, `http://127.0.0.1:${port}/metrics`));
  } finally {
    await stop(child);
  }
  const [ours, theirs] = results as [Result, Result];
  print(theirs);
  console.log(
    `ratio ours/node_exporter: cpu/scrape=${(ours.cpuMsPerScrape / theirs.cpuMsPerScrape).toFixed(2)}  ` +
      `p50 1 client=${(ours.lat[1]!.p50 / theirs.lat[1]!.p50).toFixed(2)}  p50 4 clients=${(ours.lat[4]!.p50 / theirs.lat[4]!.p50).toFixed(2)}  ` +
      `rss=${(ours.rssMb / theirs.rssMb).toFixed(2)}  (series ${ours.series} vs ${theirs.series})`,
  );
} else {
  console.log('node_exporter: not installed (Debian package prometheus-node-exporter); no ratio this run');
}
console.log(`BENCH_JSON ${JSON.stringify({ bench: 'exporter', results })}`);
