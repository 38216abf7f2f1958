/**
 * The annotations' gap search before and after the gap index (#16): `npx tsx bench/gaps.ts`
 * (HOSTS=100 HOURS=24 LONG_HOSTS=3 LONG_DAYS=30 by default).
 *
 * Data, written with one SQL statement per host into a schema of its own on the test PostgreSQL
 * (store/test/helpers.ts testServer): HOSTS hosts at 5 s over the last HOURS hours, LONG_HOSTS of them
 * over the last LONG_DAYS days, each silent 10 minutes every 6 hours (4 gaps a day). Then, for
 * each query: the search as it was (walking every snapshot of the range: the index left empty),
 * the one-off build of the index (what the first job run after the upgrade does), the search with
 * the index, and one job run's steady cost (a minute more of snapshots for every host).
 */
import { performance } from 'node:perf_hooks';
import { ensurePartitions, insertSnapshots, snapshotGaps, updateGapIndex, type GapQuery } from '../store/src/index.js';
import { fakeSnapshot, runCleanups, testSchema } from '../store/test/helpers.js';

const HOSTS = Number(process.env.HOSTS ?? 100);
const HOURS = Number(process.env.HOURS ?? 24);
const LONG_HOSTS = Number(process.env.LONG_HOSTS ?? 3);
const LONG_DAYS = Number(process.env.LONG_DAYS ?? 30);
const RUNS = 5;
const DAY = 86_400_000;

const say = (s: string) => process.stdout.write(`${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const t = await testSchema({ migrate: true, prefix: 'benchgaps' });
  const pool = t.pool;
  // Data ends 3 minutes ago on a 5 s grid: the index covers up to now - 2 min.
  const end = Math.floor((Date.now() - 3 * 60_000) / 5000) * 5000;
  await ensurePartitions(pool, end - LONG_DAYS * DAY, LONG_DAYS + 2);
  const names = Array.from({ length: HOSTS }, (_, i) => `h${String(i).padStart(4, '0')}`);
  // One real snapshot per host registers it and its shape; the rest copies its values.
  await insertSnapshots(pool, names.map((h) => fakeSnapshot(h, end)));
  let started = performance.now();
  for (const [i, name] of names.entries()) {
    const days = i < LONG_HOSTS ? LONG_DAYS : HOURS / 24;
    await pool.query(
      `INSERT INTO snapshots (host_id, ts, shape_id, vals)
       SELECT s.host_id, g.ts, s.shape_id, s.vals
         FROM (SELECT s.host_id, s.shape_id, s.vals FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = $1 LIMIT 1) s,
              generate_series($2::timestamptz, $3::timestamptz, interval '5 s') g(ts)
        -- silent 10 minutes every 6 hours, at an offset of its own
        WHERE ((extract(epoch FROM g.ts)::bigint + $4::bigint * 997) % 21600) >= 600
       ON CONFLICT DO NOTHING`,
      [name, new Date(end - days * DAY), new Date(end - 5000), i],
    );
  }
  await pool.query(`UPDATE hosts SET first_seen = (SELECT min(ts) FROM snapshots WHERE host_id = hosts.id)`);
  await pool.query('ANALYZE snapshots');
  const rows = (await pool.query<{ n: string }>('SELECT count(*) AS n FROM snapshots')).rows[0]!.n;
  say(`data: ${HOSTS} hosts x ${HOURS} h, ${LONG_HOSTS} of them x ${LONG_DAYS} days, 5 s, 10-minute silences every 6 h: ${Number(rows).toLocaleString('en')} snapshots (${((performance.now() - started) / 1000).toFixed(0)} s to write)`);

  const now = end + 3 * 60_000;
  const queries: [string, GapQuery][] = [
    ['1 host, 24 h', { hosts: [names[0]!], from: now - DAY, to: now, now }],
    [`1 host, ${LONG_DAYS} days`, { hosts: [names[0]!], from: now - LONG_DAYS * DAY, to: now, now }],
    [`${LONG_HOSTS} hosts, ${LONG_DAYS} days`, { hosts: names.slice(0, LONG_HOSTS), from: now - LONG_DAYS * DAY, to: now, now }],
    [`${HOSTS} hosts, 24 h`, { hosts: 'all', from: now - DAY, to: now, now }],
  ];
  const measure = async (q: GapQuery) => {
    const ms: number[] = [];
    let n = 0;
    for (let r = 0; r < RUNS; r++) {
      const s = performance.now();
      n = (await snapshotGaps(pool, q)).length;
      ms.push(performance.now() - s);
    }
    return { ms: median(ms), n };
  };
  const before = new Map<string, { ms: number; n: number }>();
  for (const [name, q] of queries) before.set(name, await measure(q));

  started = performance.now();
  const built = await updateGapIndex(pool, { now });
  const buildMs = performance.now() - started;
  const gapRows = (await pool.query<{ n: string }>('SELECT count(*) AS n FROM snapshot_gaps')).rows[0]!.n;
  say(`index build (one-off, every host from its first snapshot): ${(buildMs / 1000).toFixed(1)} s in ${built.steps} transactions (a day of every host each), ${gapRows} gap rows`);

  say('\n| query | gaps found | walking every snapshot (before) | with the gap index (after) |');
  say('|---|---|---|---|');
  for (const [name, q] of queries) {
    const after = await measure(q);
    const b = before.get(name)!;
    if (after.n !== b.n) throw new Error(`${name}: ${after.n} gaps with the index, ${b.n} without`);
    say(`| ${name} | ${after.n} | ${b.ms.toFixed(1)} ms | ${after.ms.toFixed(1)} ms |`);
  }

  // A job run's steady cost: one more minute of snapshots for every host, then the update.
  await pool.query(
    `INSERT INTO snapshots (host_id, ts, shape_id, vals)
     SELECT DISTINCT ON (s.host_id) s.host_id, g.ts, s.shape_id, s.vals
       FROM snapshots s, generate_series($1::timestamptz, $2::timestamptz, interval '5 s') g(ts)
      WHERE s.ts = $3
     ON CONFLICT DO NOTHING`,
    [new Date(end + 5000), new Date(end + 60_000), new Date(end)],
  );
  started = performance.now();
  await updateGapIndex(pool, { now: now + 60_000 });
  say(`\none job run after a minute more of ${HOSTS} hosts: ${(performance.now() - started).toFixed(0)} ms`);
  await t.drop();
}

main()
  .then(runCleanups)
  .catch(async (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    await runCleanups();
    process.exit(1);
  });
