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
  if (hosts.length === 0) return [];
  const end = Math.min(to, now);
  const ids = hosts.map(([, id]) => id);
  try {
    // Fast path (#16): over a range that reaches the gap index's covered_to, a host whose index
    // run left its usual interval and its last snapshot before covered_to is answered from its gap
    // rows and a walk of what follows covered_to (two or three minutes): nothing else is read.
    const wm = await pool.query<{ id: number; c: number; r: number; iv: number | null; last: number | null }>(
      `SELECT host_id AS id, (extract(epoch FROM covered_to) * 1000)::float8 AS c, recorded_above_ms AS r, interval_ms AS iv,
              (extract(epoch FROM last_ts) * 1000)::float8 AS last
         FROM gap_watermarks WHERE host_id = ANY($1::int[])`,
      [ids],
    );
    const fast = new Map<number, { minGapMs: number; intervalMs: number | null; c: number; last: number }>();
    for (const w of wm.rows) {
      if (!Number.isFinite(w.c) || w.last === null || !(w.c > from) || to < w.c) continue;
      const minGapMs = q.minGapMs ?? Math.max(MIN_DEFAULT_GAP_MS, 3 * (w.iv ?? 0));
      if (minGapMs >= w.r) fast.set(w.id, { minGapMs, intervalMs: w.iv, c: w.c, last: w.last });
    }
    const fastIds = [...fast.keys()];
    const arr = (ids: number[], f: (h: { minGapMs: number; c: number; last: number }) => number) => ids.map((id) => f(fast.get(id)!));
    // Their gap rows, in one statement (one row per gap).
    const indexRows = fastIds.length
      ? (
          await pool.query<{ id: number; a: number; b: number }>(
            `SELECT g.host_id AS id, (extract(epoch FROM g.gap_from) * 1000)::float8 AS a, (extract(epoch FROM g.gap_to) * 1000)::float8 AS b
               FROM snapshot_gaps g JOIN unnest($1::int[], $2::float8[], $3::float8[]) AS p(id, g, c) ON g.host_id = p.id
              WHERE g.gap_to >= ${MS('$4')} AND g.gap_from < ${MS('$5')} AND g.gap_to < ${MS('p.c')}
                AND g.gap_to - g.gap_from > p.g * interval '1 millisecond'`,
            [fastIds, arr(fastIds, (h) => h.minGapMs), arr(fastIds, (h) => h.c), from, to],
          )
        ).rows
      : [];
    // What follows covered_to: since to >= covered_to, at most now - covered_to (two or three
    // minutes) of each host. Hosts that reported within 10 minutes of covered_to in one scan of
    // that stretch; the others (silent for longer) one walk each from their last snapshot.
    const cMin = Math.min(...fastIds.map((id) => fast.get(id)!.c));
    const live = fastIds.filter((id) => fast.get(id)!.last >= cMin - 600_000);
    const stale = fastIds.filter((id) => fast.get(id)!.last < cMin - 600_000);
    const tailWhere = `(b IS NOT NULL AND b >= ${MS('p.c')} AND b >= ${MS('$6')} AND a < ${MS('$7')} AND b - a > p.g * interval '1 millisecond')
                       OR (b IS NULL AND a < ${MS('p.open_before')} AND a < ${MS('$7')})`;
    const tailParams = (ids: number[]) => [ids, arr(ids, (h) => h.minGapMs), arr(ids, (h) => h.c), arr(ids, (h) => h.last), arr(ids, (h) => end - h.minGapMs), from, to];
    const liveRows = live.length
      ? (
          await pool.query<{ id: number; a: number; b: number | null }>(
            `SELECT p.id, (extract(epoch FROM w.a) * 1000)::float8 AS a, (extract(epoch FROM w.b) * 1000)::float8 AS b
               FROM (SELECT host_id, ts AS a, lead(ts) OVER (PARTITION BY host_id ORDER BY ts) AS b
                       FROM snapshots WHERE host_id = ANY($1::int[]) AND ts >= ${MS('$8')}) w
               JOIN unnest($1::int[], $2::float8[], $3::float8[], $4::float8[], $5::float8[]) AS p(id, g, c, last, open_before) ON p.id = w.host_id
              WHERE w.a >= ${MS('p.last')} AND (${tailWhere})`,
            [...tailParams(live), Math.min(...live.map((id) => fast.get(id)!.last))],
          )
        ).rows
      : [];
    const staleRows = stale.length
      ? (
          await pool.query<{ id: number; a: number; b: number | null }>(
            `SELECT p.id, (extract(epoch FROM x.a) * 1000)::float8 AS a, (extract(epoch FROM x.b) * 1000)::float8 AS b
               FROM unnest($1::int[], $2::float8[], $3::float8[], $4::float8[], $5::float8[]) AS p(id, g, c, last, open_before)
               CROSS JOIN LATERAL (
                 SELECT a, b
                   FROM (SELECT ts AS a, lead(ts) OVER (ORDER BY ts) AS b FROM snapshots WHERE host_id = p.id AND ts >= ${MS('p.last')}) pairs
                  WHERE ${tailWhere}) x`,
            tailParams(stale),
          )
        ).rows
      : [];
    const fastRows = [...indexRows, ...liveRows, ...staleRows];
    const slowHosts = hosts.filter(([, id]) => !fast.has(id));
    const slowIds = slowHosts.map(([, id]) => id);
    // The other hosts: three statements for all of them together, whatever their number: what each host needs
    // to know (usual interval, the snapshots around the range, the gap index's coverage), the
    // index rows, and the walks (past covered_to, or the whole range where the index cannot answer).
    const info = await pool.query<{ id: number; interval: number | null; before: number | null; after: number | null; c: number | null; r: number | null; prev: number | null }>(
      `SELECT h.id, iv.ms AS interval, bnd.before, bnd.after, g.c, g.r, g.prev
         FROM unnest($1::int[]) AS h(id)
         LEFT JOIN LATERAL (
           SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY d) AS ms
             FROM (SELECT (extract(epoch FROM ts - lag(ts) OVER (ORDER BY ts)) * 1000)::float8 AS d
                     FROM (SELECT ts FROM snapshots WHERE host_id = h.id AND ts < ${MS('$3')} ORDER BY ts DESC LIMIT ${INTERVAL_SAMPLE}) last) spacing
            WHERE d IS NOT NULL) iv ON true
         LEFT JOIN LATERAL (
           SELECT (SELECT (extract(epoch FROM max(ts)) * 1000)::float8 FROM snapshots WHERE host_id = h.id AND ts < ${MS('$2')}) AS before,
                  (SELECT (extract(epoch FROM min(ts)) * 1000)::float8 FROM snapshots WHERE host_id = h.id AND ts >= ${MS('$3')}) AS after) bnd ON true
         LEFT JOIN LATERAL (
           SELECT (extract(epoch FROM w.covered_to) * 1000)::float8 AS c, w.recorded_above_ms AS r,
                  (SELECT (extract(epoch FROM max(ts)) * 1000)::float8 FROM snapshots WHERE host_id = h.id AND ts < w.covered_to) AS prev
             FROM gap_watermarks w WHERE w.host_id = h.id) g ON true`,
      [slowIds, from, to],
    );
    const byId = new Map(info.rows.map((r) => [r.id, r]));
    const plan = slowHosts.map(([host, id]) => {
      const r = byId.get(id)!;
      const intervalMs = r.interval;
      const minGapMs = q.minGapMs ?? Math.max(MIN_DEFAULT_GAP_MS, 3 * (intervalMs ?? 0));
      const lo = r.before ?? from;
      const hi = r.after ?? to;
      // The gap index (gap-index.ts) answers for the pairs before its covered_to when it recorded
      // every gap this threshold finds; the walk then covers only what follows covered_to.
      const indexed = r.c !== null && Number.isFinite(r.c) && r.c > lo && r.r !== null && minGapMs >= r.r;
      return { host, id, intervalMs, minGapMs, lo, hi, c: indexed ? r.c! : null, walkFrom: indexed ? Math.max(lo, r.prev ?? lo) : lo };
    });
    const idx = plan.filter((p) => p.c !== null);
    const fromIndex = idx.length
      ? (
          await pool.query<{ id: number; a: number; b: number }>(
            `SELECT p.id, (extract(epoch FROM x.gap_from) * 1000)::float8 AS a, (extract(epoch FROM x.gap_to) * 1000)::float8 AS b
               FROM unnest($1::int[], $2::float8[], $3::float8[], $4::float8[], $5::float8[]) AS p(id, lo, hi, c, g)
               CROSS JOIN LATERAL (
                 SELECT gap_from, gap_to FROM snapshot_gaps
                  WHERE host_id = p.id AND gap_from >= ${MS('p.lo')} AND gap_to <= ${MS('p.hi')} AND gap_to < ${MS('p.c')}
                    AND gap_to - gap_from > p.g * interval '1 millisecond'
                  ORDER BY gap_from LIMIT $6) x`,
            [idx.map((p) => p.id), idx.map((p) => p.lo), idx.map((p) => p.hi), idx.map((p) => p.c), idx.map((p) => p.minGapMs), limit],
          )
        ).rows
      : [];
    // b is null for the newest snapshot walked: when nothing follows it, a candidate open gap.
    const walked = !plan.length ? { rows: [] } : await pool.query<{ id: number; a: number; b: number | null }>(
      `SELECT p.id, (extract(epoch FROM x.a) * 1000)::float8 AS a, (extract(epoch FROM x.b) * 1000)::float8 AS b
         FROM unnest($1::int[], $2::float8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[]) AS p(id, lo, hi, g, open_before, c)
         CROSS JOIN LATERAL (
           SELECT a, b
             FROM (SELECT ts AS a, lead(ts) OVER (ORDER BY ts) AS b FROM snapshots WHERE host_id = p.id AND ts >= ${MS('p.lo')} AND ts <= ${MS('p.hi')}) pairs
            WHERE (b IS NOT NULL AND b - a > p.g * interval '1 millisecond' AND (p.c IS NULL OR b >= ${MS('p.c')}))
               OR (b IS NULL AND a < ${MS('p.open_before')})
            ORDER BY pairs.a
            LIMIT $7) x`,
      [plan.map((p) => p.id), plan.map((p) => p.walkFrom), plan.map((p) => p.hi), plan.map((p) => p.minGapMs), plan.map((p) => end - p.minGapMs), plan.map((p) => p.c), limit],
    );
    const rowsOf = new Map<number, { a: number; b: number | null }[]>();
    for (const r of [...fastRows, ...fromIndex, ...walked.rows]) {
      let list = rowsOf.get(r.id);
      if (!list) rowsOf.set(r.id, (list = []));
      list.push(r);
    }
    const out: HostGap[] = [];
    const slowPlan = new Map(plan.map((p) => [p.id, p]));
    const all = hosts.map(([host, id]) => slowPlan.get(id) ?? { host, id, minGapMs: fast.get(id)!.minGapMs, intervalMs: fast.get(id)!.intervalMs });
    for (const p of all) {
      const rows = (rowsOf.get(p.id) ?? []).sort((x, y) => x.a - y.a).slice(0, limit);
      for (const row of rows) {
        if (row.b !== null) {
          out.push({ host: p.host, from: row.a, to: row.b, open: false, minGapMs: p.minGapMs, intervalMs: p.intervalMs });
        } else if (row.a < end - p.minGapMs) {
          // The newest snapshot overall (nothing at or after `to` either): silent since then.
          out.push({ host: p.host, from: row.a, to: end, open: true, minGapMs: p.minGapMs, intervalMs: p.intervalMs });
        }
      }
    }
    return out;
  } catch (err) {
    throw wrapPgError(err, `reading the gaps of ${hosts.length} host(s)`);
  }
}
