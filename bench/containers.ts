/**
 * `npm run bench -- containers` (#15): CPU per collection of the cgroup and processes collectors
 * over a fixture tree of 200 Docker containers (cgroup v2, generate-cgroups.mjs --bench) and
 * 1,000 processes in them, the series they add to /metrics, and the same on this machine's own
 * /sys and /proc for reference. Budget: 10 ms CPU per collection of the fixture tree on this VM.
 * The collections run back to back but the cgroup collector's clock moves 5 s between them (the
 * default interval), so a group's values come due every 15-30 s as they would (cgroup/read.ts);
 * the fixture's groups are idle (their cpu.stat does not move) except in the "every group
 * running" line, where each group's usage_usec moves before each collection (outside the time
 * measured), so every file of every group is read. The fixture's proc/swaps lists no swap device.
 * Each line: BENCH_CONTAINERS_WARMUP (30) untimed collections, then 60 timed. With 5, the first
 * line measured code V8 had not optimized yet (14.0 against 19.2 ms p50 in the same minutes).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { snapshotSamples, type Snapshot } from '@perfwatch/store';
import { cgroup, createCgroupCollector } from '../exporter/src/collectors/cgroup.js';
import type { CollectorDefinition } from '../exporter/src/collectors/types.js';
import { processes } from '../exporter/src/collectors/processes.js';
import { loadConfig } from '../exporter/src/config.js';
import { createLogger } from '../exporter/src/log.js';
import { SnapshotPipeline } from '../exporter/src/snapshot.js';

const GROUPS = 200;
const PROCS = 1000;
const RUNS = 60;
// untimed collections first: a running exporter collects every few seconds for days, its code long optimized
const WARMUP = Number(process.env.BENCH_CONTAINERS_WARMUP ?? 30);
const BUDGET_MS = 10;

function writeProcs(proc: string, ids: string[]): void {
  for (let i = 0; i < PROCS; i++) {
    const pid = 1000 + i;
    const d = join(proc, String(pid));
    mkdirSync(d, { recursive: true });
    const comm = `app-${i % 40}`;
    writeFileSync(join(d, 'stat'), `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${i * 7} ${i * 3} 0 0 20 0 ${1 + (i % 8)} 0 ${5000 + i} 100000000 ${1000 + i} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n`);
    writeFileSync(join(d, 'cgroup'), `0::/system.slice/docker-${ids[i % ids.length]}.scope\n`);
    writeFileSync(join(d, 'status'), `Name:\t${comm}\nVmRSS:\t${4 * (1000 + i)} kB\nVmSwap:\t0 kB\n`);
    writeFileSync(join(d, 'io'), `rchar: 1\nwchar: 1\nsyscr: 1\nsyscw: 1\nread_bytes: ${i * 4096}\nwrite_bytes: ${i * 8192}\ncancelled_write_bytes: 0\n`);
  }
}

/** The cgroup collector on a clock that moves 5 s per collection. */
let clock = Date.now();
const cgroup5s: CollectorDefinition = { ...cgroup, create: (config, log) => createCgroupCollector(config, log, () => (clock += 5000)) };

async function measure(
  label: string,
  env: Record<string, string>,
  collectors: CollectorDefinition[] = [cgroup5s, processes],
  before?: () => void,
): Promise<{ p50: number; mean: number; series: number }> {
  const config = loadConfig({ PERFWATCH_EXPORTER_PORT: '0', PERFWATCH_HOSTNAME: 'bench', BACKGROUND_COLLECTION_ENABLED: 'false', ...env });
  const pipeline = new SnapshotPipeline(config, collectors, createLogger('silent'));
  let snap: Snapshot | undefined;
  for (let i = 0; i < WARMUP; i++) snap = await pipeline.collect(Date.now());
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    before?.();
    const t0 = process.cpuUsage();
    snap = await pipeline.collect(Date.now());
    const t = process.cpuUsage(t0);
    ms.push((t.user + t.system) / 1000);
  }
  ms.sort((a, b) => a - b);
  const p50 = ms[Math.floor(ms.length / 2)]!;
  const mean = ms.reduce((s, x) => s + x, 0) / ms.length;
  const all = snapshotSamples(snap!);
  const series = all.filter((s) => /^perfwatch_(container|process)_/.test(s.metric.name)).length;
  const c = snap!.cgroups;
  const p = snap!.procs;
  console.log(
    `${label}: CPU per collection p50 ${p50.toFixed(2)} ms, mean ${mean.toFixed(2)} ms, p90 ${ms[Math.floor(ms.length * 0.9)]!.toFixed(2)} ms (${RUNS} runs); ` +
      `cgroups ${c ? `${Object.keys(c.g).length} exported of ${c.n} (v${c.v})` : 'none'}, processes ${p ? `${p.n} in ${p.ng} groups, ${p.g.length} exported` : 'none'}; series added ${series}`,
  );
  return { p50, mean, series };
}

const dir = mkdtempSync(join(tmpdir(), 'perfwatch-bench-containers-'));
try {
  execFileSync(process.execPath, [join(import.meta.dirname, '../exporter/test/fixtures/generate-cgroups.mjs'), '--bench', dir, String(GROUPS)]);
  const ids = Array.from({ length: GROUPS }, (_, i) => (i.toString(16).padStart(8, '0') + 'ab').repeat(7).slice(0, 64));
  writeProcs(join(dir, 'proc'), ids);
  writeFileSync(join(dir, 'proc', 'swaps'), 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n');
  const roots = { PERFWATCH_SYS_ROOT: join(dir, 'sys'), PERFWATCH_PROC_ROOT: join(dir, 'proc'), PERFWATCH_ROOTFS: dir };
  const fixture = await measure(`fixture: ${GROUPS} containers (cgroup v2), ${PROCS} processes`, roots);
  await measure('  of which the cgroup collector', roots, [cgroup5s]);
  await measure('  of which the processes collector', roots, [processes]);
  // every group running: each cpu.stat's usage_usec moves before each collection
  const cg = join(dir, 'sys/fs/cgroup');
  const stats = [join(cg, 'system.slice/cpu.stat'), ...readdirSync(join(cg, 'system.slice')).filter((n) => n.startsWith('docker-')).map((n) => join(cg, 'system.slice', n, 'cpu.stat'))];
  const texts = stats.map((f) => readFileSync(f, 'utf8'));
  let tick = 0;
  const run = () => {
    tick++;
    stats.forEach((f, i) => writeFileSync(f, texts[i]!.replace(/^usage_usec (\d+)$/m, (_, n: string) => `usage_usec ${Number(n) + tick}`)));
  };
  await measure('fixture, every group running: both collectors', roots, [cgroup5s, processes], run);
  await measure('  of which the cgroup collector', roots, [cgroup5s], run);
  await measure('this machine (/sys, /proc)', {});
  const verdict = fixture.p50 <= BUDGET_MS ? 'within' : 'OVER';
  console.log(`budget ${BUDGET_MS} ms CPU per collection of the fixture: p50 ${fixture.p50.toFixed(2)} ms, ${verdict}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
