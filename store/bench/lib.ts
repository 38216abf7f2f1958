/**
 * What the benchmarks share (store/bench, bench/, api/bench): the database they use, time
 * constants, how figures are printed, timing and percentiles, a schema of their own, and the
 * reference data set built the fast way (one day generated and rolled up, the rest copied in SQL).
 *
 * It sits in store/ because everything here is store-level: it imports store and store's test
 * helpers only, never the exporter or the api (they import from here, as they import
 * store/test/synth.ts). What only the api benchmarks need is in api/bench/lib.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { createPool, insertSnapshots, migrate, runRollups, type Snapshot, type StoreOptions } from '../src/index.js';
import { SERVICE_URL } from '../test/helpers.js';
import { fixtureSnapshot, HostSim } from '../test/synth.js';

export { freePort } from '../test/helpers.js';

/** The PostgreSQL the benchmarks use: TEST_DATABASE_URL, else the machine's on 5432. */
export const url = process.env.TEST_DATABASE_URL ?? SERVICE_URL;
/** BENCH_KEEP=1: leave the benchmark's schemas in place, to look at them afterwards. */
export const KEEP = process.env.BENCH_KEEP === '1';

export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** The exporter's default interval: one snapshot every 5 s. */
export const IV = 5_000;

/** Midnight UTC `daysAgo` days ago: data ending there has every rollup block due. */
export function dataEnd(daysAgo = 2): number {
  return Math.floor(Date.now() / DAY) * DAY - daysAgo * DAY;
}

/** n with d decimals and thousands separators (1,234.5). */
export const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** One line of the benchmark's report on stdout. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Whole seconds since this was called, as "12 s" (the [..] stamps of the reports). */
export function stopwatch(): () => string {
  const started = performance.now();
  return () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
}

/** The p-th percentile (nearest rank) of ascending values; NaN when there are none. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Milliseconds of `runs` sequential runs of fn after `warmup` untimed ones, ascending. */
export async function timedRuns(fn: () => Promise<unknown>, runs: number, warmup = 3): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

/**
 * Writes the batches `next` gives through insertSnapshots on `conns` connections at once, until it
 * gives undefined; snapshots/s (whatever next does counts: generate batches before it to leave
 * generation out).
 */
