/**
 * Ingest through the exporter's real writer path: startSnapshotWriter (pool + on-disk spool +
 * SnapshotWriter, batches of 100, 4 concurrent batches on 4 connections) into PostgreSQL, fed as
 * fast as it accepts without spilling to the spool (the feeder keeps at most 2 batches per
 * connection queued, so what is measured is the direct path a healthy database sees), then the
 * same data through store's insertSnapshots alone for the ratio. Also: one host's writer at the
 * default settings (concurrency 1), the figure a single exporter reaches.
 *
 *   node --conditions=perfwatch-src --import tsx bench/writer.ts
 *
 * TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); BENCH_WRITER=40000
 * snapshots. Schemas and the spool directory are the benchmark's own and removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { insertSnapshots, migrate, silentLogger, type Snapshot } from '@perfwatch/store';
import { startSnapshotWriter } from '../exporter/src/writer.js';
import { benchSchema, fmt, ingestRate, IV, serverVersion, url } from '../store/bench/lib.js';
import { fixtureSnapshot, HostSim } from '../store/test/synth.js';

const N = Number(process.env.BENCH_WRITER ?? 40_000);
const HOSTS = 100;
const T0 = Date.UTC(2030, 0, 1);

const compact = fixtureSnapshot('small', { compact: true });
/** N snapshots of HOSTS hosts in time order, interleaved as 100 exporters would send them. */
function dataset(n: number, hosts: number, tag: string): Snapshot[] {
  const sims = Array.from({ length: hosts }, (_, h) => new HostSim(compact, `${tag}${h}`, h + 1));
  const out: Snapshot[] = [];
  for (let i = 0; out.length < n; i++) for (let h = 0; h < hosts && out.length < n; h++) out.push(sims[h]!.next(T0 + i * IV));
  return out;
}

async function rowCount(pool: pg.Pool): Promise<number> {
  return Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM snapshots')).rows[0]!.n);
}

/** Snapshots/s through startSnapshotWriter with `concurrency` batches in flight. */
async function throughWriter(name: string, data: Snapshot[], concurrency: number): Promise<{ rate: number; rows: number; spooled: number }> {
  const schema = `bench_writer_${name}_${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'perfwatch-bench-writer-'));
  const running = await startSnapshotWriter(
    {
      store: { databaseUrl: url, schema, poolMax: concurrency },
      migrate: true,
      spoolDir: join(dir, 'spool'),
      writer: { batchSize: 100, flushIntervalMs: 50, concurrency, maxQueue: 1_000 },
    },
    silentLogger,
  );
  const { writer, pool } = running;
  try {
    // Hosts registered and partitions made before timing (the exporter's first write does this once).
    for (let h = 0; h < HOSTS; h++) writer.enqueue({ ...data[h]!, ts: data[h]!.ts - IV });
    await writer.flush();
    const started = performance.now();
    const limit = concurrency * 200;
    // Wait for a batch to be written rather than spin: on a 2-CPU machine a busy feeder takes
    // the CPU the database needs (the 50 ms timer only guards against a write that fails).
    let wake: (() => void) | undefined;
    writer.onWrite(() => {
      wake?.();
      wake = undefined;
    });
    for (let i = 0; i < data.length; ) {
      while (writer.stats().queued >= limit) await new Promise<void>((r) => ((wake = r), setTimeout(r, 50).unref()));
      const end = Math.min(data.length, i + 100);
      for (; i < end; i++) writer.enqueue(data[i]!);
    }
    await writer.flush();
    const seconds = (performance.now() - started) / 1000;
    const s = writer.stats();
    return { rate: data.length / seconds, rows: (await rowCount(pool)) - HOSTS, spooled: s.spooledTotal };
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same data through insertSnapshots on `conns` connections, no writer around it. */
async function direct(data: Snapshot[], conns: number): Promise<number> {
  const { pool, close } = benchSchema('writer_direct', { poolMax: conns });
  try {
    await migrate(pool);
    await insertSnapshots(pool, data.slice(0, HOSTS).map((s) => ({ ...s, ts: s.ts - IV })));
    let next = 0;
    return await ingestRate(pool, conns, () => {
      if (next >= data.length) return undefined;
      next += 100;
      return data.slice(next - 100, next);
    });
  } finally {
    await close();
  }
}

process.stdout.write(`# writer ingest (${new Date().toISOString()}): ${await serverVersion()}, Node ${process.version}, ${cpus().length} CPUs\n`);
process.stdout.write(`data: ${fmt(N)} snapshots of ${HOSTS} hosts (exporter/test/fixtures/small without vm and nstat, values as store/test/synth.ts), batches of 100\n`);

const data = dataset(N, HOSTS, 'w');
const w4 = await throughWriter('c4', data, 4);
const d4 = await direct(data, 4);
const w1 = await throughWriter('c1', data.slice(0, Math.min(N, 10_000)), 1);
const verdict = w4.rate >= 8_000 ? 'meets target' : 'MISSES target';
process.stdout.write(
  `SnapshotWriter, 4 connections: ${fmt(w4.rate)} snapshots/s (${fmt(w4.rows)} rows written, ${w4.spooled} spooled; target >= 8,000/s: ${verdict})\n` +
    `insertSnapshots alone, 4 connections: ${fmt(d4)} snapshots/s (writer / direct = ${(w4.rate / d4).toFixed(2)})\n` +
    `SnapshotWriter, default concurrency 1: ${fmt(w1.rate)} snapshots/s (${fmt(w1.rows)} rows)\n`,
);
if (w4.rows !== N) {
  process.stderr.write(`writer lost snapshots: ${w4.rows} of ${N} in the table\n`);
  process.exit(1);
}
