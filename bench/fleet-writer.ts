/**
 * One process of the fleet simulation (bench/fleet.ts, #16): HOST_COUNT exporters' writers, each
 * the exporter's own SnapshotWriter (exporter/src/writer.ts: batching, spool, retries) with its
 * own pool of 2 connections to DATABASE_URL (pgbouncer in transaction mode), fed a realistic
 * snapshot (store/test/synth.ts, the small fixture evolving) every 5 s from START_AT for
 * DURATION_S, each host at its own phase. Ingest lag of a snapshot: from its time to the commit
 * of its batch (the writer's onWrite; batches are written in order). Prints one JSON line.
 */
import { join } from 'node:path';
import { createLogger } from '../exporter/src/log.js';
import { startSnapshotWriter, type RunningWriter } from '../exporter/src/writer.js';
import { fixtureSnapshot, HostSim } from '../store/test/synth.js';

const env = process.env;
const URL_ = env.DATABASE_URL!;
const SCHEMA = env.SCHEMA!;
const FROM = Number(env.HOST_FROM);
const COUNT = Number(env.HOST_COUNT);
const TOTAL = Number(env.HOSTS_TOTAL);
const START_AT = Number(env.START_AT);
const DURATION_MS = Number(env.DURATION_S) * 1000;
const SPOOL = env.SPOOL_DIR!;
const INTERVAL = 5_000;

async function main(): Promise<void> {
  const log = createLogger('warn');
  const base = fixtureSnapshot('small');
  const hosts: { name: string; sim: HostSim; w: RunningWriter; pending: number[] }[] = [];
  const lags: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    const h = FROM + i;
    const name = `fleet-${String(h).padStart(4, '0')}`;
    const w = await startSnapshotWriter(
      {
        store: { databaseUrl: URL_, schema: SCHEMA, poolMax: 2, transactionPooler: true, applicationName: 'perfwatch-exporter' },
        migrate: false,
        spoolDir: join(SPOOL, name),
        writer: { flushIntervalMs: 1_000 },
      },
      log,
    );
    const host = { name, sim: new HostSim(base, name, h + 1), w, pending: [] as number[] };
    w.writer.onWrite((_s, n) => {
      const now = Date.now();
      for (const ts of host.pending.splice(0, n)) lags.push(now - ts);
    });
    hosts.push(host);
  }
  let generated = 0;
  const end = START_AT + DURATION_MS;
  const timers: NodeJS.Timeout[] = [];
  await new Promise<void>((resolve) => {
    let running = hosts.length;
    for (const [i, host] of hosts.entries()) {
      // Host h collects at START_AT + its phase + k x 5 s (phases spread over the interval).
      const phase = Math.floor((((FROM + i) % TOTAL) * INTERVAL) / TOTAL);
      let k = 0;
      const tick = () => {
        const ts = START_AT + phase + k * INTERVAL;
        if (ts >= end) {
          if (--running === 0) resolve();
          return;
        }
        const snap = host.sim.next(ts);
        host.pending.push(ts);
        host.w.writer.enqueue(snap);
        generated++;
        k++;
        timers.push(setTimeout(tick, Math.max(0, START_AT + phase + k * INTERVAL - Date.now())));
      };
      timers.push(setTimeout(tick, Math.max(0, START_AT + phase - Date.now())));
    }
  });
  await Promise.all(hosts.map((h) => h.w.close(30_000)));
  const stats = hosts.map((h) => h.w.writer.stats());
  const sum = (f: (s: (typeof stats)[number]) => number) => stats.reduce((n, s) => n + f(s), 0);
  lags.sort((a, b) => a - b);
  const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? null;
  process.stdout.write(
    `${JSON.stringify({
      hosts: hosts.length,
      generated,
      written: sum((s) => s.writtenTotal),
      spooled: sum((s) => s.spooledTotal),
      dropped: sum((s) => Object.values(s.droppedTotal).reduce((a, b) => a + b, 0)),
      writeErrors: sum((s) => s.writeErrorsTotal),
      lags: lags.length,
      lagP50: q(0.5),
      lagP99: q(0.99),
      lagMax: lags.at(-1) ?? null,
      // raw lags for the parent's fleet-wide percentiles (rounded to ms)
      all: lags,
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