export async function ingestRate(pool: pg.Pool, conns: number, next: () => Snapshot[] | undefined): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conns }, async () => {
      for (let b = next(); b; b = next()) {
        await insertSnapshots(pool, b);
        n += b.length;
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** The server's version() up to " on " ("PostgreSQL 15.14 (Debian 15.14-0+deb12u1)"). */
export async function serverVersion(): Promise<string> {
  const server = new pg.Client(url);
  await server.connect();
  try {
    const v = (await server.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
    return v.split(' on ')[0]!;
  } finally {
    await server.end();
  }
}

/** CPU seconds (user + system) process `pid` has used so far (/proc/<pid>/stat, USER_HZ 100). */
export function cpuSeconds(pid: number): number {
  return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** utime + stime of a /proc/<pid>/stat text, in seconds. */
function statCpuSeconds(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds of every process named postgres on this machine (the test PostgreSQL, other sessions' included). */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      total += statCpuSeconds(stat);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

export interface BenchSchema {
  schema: string;
  pool: pg.Pool;
  /** drops the schema (and pg-boss's beside it) unless BENCH_KEEP=1, and ends the pool. */
  close(): Promise<void>;
}

/** A pool on the schema bench_<name>_<pid> (not created: migrate(pool), or the api, does that). */
export function benchSchema(name: string, opts: Partial<StoreOptions> = {}): BenchSchema {
  const schema = `bench_${name}_${process.pid}`;
  const pool = createPool({ databaseUrl: url, schema, ...opts });
  return {
    schema,
    pool,
    async close() {
      if (!KEEP) {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}_boss" CASCADE`).catch(() => undefined);
      }
      await pool.end();
    },
  };
}

/** fn on a freshly migrated schema of its own (benchSchema), closed afterwards. */
export async function withSchema<T>(name: string, opts: Partial<StoreOptions>, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const s = benchSchema(name, opts);
  try {
    await migrate(s.pool);
    return await fn(s.pool);
  } finally {
    await s.close();
  }
}

/** VACUUM ANALYZE of each table, one after the other. */
export async function vacuumAnalyze(pool: pg.Pool, tables: readonly string[]): Promise<void> {
  for (const t of tables) await pool.query(`VACUUM ANALYZE ${t}`);
}

/** The id of host `name`. */
export async function hostId(pool: pg.Pool, name: string): Promise<number> {
  return (await pool.query<{ id: number }>('SELECT id FROM hosts WHERE name = $1', [name])).rows[0]!.id;
}

/** runRollups of `tier` until it is no longer behind; seconds taken. */
export async function rollUp(pool: pg.Pool, tier: '1m' | '1h', now = Date.now()): Promise<number> {
  const t0 = performance.now();
  while ((await runRollups(pool, { tier, now, maxBuckets: 1_000_000 })).behind);
  return (performance.now() - t0) / 1000;
}

/**
 * Copies the last day of host `ref` ([dayEnd - 1 day, dayEnd): raw snapshots with their shapes,
 * series, 1m and 1h rollups) to hosts `<prefix>2` .. `<prefix><hosts>`, created here with that
 * day as first / last seen. Their rollup watermarks are `watermark` for both tiers when given,
 * else ref's. What a query of one host meets in the table is then as with `hosts` written hosts,
 * in seconds instead of the half hour generating and writing them takes.
 */
export async function copyHostDay(pool: pg.Pool, o: { ref: number; prefix: string; hosts: number; dayEnd: number; watermark?: number }): Promise<void> {
  const { ref, prefix, hosts, dayEnd } = o;
  const day = [new Date(dayEnd - DAY), new Date(dayEnd)];
  await pool.query(`INSERT INTO hosts (name, first_seen, last_seen) SELECT $4::text || g, $1, $2 FROM generate_series(2, $3::int) g`, [day[0], new Date(dayEnd - IV), hosts, prefix]);
  // Copies are the hosts whose name starts with the prefix (escaped for LIKE).
  const like = `${prefix.replace(/[\\%_]/g, '\\$&')}%`;
  await pool.query(`INSERT INTO snapshot_shapes (host_id, hash, frags) SELECT h.id, s.hash, s.frags FROM hosts h, snapshot_shapes s WHERE h.name LIKE $2 AND s.host_id = $1`, [ref, like]);
  await pool.query(`INSERT INTO series (host_id, metric, labels, counter) SELECT h.id, s.metric, s.labels, s.counter FROM hosts h, series s WHERE h.name LIKE $2 AND s.host_id = $1`, [ref, like]);
  await pool.query(
    `INSERT INTO snapshots (host_id, ts, shape_id, vals)
     SELECT h.id, s.ts, c.id, s.vals FROM snapshots s JOIN snapshot_shapes o ON o.id = s.shape_id
       CROSS JOIN hosts h JOIN snapshot_shapes c ON c.host_id = h.id
      WHERE h.name LIKE $4 AND c.hash = o.hash AND s.host_id = $1 AND s.ts >= $2 AND s.ts < $3`,
    [ref, ...day, like],
  );
  for (const table of ['rollups_1m', 'rollups_1h'] as const) {
    await pool.query(
      `INSERT INTO ${table} (host_id, series_id, start, n, v1, v2, v3)
       SELECT h.id, c.id, r.start, r.n, r.v1, r.v2, r.v3 FROM ${table} r JOIN series o ON o.id = r.series_id
         CROSS JOIN hosts h JOIN series c ON c.host_id = h.id AND c.metric = o.metric AND c.labels = o.labels
        WHERE h.name LIKE $4 AND r.host_id = $1 AND r.start >= $2 AND r.start < $3`,
      [ref, ...day, like],
    );
  }
  if (o.watermark !== undefined) {
    await pool.query(`INSERT INTO rollup_watermarks (host_id, tier, watermark) SELECT id, t, $1 FROM hosts, unnest(ARRAY['1m', '1h']) t WHERE name LIKE $2`, [new Date(o.watermark), like]);
  } else {
    await pool.query(
      `INSERT INTO rollup_watermarks (host_id, tier, watermark) SELECT h.id, w.tier, w.watermark FROM hosts h, rollup_watermarks w WHERE h.name LIKE $2 AND w.host_id = $1`,
      [ref, like],
    );
  }
}

/**
 * The reference data set of the api benchmarks (api/bench/api.ts, promql.ts), on a fresh schema:
 * host "ref", the 2-CPU reference host (exporter/test/fixtures/small without vm and nstat, values
 * evolving as store/test/synth.ts makes them) at 5 s for `days` days up to `end`, rolled up to
 * 1m and 1h. Only its last day is written through insertSnapshots (4 connections, batches of
 * 500) and rolled up by runRollups (1m); the days before are that day's raw and 1m rows copied
 * in SQL a day earlier each (counters restart every midnight: one reset a day, which rates
 * handle); the 1h tier is rolled up by runRollups from all of them. What a query reads is as with
 * `days` generated days, in a fraction of the time.
 *
 * Prints a line per step; with `stamp`, the lines of the slow steps end with [its value].
 * Answers ref's host id.
 */
export async function buildReference(pool: pg.Pool, o: { days: number; end: number; stamp?: () => string }): Promise<number> {
  const { days, end } = o;
  const at = () => (o.stamp ? ` [${o.stamp()}]` : '');
  await migrate(pool);
  const sim = new HostSim(fixtureSnapshot('small', { compact: true }), 'ref', 42);
  const perDay = DAY / IV;
  let i = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (;;) {
        const b: Snapshot[] = [];
        for (let k = 0; k < 500 && i < perDay; k++, i++) b.push(sim.next(end - DAY + i * IV));
        if (!b.length) return;
        await insertSnapshots(pool, b);
      }
    }),
  );
  say(`  ref's last day: ${fmt(perDay)} snapshots through insertSnapshots in ${fmt((performance.now() - t0) / 1000, 1)} s${at()}`);
  say(`  1m rollup of that day in ${fmt(await rollUp(pool, '1m'), 1)} s`);
  const ref = await hostId(pool, 'ref');
  if (days > 1) {
    const t1 = performance.now();
    const first = new Date(end - days * DAY).toISOString().slice(0, 10);
    await pool.query('SELECT ensure_snapshot_partitions($1::date, $2)', [first, days]);
    await pool.query(`SELECT ensure_rollup_partitions('1m', $1::date, $2)`, [first, days]);
    await pool.query(
      `INSERT INTO snapshots (host_id, ts, shape_id, vals)
       SELECT s.host_id, s.ts - k * interval '1 day', s.shape_id, s.vals FROM snapshots s, generate_series(1, $2::int) k WHERE s.host_id = $1`,
      [ref, days - 1],
    );
    await pool.query(
      `INSERT INTO rollups_1m (host_id, series_id, start, n, v1, v2, v3)
       SELECT r.host_id, r.series_id, r.start - k * interval '1 day', r.n, r.v1, r.v2, r.v3 FROM rollups_1m r, generate_series(1, $2::int) k WHERE r.host_id = $1`,
      [ref, days - 1],
    );
    await pool.query('UPDATE hosts SET first_seen = $2 WHERE id = $1', [ref, new Date(end - days * DAY)]);
    say(`  ${days - 1} days before it: raw and 1m rows copied in SQL in ${fmt((performance.now() - t1) / 1000, 1)} s${at()}`);
  }
  say(`  1h rollup of the ${days} days in ${fmt(await rollUp(pool, '1h'), 1)} s${at()}`);
  return ref;
}
