/**
 * The gap index (migration 0006): per host, the pairs of consecutive snapshots further apart than
 * a recording threshold, kept so that the gap search (gaps.ts) reads one row per gap instead of
 * every snapshot time of its range.
 *
 * updateGapIndex extends each host's covered_to up to `now - graceMs` (the background job runs it
 * after the rollups, every minute): it walks only the snapshots written since the last run (a
 * dozen per host per minute at 5 s), from the last snapshot before covered_to. The recording
 * threshold is max(10 s, 2 x the host's usual interval): a search by the default threshold
 * (max(30 s, 3 x the usual interval)) always can use the rows; a smaller explicit one walks.
 *
 * insertSnapshots moves covered_to back to a batch's first snapshot when the batch is older than
 * it (a spool replay), in the same statement; a batch older than a minute touches the row even
 * when it is not, so it waits for a run holding it (FOR UPDATE) and is then seen by the next run.
 * That is why a run covers only up to `now - graceMs` (graceMs > 1 minute): a batch that does not
 * touch the row lands after what is covered. Rows past covered_to are not trusted by the search.
 */
import type pg from 'pg';
import { poolLogger, withTransaction } from './db.js';
import { StoreError, wrapPgError } from './errors.js';

/** The smallest recording threshold: shorter spacings are jitter, not outages. */
export const MIN_RECORDED_GAP_MS = 10_000;

export interface GapIndexOptions {
  /** the current time (default Date.now()). */
  now?: Date | number;
  /** covered_to stays this far behind now, ms (120 000; must exceed the writer's 1 minute). */
  graceMs?: number;
  /** these hosts only (default every host that has written). */
  hostIds?: number[];
  /** one transaction covers at most this much time of each host, ms (a day): a first run over a
   *  long history goes day by day, each day committed. */
  stepMs?: number;
}

export interface GapIndexResult {
  hosts: number;
  /** gap rows written. */
  gaps: number;
  /** transactions (each extends every host that is behind by up to stepMs). */
  steps: number;
}

const DAY_MS = 86_400_000;
const MS = (param: string) => `('epoch'::timestamptz + ${param}::float8 * interval '1 millisecond')`;

/** Extends the gap index of every host (or opts.hostIds) up to now - graceMs. */
export async function updateGapIndex(pool: pg.Pool, opts: GapIndexOptions = {}): Promise<GapIndexResult> {
  const now = opts.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
  const graceMs = opts.graceMs ?? 120_000;
  const stepMs = opts.stepMs ?? DAY_MS;
  if (!Number.isFinite(now)) throw new StoreError('INVALID_ARGUMENT', 'now must be a Date or Unix milliseconds');
  if (!Number.isFinite(graceMs) || graceMs < 60_000) throw new StoreError('INVALID_ARGUMENT', `graceMs must be at least 60000 (got ${graceMs})`);
  if (!Number.isFinite(stepMs) || stepMs < 60_000) throw new StoreError('INVALID_ARGUMENT', `stepMs must be at least 60000 (got ${stepMs})`);
  const target = now - graceMs;
  const result: GapIndexResult = { hosts: 0, gaps: 0, steps: 0 };
  let hosts: number[];
  try {
    const r = await pool.query<{ id: number }>(`SELECT id FROM hosts WHERE last_seen IS NOT NULL AND ($1::int[] IS NULL OR id = ANY($1::int[])) ORDER BY id`, [opts.hostIds ?? null]);
    hosts = r.rows.map((h) => h.id);
  } catch (err) {
    throw wrapPgError(err, 'listing hosts for the gap index');
  }
  result.hosts = hosts.length;
  // Every host in one transaction per step, a few statements whatever their number (#16).
  while (hosts.length) {
    const step = await withTransaction(pool, (c) => indexStep(c, hosts, target, stepMs), 'extending the gap index');
    result.gaps += step.gaps;
    result.steps++;
    hosts = step.unfinished;
  }
  if (result.gaps) poolLogger(pool).debug({ ...result }, 'gap index extended');
  return result;
}

