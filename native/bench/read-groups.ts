/**
 * Cost of one collection: read the software-event group of every online CPU once.
 *   npx tsx native/bench/read-groups.ts [--iterations N]
 * Prints "perf read: X µs per CPU per collection" and one JSON line with the figures.
 * A system-wide read of another CPU's counters needs an IPI to that CPU, so the cost depends on
 * the machine (VMs pay more for IPIs) far more than on this code.
 */
import { nativeStatus, onlineCpus, openGroup, SOFTWARE_EVENTS, type PerfGroup } from '../lib/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} needs a positive integer`);
  return v;
}

const iterations = arg('iterations', 2000);
const status = nativeStatus();
if (!status.available) {
  console.error(`perf read bench skipped: ${status.reason}`);
  process.exit(0);
}

const cpus = onlineCpus();
const groups: PerfGroup[] = cpus.map((cpu) => openGroup({ events: SOFTWARE_EVENTS, target: { cpu } }));
try {
  const collect = (): number => {
    let sum = 0;
    for (const g of groups) sum += g.read().values.length;
    return sum;
  };
  for (let i = 0; i < Math.min(200, iterations); i++) collect(); // warm up
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    collect();
    samples.push(Number(process.hrtime.bigint() - t) / 1e3 / cpus.length);
  }
  samples.sort((a, b) => a - b);
  const q = (p: number): number => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] as number;
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const round = (n: number): number => Math.round(n * 100) / 100;
  console.log(`perf read: ${mean.toFixed(2)} µs per CPU per collection (median ${q(0.5).toFixed(2)}, p99 ${q(0.99).toFixed(2)}; ${cpus.length} CPUs x ${SOFTWARE_EVENTS.length} events, ${iterations} collections)`);
  console.log(
    JSON.stringify({
      bench: 'perf-read-groups',
      unit: 'us_per_cpu_per_collection',
      value: round(mean),
      median: round(q(0.5)),
      p99: round(q(0.99)),
      cpus: cpus.length,
      events: SOFTWARE_EVENTS.length,
      fds: groups.reduce((a, g) => a + g.fdCount, 0),
      iterations,
    }),
  );
} finally {
  for (const g of groups) g.close();
}
