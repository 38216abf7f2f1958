/**
 * The PromQL evaluator at fleet size, without the writers (#16):
 * `node --conditions=perfwatch-src --import tsx bench/promql-fleet.ts` (HOSTS=1000 MINUTES=10).
 *
 * HOSTS hosts with MINUTES of history at 5 s (store/test/synth.ts, the small fixture evolving, as
 * bench/fleet-writer.ts makes them) go into a fresh schema of the test PostgreSQL through
 * insertSnapshots (about 100 s here, instead of the fleet bench's 10 minutes of writing), then
 * the evaluator (in this thread, no HTTP) answers the fleet bench's two queries over every host,
 * each RUNS times (5): the median and the slowest, this process's CPU and PostgreSQL's (every
 * process named postgres on this machine: other sessions' included) per answer, the load average,
 * and a digest of the answer (equal digests: equal answers, bit for bit). QUERY=<part of its text>
 * runs one query. KEEP=1 keeps the schema; SCHEMA=<name> reads a kept one instead of writing.
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createPool, insertSnapshots, type Snapshot } from '../store/src/index.js';
import { runCleanups, testSchema, testServer } from '../store/test/helpers.js';
import { fixtureSnapshot, HostSim } from '../store/test/synth.js';
import { evaluate } from '../api/src/promql/eval.js';
import { parsePromQL } from '../api/src/promql/parse.js';
import { postgresCpuSeconds } from '../store/bench/lib.js';

const HOSTS = Number(process.env.HOSTS ?? 1000);
const MINUTES = Number(process.env.MINUTES ?? 10);
const RUNS = Number(process.env.RUNS ?? 5);
const STEP_MS = 5_000;

const say = (s: string) => process.stdout.write(`${s}\n`);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0);

async function main(): Promise<void> {
  let pool;
  let end: number;
  if (process.env.SCHEMA) {
    pool = createPool({ databaseUrl: (await testServer()).url, schema: process.env.SCHEMA });
    const r = await pool.query<{ ms: number }>('SELECT (extract(epoch FROM max(last_seen)) * 1000)::float8 AS ms FROM hosts');
    end = r.rows[0]!.ms;
    say(`schema ${process.env.SCHEMA}: up to ${new Date(end).toISOString()}`);
  } else {
    const t = await testSchema({ migrate: true, prefix: 'pqfleet' });
    pool = t.pool;
    end = Math.floor(Date.now() / STEP_MS) * STEP_MS;
    const start = end - MINUTES * 60_000 + STEP_MS;
    const base = fixtureSnapshot('small');
    const sims = Array.from({ length: HOSTS }, (_, h) => new HostSim(base, `host-${String(h).padStart(4, '0')}`, h + 1));
    const began = performance.now();
    let n = 0;
    for (let ts = start; ts <= end; ts += STEP_MS) {
      const batch: Snapshot[] = sims.map((s) => s.next(ts));
      for (let i = 0; i < batch.length; i += 250) n += (await insertSnapshots(pool, batch.slice(i, i + 250))).inserted;
    }
    say(`${n.toLocaleString('en')} snapshots of ${HOSTS} hosts written in ${((performance.now() - began) / 1000).toFixed(1)} s into schema ${t.schema}${process.env.KEEP ? ' (kept)' : ''}`);
  }
  const queries: [string, { start: number; end: number; step: number }][] = [
    ['count(perfwatch_load_average_1m)', { start: end - 60_000, end: end - 60_000, step: 1 }],
    ['sum by (mode) (rate(perfwatch_cpu_seconds_total[1m]))', { start: end - MINUTES * 60_000, end, step: 15_000 }],
  ];
  const only = process.env.QUERY;
  for (const [text, range] of queries) {
    if (only && !text.includes(only)) continue;
    const ms: number[] = [];
    let digest = '';
    const nodeCpu: number[] = [];
    const pgCpu: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const s = performance.now();
      const cpu0 = process.cpuUsage();
      const pg0 = postgresCpuSeconds();
      const r = await evaluate(pool, parsePromQL(text), { ...range, now: end + 60_000 });
      ms.push(performance.now() - s);
      const cpu = process.cpuUsage(cpu0);
      nodeCpu.push((cpu.user + cpu.system) / 1000);
      pgCpu.push((postgresCpuSeconds() - pg0) * 1000);
      digest = createHash('sha256').update(JSON.stringify(r.value, (_k, x: unknown) => (ArrayBuffer.isView(x) ? Array.from(x as Float64Array) : x))).digest('hex').slice(0, 12);
    }
    ms.sort((a, b) => a - b);
    say(`${text} (${range.start === range.end ? 'instant' : `${(range.end - range.start) / 60_000} min at ${range.step / 1000} s`}): result ${digest}, median ${ms[Math.floor(RUNS / 2)]!.toFixed(0)} ms, slowest ${ms[RUNS - 1]!.toFixed(0)} ms [${ms.map((x) => x.toFixed(0)).join(', ')}]; CPU of this process ${med(nodeCpu)} ms, of PostgreSQL ${med(pgCpu)} ms (medians); load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  }
  await pool.end();
}

main()
  .then(async () => {
    if (!process.env.KEEP && !process.env.SCHEMA) await runCleanups();
  })
  .catch(async (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    await runCleanups();
    process.exit(1);
  });
