/**
 * Day partitions of snapshots (snapshots_YYYYMMDD, UTC days). Created ahead (later by a pg-boss
 * job, and by the writer for the days it is about to write) and on demand when an insert finds
 * no partition. The SQL side is ensure_snapshot_partitions() in migration 0001.
 */
import type pg from 'pg';
import { schemaPrefix } from './db.js';
import { StoreError, wrapPgError } from './errors.js';

const DAY_MS = 86_400_000;

/** The UTC day of a time, as YYYY-MM-DD. */
export function utcDay(t: Date | number): string {
  const d = new Date(typeof t === 'number' ? t : t.getTime());
  if (Number.isNaN(d.getTime())) throw new StoreError('INVALID_ARGUMENT', `not a valid time: ${String(t)}`);
  return d.toISOString().slice(0, 10);
}

/** Name of the partition holding a time: snapshots_20261125. */
export function partitionName(t: Date | number): string {
  return `snapshots_${utcDay(t).replaceAll('-', '')}`;
}

/**
 * [start, end) in Unix ms of the day partition `<prefix>_YYYYMMDD` (snapshots_20261125,
 * rollups_1m_20261125); undefined for a name of any other form.
 */
export function dayPartitionRange(prefix: string, name: string): [number, number] | undefined {
  if (!name.startsWith(`${prefix}_`)) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(name.slice(prefix.length + 1));
  if (!m) return undefined;
  const from = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return [from, from + DAY_MS];
}

/**
 * Creates the missing day partitions for `days` UTC days starting with the day of `from`;
 * returns how many it created (0 when all existed).
 */
export async function ensurePartitions(pool: pg.Pool | pg.ClientBase, from: Date | number, days = 1): Promise<number> {
  if (!Number.isInteger(days) || days < 1 || days > 400) throw new StoreError('INVALID_ARGUMENT', `days must be 1..400 (got ${days})`);
  const day = utcDay(from);
  try {
    // Schema-qualified: the writer calls this through a transaction pooler too (no search_path).
    const r = await pool.query<{ n: number }>(`SELECT ${schemaPrefix(pool)}ensure_snapshot_partitions($1::date, $2::int) AS n`, [day, days]);
    return r.rows[0]?.n ?? 0;
  } catch (err) {
    throw wrapPgError(err, `creating snapshot partitions from ${day} for ${days} day(s)`);
  }
}

export interface PartitionInfo {
  name: string;
  /** inclusive start and exclusive end of its range. */
  from: Date;
  to: Date;
}

/** The day partitions of snapshots, oldest first (for retention and tests). */
export async function listPartitions(pool: pg.Pool | pg.ClientBase): Promise<PartitionInfo[]> {
  try {
    const r = await pool.query<{ name: string }>(
      `SELECT c.relname AS name
         FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'snapshots'::regclass
        ORDER BY c.relname`,
    );
    return r.rows.flatMap(({ name }) => {
      const range = dayPartitionRange('snapshots', name);
      return range ? [{ name, from: new Date(range[0]), to: new Date(range[1]) }] : [];
    });
  } catch (err) {
    throw wrapPgError(err, 'listing snapshot partitions');
  }
}
