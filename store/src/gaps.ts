/**
 * Gaps in a host's history: stretches with no snapshot, longer than a threshold (a collector or
 * exporter outage, a host that was down, a database the exporter could not reach for longer than
 * its spool kept). The api turns them into Grafana annotations (/api/v1/annotations).
 *
 * A gap is a pair of consecutive snapshots of one host further apart than `minGapMs`, reported
 * when it overlaps [from, to): the snapshot before `from` and the one at or after `to` are looked
 * at too, so a gap that began before the range or ends after it is found with its true ends. A
 * host whose newest snapshot is older than min(to, now) - minGapMs has an open gap up to min(to,
 * now). A host's first snapshot is not a gap: before it the host did not report at all.
 *
 * The threshold defaults to 3 x the host's usual interval (the median spacing of its last 200
 * snapshots before `to`), at least 30 s, so a host collecting every 5 s and one every 60 s are
 * both judged by their own rhythm.
 */
import type pg from 'pg';
import { StoreError, wrapPgError } from './errors.js';
import { hostIdsByName, toMs } from './snapshots.js';

type Queryable = pg.Pool | pg.ClientBase;

export interface GapQuery {
  /** host names, or every host. */
  hosts: readonly string[] | 'all';
  /** [from, to) */
  from: Date | number;
  to: Date | number;
  /** a gap is longer than this; default per host: max(30 s, 3 x its usual interval). */
  minGapMs?: number;
  /** the current time, for open gaps (default Date.now()). */
  now?: Date | number;
  /** most gaps reported per host (default 1000); the earliest are kept. */
  limitPerHost?: number;
}

export interface HostGap {
  host: string;
  /** the last snapshot before the gap (Unix ms). */
  from: number;
  /** the first snapshot after it; for an open gap, min(to, now). */
  to: number;
  /** no snapshot has come since (the gap runs up to the end of the range or now). */
  open: boolean;
  /** the threshold it was judged by. */
  minGapMs: number;
  /** the host's usual interval, null when it has fewer than two snapshots before `to`. */
  intervalMs: number | null;
}

/** The least default threshold: a few missed collections of a fast host are not an outage. */
export const MIN_DEFAULT_GAP_MS = 30_000;
const INTERVAL_SAMPLE = 200;
const HOSTS_PARALLEL = 4;
/** SQL of a timestamptz from a Unix ms parameter. */
const MS = (param: string) => `('epoch'::timestamptz + ${param}::float8 * interval '1 millisecond')`;

/**
 * A host's usual interval between snapshots: the median spacing of its last 200 snapshots before
 * `before` (ms), or null with fewer than two.
 */
export async function usualIntervalMs(pool: Queryable, hostId: number, before: number): Promise<number | null> {
  try {
    const r = await pool.query<{ ms: number | null }>(
      `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY d) AS ms
         FROM (SELECT (extract(epoch FROM ts - lag(ts) OVER (ORDER BY ts)) * 1000)::float8 AS d
                 FROM (SELECT ts FROM snapshots WHERE host_id = $1 AND ts < 'epoch'::timestamptz + $2::float8 * interval '1 millisecond'
                        ORDER BY ts DESC LIMIT ${INTERVAL_SAMPLE}) last) spacing
        WHERE d IS NOT NULL`,
      [hostId, before],
    );
    return r.rows[0]?.ms ?? null;
  } catch (err) {
    throw wrapPgError(err, 'reading the usual interval of a host');
  }
}

