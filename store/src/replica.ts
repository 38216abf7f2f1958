/**
 * How far a read replica (a PostgreSQL hot standby fed by streaming replication, the api's
 * DATABASE_READ_URL) is behind the primary, as docs/scaling.md describes:
 *
 * - bytes: WAL the primary has written that the standby has not replayed yet
 *   (pg_wal_lsn_diff(primary's pg_current_wal_lsn(), standby's pg_last_wal_replay_lsn())); 0 when
 *   every change is visible on the standby;
 * - seconds: when bytes > 0, the age of the last transaction the standby replayed (how old what a
 *   read there sees can be); 0 when it is caught up (an idle primary writes nothing, and the last
 *   replayed transaction may be old without anything being missing).
 *
 * A read URL that is no standby (the primary itself, or a copy that is not in recovery) reports
 * `standby: false` and no lag.
 */
import type pg from 'pg';
import { wrapPgError } from './errors.js';

export interface ReplicaLag {
  /** the read server is in recovery (a standby). */
  standby: boolean;
  /** WAL bytes not yet replayed there; null when it cannot be told (no standby, or nothing replayed yet). */
  lagBytes: number | null;
  /** age of what reads there see when behind, seconds; 0 when caught up. */
  lagSeconds: number;
  /** replay was paused (pg_wal_replay_pause()): the lag only grows until it is resumed. */
  replayPaused: boolean;
}

/** The read replica's lag behind primary. Throws StoreError when either does not answer. */
export async function replicaLag(primary: pg.Pool, replica: pg.Pool): Promise<ReplicaLag> {
  let standby;
  try {
    const r = await replica.query<{ standby: boolean; replay: string | null; behind: number | null; paused: boolean }>(
      `SELECT pg_is_in_recovery() AS standby,
              pg_last_wal_replay_lsn()::text AS replay,
              extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS behind,
              CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END AS paused`,
    );
    standby = r.rows[0]!;
  } catch (err) {
    throw wrapPgError(err, 'reading the replica\'s replay position');
  }
  if (!standby.standby) return { standby: false, lagBytes: null, lagSeconds: 0, replayPaused: false };
  if (standby.replay === null) return { standby: true, lagBytes: null, lagSeconds: Math.max(0, standby.behind ?? 0), replayPaused: standby.paused };
  let bytes: number;
  try {
    const r = await primary.query<{ bytes: string }>('SELECT greatest(0, pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn))::bigint::text AS bytes', [standby.replay]);
    bytes = Number(r.rows[0]!.bytes);
  } catch (err) {
    throw wrapPgError(err, 'reading the primary\'s WAL position');
  }
  return { standby: true, lagBytes: bytes, lagSeconds: bytes === 0 ? 0 : Math.max(0, standby.behind ?? 0), replayPaused: standby.paused };
}
