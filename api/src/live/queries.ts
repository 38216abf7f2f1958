/** The live stream's one query: a host's newest snapshots after a time, newest first. */
import { fetchRows, RAW_COLUMNS, rowSnapshot, type Pool, type Snapshot } from '@perfwatch/store';

/**
 * Up to `limit` snapshots of `host` with ts > afterMs (any ts when null), newest first. Uses the
 * (host_id, ts) key backwards: a handful of index entries whatever the history's length.
 */
export async function newestSnapshots(pool: Pool, host: string, afterMs: number | null, limit: number): Promise<Snapshot[]> {
  const rows = await fetchRows(
    pool,
    `SELECT ${RAW_COLUMNS}
       FROM hosts h JOIN snapshots s ON s.host_id = h.id
      WHERE h.name = $1
        AND ($2::float8 IS NULL OR s.ts > 'epoch'::timestamptz + $2::float8 * interval '1 millisecond')
      ORDER BY s.ts DESC LIMIT $3`,
    [host, afterMs, limit],
    `reading the newest snapshots of ${host} for the live stream`,
  );
  return rows.map(rowSnapshot);
}
