/**
 * Ingest through store's insertSnapshots: snapshots/s with 1 and 4 connections, batches of 100,
 * on the test server (TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres), in a
 * schema of its own that is dropped afterwards (unless BENCH_KEEP=1). Prints the data set used and bytes per row.
 *
 *   node --conditions=perfwatch-src --import tsx store/bench/ingest.ts [rows] [shape: real|compact]
 *
 * Shapes: "compact" is exporter/test/fixtures/small without vm and nstat (2-CPU host, ~2.7 KB of
 * JSON); "real" is the whole small fixture (~7 KB, /proc/vmstat in full).
 */
import { insertSnapshots, migrate, type Snapshot } from '../src/index.js';
import { fixtureSnapshot } from '../test/synth.js';
import { benchSchema, ingestRate } from './lib.js';

const rows = Number(process.argv[2] ?? 20_000);
const shape = process.argv[3] ?? 'compact';
const fixture = fixtureSnapshot('small', { compact: shape === 'compact' });
const BATCH = 100;
const T0 = Date.UTC(2030, 0, 1);

async function run(conns: number, hosts: number): Promise<void> {
  const { pool, close } = benchSchema(`ingest_${conns}_${hosts}`, { poolMax: conns });
  try {
    await migrate(pool);
    let next = 0;
    const take = (): Snapshot[] | undefined => {
      if (next >= rows) return undefined;
      const batch: Snapshot[] = [];
      for (let i = 0; i < BATCH && next < rows; i++, next++) {
        const h = next % hosts;
        batch.push({ ...fixture, host: `host${h}`, ts: T0 + Math.floor(next / hosts) * 5_000 });
      }
      return batch;
    };
    // Warm-up: hosts registered, partitions made.
    await insertSnapshots(pool, Array.from({ length: hosts }, (_, h) => ({ ...fixture, host: `host${h}`, ts: T0 - 5_000 })));
    const rate = await ingestRate(pool, conns, take);
    const size = await pool.query<{ b: string; n: string }>(
      `SELECT sum(pg_total_relation_size(i.inhrelid))::bigint AS b, (SELECT count(*) FROM snapshots) AS n FROM pg_inherits i WHERE i.inhparent = 'snapshots'::regclass`,
    );
    const perRow = Number(size.rows[0]!.b) / Number(size.rows[0]!.n);
    process.stdout.write(
      `ingest ${shape} (${JSON.stringify(fixture).length} B JSON): ${rows} snapshots, ${hosts} host(s), batches of ${BATCH}, ${conns} connection(s): ` +
        `${rate.toFixed(0)} snapshots/s, ${perRow.toFixed(0)} B per row all-in\n`,
    );
  } finally {
    await close();
  }
}

await run(1, 1);
await run(4, 1);
await run(4, 4);