/** Gaps of each host overlapping [from, to), host by host in name order, each host's in time order. */
export async function snapshotGaps(pool: Queryable, q: GapQuery): Promise<HostGap[]> {
  const from = toMs(q.from, 'from');
  const to = toMs(q.to, 'to');
  const now = q.now === undefined ? Date.now() : toMs(q.now, 'now');
  if (to <= from) throw new StoreError('INVALID_ARGUMENT', 'to must be after from');
  if (q.minGapMs !== undefined && (!Number.isFinite(q.minGapMs) || q.minGapMs < 1)) throw new StoreError('INVALID_ARGUMENT', 'minGapMs must be a positive number');
  const limit = q.limitPerHost ?? 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new StoreError('INVALID_ARGUMENT', 'limitPerHost must be 1..100000');
  if (q.hosts !== 'all' && (!Array.isArray(q.hosts) || q.hosts.some((h) => typeof h !== 'string'))) throw new StoreError('INVALID_ARGUMENT', "hosts must be 'all' or an array of host names");
  const hosts = [...(await hostIdsByName(pool, q.hosts))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const end = Math.min(to, now);
  const perHost = async ([host, id]: [string, number]): Promise<HostGap[]> => {
    const out: HostGap[] = [];
    const intervalMs = await usualIntervalMs(pool, id, to);
    const minGapMs = q.minGapMs ?? Math.max(MIN_DEFAULT_GAP_MS, 3 * (intervalMs ?? 0));
    let r: pg.QueryResult<{ a: number; b: number | null }>;
    try {
      // The snapshot before the range and the first at or after its end bound one ordered index
      // walk (literal bounds: partitions pruned and read in order, so lead() needs no sort).
      const b = await pool.query<{ before: number | null; after: number | null }>(
        `SELECT (SELECT (extract(epoch FROM max(ts)) * 1000)::float8 FROM snapshots WHERE host_id = $1 AND ts < ${MS('$2')}) AS before,
                (SELECT (extract(epoch FROM min(ts)) * 1000)::float8 FROM snapshots WHERE host_id = $1 AND ts >= ${MS('$3')}) AS after`,
        [id, from, to],
      );
      const lo = b.rows[0]?.before ?? from;
      const hi = b.rows[0]?.after ?? to;
      // The gap index (gap-index.ts) answers for the pairs before its covered_to when it recorded
      // every gap this threshold finds; the walk below then covers only what follows covered_to.
      const wm = await pool.query<{ c: number; r: number; prev: number | null }>(
        `SELECT (extract(epoch FROM covered_to) * 1000)::float8 AS c, recorded_above_ms AS r,
                (SELECT (extract(epoch FROM max(ts)) * 1000)::float8 FROM snapshots WHERE host_id = $1 AND ts < g.covered_to) AS prev
           FROM gap_watermarks g WHERE host_id = $1`,
        [id],
      );
      const idx = wm.rows[0];
      const indexed = idx !== undefined && Number.isFinite(idx.c) && idx.c > lo && minGapMs >= idx.r ? idx : undefined;
      const fromIndex = indexed
        ? (
            await pool.query<{ a: number; b: number }>(
              `SELECT (extract(epoch FROM gap_from) * 1000)::float8 AS a, (extract(epoch FROM gap_to) * 1000)::float8 AS b
                 FROM snapshot_gaps
                WHERE host_id = $1 AND gap_from >= ${MS('$2')} AND gap_to <= ${MS('$3')} AND gap_to < ${MS('$4')}
                  AND gap_to - gap_from > $5::float8 * interval '1 millisecond'
                ORDER BY gap_from
                LIMIT $6`,
              [id, lo, hi, indexed.c, minGapMs, limit],
            )
          ).rows
        : [];
      // Walked: everything, or from the last snapshot before covered_to (pairs ending at or after it).
      const walkFrom = indexed ? Math.max(lo, indexed.prev ?? lo) : lo;
      const tailOnly = indexed ? indexed.c : null;
      // b is null for the newest snapshot walked: when nothing follows it, a candidate open gap.
      const walked = await pool.query<{ a: number; b: number | null }>(
        `SELECT (extract(epoch FROM a) * 1000)::float8 AS a, (extract(epoch FROM b) * 1000)::float8 AS b
           FROM (SELECT ts AS a, lead(ts) OVER (ORDER BY ts) AS b FROM snapshots WHERE host_id = $1 AND ts >= ${MS('$2')} AND ts <= ${MS('$3')}) pairs
          WHERE (b IS NOT NULL AND b - a > $4::float8 * interval '1 millisecond' AND ($7::float8 IS NULL OR b >= ${MS('$7')}))
             OR (b IS NULL AND a < ${MS('$5')})
          ORDER BY pairs.a
          LIMIT $6`,
        [id, walkFrom, hi, minGapMs, end - minGapMs, limit, tailOnly],
      );
      r = { rows: [...fromIndex, ...walked.rows].sort((x, y) => x.a - y.a).slice(0, limit) } as unknown as pg.QueryResult<{ a: number; b: number | null }>;
    } catch (err) {
      throw wrapPgError(err, `reading the gaps of ${host}`);
    }
    for (const row of r.rows) {
      if (row.b !== null) {
        out.push({ host, from: row.a, to: row.b, open: false, minGapMs, intervalMs });
      } else if (row.a < end - minGapMs) {
        // The newest snapshot overall (nothing at or after `to` either): silent since then.
        out.push({ host, from: row.a, to: end, open: true, minGapMs, intervalMs });
      }
    }
    return out;
  };
  // A few hosts at a time: each is a handful of short statements and one index walk.
  const out: HostGap[] = [];
  for (let i = 0; i < hosts.length; i += HOSTS_PARALLEL) out.push(...(await Promise.all(hosts.slice(i, i + HOSTS_PARALLEL).map(perHost))).flat());
  return out;
}
