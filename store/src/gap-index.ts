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
import { usualIntervalMs } from './gaps.js';

/** The smallest recording threshold: shorter spacings are jitter, not outages. */
export const MIN_RECORDED_GAP_MS = 10_000;

export interface GapIndexOptions {
  /** the current time (default Date.now()). */
  now?: Date | number;
  /** covered_to stays this far behind now, ms (120 000; must exceed the writer's 1 minute). */
  graceMs?: number;
  /** these hosts only (default every host that has written). */
  hostIds?: number[];
  /** one transaction covers at most this much time of one host, ms (a day): a first run over a
   *  long history goes day by day, each day committed. */
  stepMs?: number;
}

export interface GapIndexResult {
  hosts: number;
  /** gap rows written. */
  gaps: number;
  /** host-steps done (transactions). */
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
  let hosts;
  try {
    hosts = await pool.query<{ id: number }>(`SELECT id FROM hosts WHERE last_seen IS NOT NULL AND ($1::int[] IS NULL OR id = ANY($1::int[])) ORDER BY id`, [opts.hostIds ?? null]);
  } catch (err) {
    throw wrapPgError(err, 'listing hosts for the gap index');
  }
  for (const { id } of hosts.rows) {
    result.hosts++;
    for (;;) {
      const step = await withTransaction(pool, (c) => indexStep(c, id, target, stepMs), `gap index of host ${id}`);
      result.gaps += step.gaps;
      result.steps++;
      if (step.done) break;
    }
  }
  if (result.gaps) poolLogger(pool).debug({ ...result }, 'gap index extended');
  return result;
}

/** One transaction: extends one host's coverage by at most stepMs towards target. */
async function indexStep(c: pg.ClientBase, hostId: number, target: number, stepMs: number): Promise<{ gaps: number; done: boolean }> {
  await c.query('INSERT INTO gap_watermarks (host_id) VALUES ($1) ON CONFLICT (host_id) DO NOTHING', [hostId]);
  const wm = await c.query<{ c: number; r: number }>(
    `SELECT (extract(epoch FROM covered_to) * 1000)::float8 AS c, recorded_above_ms AS r FROM gap_watermarks WHERE host_id = $1 FOR UPDATE`,
    [hostId],
  );
  let covered = wm.rows[0]!.c;
  if (covered >= target) return { gaps: 0, done: true };
  if (!Number.isFinite(covered)) {
    // Never indexed: before its first snapshot there is nothing to record.
    const first = await c.query<{ ms: number | null }>(`SELECT (extract(epoch FROM min(ts)) * 1000)::float8 AS ms FROM snapshots WHERE host_id = $1`, [hostId]);
    const ms = first.rows[0]?.ms;
    if (ms === null || ms === undefined) return { gaps: 0, done: true };
    covered = Math.min(ms, target);
  }
  const until = Math.min(target, covered + stepMs);
  const interval = await usualIntervalMs(c, hostId, until);
  const recordAbove = Math.max(MIN_RECORDED_GAP_MS, 2 * (interval ?? 0));
  // Rows at or past covered_to are stale (a replay moved it back): redone from the last snapshot before it.
  await c.query(`DELETE FROM snapshot_gaps WHERE host_id = $1 AND gap_to >= ${MS('$2')}`, [hostId, covered]);
  const ins = await c.query(
    `INSERT INTO snapshot_gaps (host_id, gap_from, gap_to)
     SELECT $1, a, b
       FROM (SELECT ts AS a, lead(ts) OVER (ORDER BY ts) AS b
               FROM snapshots
              WHERE host_id = $1
                AND ts >= coalesce((SELECT max(ts) FROM snapshots WHERE host_id = $1 AND ts < ${MS('$2')}), ${MS('$2')})
                AND ts < ${MS('$3')}) pairs
      WHERE b IS NOT NULL AND b >= ${MS('$2')} AND b - a > $4::float8 * interval '1 millisecond'
     ON CONFLICT (host_id, gap_from) DO UPDATE SET gap_to = EXCLUDED.gap_to`,
    [hostId, covered, until, recordAbove],
  );
  await c.query(
    `UPDATE gap_watermarks SET covered_to = ${MS('$2')}, recorded_above_ms = greatest(recorded_above_ms, $3::float8), updated_at = now() WHERE host_id = $1`,
    [hostId, until, recordAbove],
  );
  return { gaps: ins.rowCount ?? 0, done: until >= target };
}