/** One transaction: extends the hosts' coverage by at most stepMs towards target; returns those not there yet. */
async function indexStep(c: pg.ClientBase, hostIds: number[], target: number, stepMs: number): Promise<{ gaps: number; unfinished: number[] }> {
  await c.query('INSERT INTO gap_watermarks (host_id) SELECT unnest($1::int[]) ON CONFLICT (host_id) DO NOTHING', [hostIds]);
  // Locked in id order (a late batch touching one of these rows waits for this transaction).
  const wm = await c.query<{ id: number; c: number; first: number | null }>(
    `SELECT w.host_id AS id, (extract(epoch FROM w.covered_to) * 1000)::float8 AS c,
            CASE WHEN w.covered_to = '-infinity' THEN (SELECT (extract(epoch FROM min(ts)) * 1000)::float8 FROM snapshots WHERE host_id = w.host_id) END AS first
       FROM gap_watermarks w WHERE w.host_id = ANY($1::int[]) ORDER BY w.host_id FOR UPDATE OF w`,
    [hostIds],
  );
  const due: { id: number; covered: number; until: number }[] = [];
  for (const r of wm.rows) {
    // Never indexed: before its first snapshot there is nothing to record.
    const covered = Number.isFinite(r.c) ? r.c : r.first === null ? undefined : Math.min(r.first, target);
    if (covered === undefined || covered >= target) continue;
    due.push({ id: r.id, covered, until: Math.min(target, covered + stepMs) });
  }
  if (due.length === 0) return { gaps: 0, unfinished: [] };
  const ids = due.map((d) => d.id);
  const covered = due.map((d) => d.covered);
  const until = due.map((d) => d.until);
  // The recording threshold: max(10 s, 2 x the usual interval before `until`, as gaps.ts computes it).
  const iv = await c.query<{ id: number; ms: number | null }>(
    `SELECT p.id, iv.ms
       FROM unnest($1::int[], $2::float8[]) AS p(id, until)
       LEFT JOIN LATERAL (
         SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY d) AS ms
           FROM (SELECT (extract(epoch FROM ts - lag(ts) OVER (ORDER BY ts)) * 1000)::float8 AS d
                   FROM (SELECT ts FROM snapshots WHERE host_id = p.id AND ts < ${MS('p.until')} ORDER BY ts DESC LIMIT 200) last) spacing
          WHERE d IS NOT NULL) iv ON true`,
    [ids, until],
  );
  const intervalOf = new Map(iv.rows.map((r) => [r.id, r.ms]));
  const recordAbove = ids.map((id) => Math.max(MIN_RECORDED_GAP_MS, 2 * (intervalOf.get(id) ?? 0)));
  // Rows at or past covered_to are stale (a replay moved it back): redone from the last snapshot before it.
  await c.query(
    `DELETE FROM snapshot_gaps g USING unnest($1::int[], $2::float8[]) AS p(id, c) WHERE g.host_id = p.id AND g.gap_to >= ${MS('p.c')}`,
    [ids, covered],
  );
  const ins = await c.query(
    `INSERT INTO snapshot_gaps (host_id, gap_from, gap_to)
     SELECT p.id, x.a, x.b
       FROM unnest($1::int[], $2::float8[], $3::float8[], $4::float8[]) AS p(id, c, until, rec)
       CROSS JOIN LATERAL (
         SELECT a, b
           FROM (SELECT ts AS a, lead(ts) OVER (ORDER BY ts) AS b
                   FROM snapshots
                  WHERE host_id = p.id
                    AND ts >= coalesce((SELECT max(ts) FROM snapshots WHERE host_id = p.id AND ts < ${MS('p.c')}), ${MS('p.c')})
                    AND ts < ${MS('p.until')}) pairs
          WHERE b IS NOT NULL AND b >= ${MS('p.c')} AND b - a > p.rec * interval '1 millisecond') x
     ON CONFLICT (host_id, gap_from) DO UPDATE SET gap_to = EXCLUDED.gap_to`,
    [ids, covered, until, recordAbove],
  );
  // With the usual interval and the last snapshot before covered_to, a search of a recent range
  // reads nothing before covered_to (gaps.ts).
  await c.query(
    `UPDATE gap_watermarks w
        SET covered_to = ${MS('p.until')}, recorded_above_ms = greatest(w.recorded_above_ms, p.rec), interval_ms = p.iv,
            last_ts = (SELECT max(ts) FROM snapshots WHERE host_id = p.id AND ts < ${MS('p.until')}), updated_at = now()
       FROM unnest($1::int[], $2::float8[], $3::float8[], $4::float8[]) AS p(id, until, rec, iv)
      WHERE w.host_id = p.id`,
    [ids, until, recordAbove, ids.map((id) => intervalOf.get(id) ?? null)],
  );
  return { gaps: ins.rowCount ?? 0, unfinished: due.filter((d) => d.until < target).map((d) => d.id) };
}
