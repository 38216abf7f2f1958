/**
 * The SQL side of writing snapshots: one statement per batch that inserts every snapshot
 * (ON CONFLICT DO NOTHING on (host_id, ts), so a replayed snapshot is written once), moves each
 * host's first_seen / last_seen once per batch, and moves a host's rollup watermarks back when
 * the batch holds older data than they cover (a spool replay), so those blocks are rolled up
 * again. The statement is atomic: a process killed mid-batch leaves nothing of that batch behind.
 *
 * Snapshots are stored as shape + values (codec.ts): the shape is registered once per host and
 * shape (snapshot_shapes), each row carries only its numbers. The batch travels as arrays plus
 * one binary parameter holding every row's values back to back (node-postgres sends a Buffer
 * as binary: no hex, no escaping).
 *
 * The same statement notifies snapshotsChannel(schema) with the hosts it wrote (pg_notify is
 * transactional: listeners hear of the rows when they are committed, never before).
 *
 * The path is session-free, so it runs through pgbouncer in transaction mode (docs/scaling.md):
 * every statement stands alone (no SET, no named prepared statements, no advisory session locks,
 * no temporary tables), and every table and function carries its schema (schemaPrefix), so no
 * search_path is needed.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { poolLogger, poolSchema, schemaPrefix } from './db.js';
import { StoreError, sqlState, wrapPgError } from './errors.js';
import { ensurePartitions, utcDay } from './partitions.js';
import { encodeSnapshot, type EncodedSnapshot } from './codec.js';
import type { Snapshot } from './snapshot.js';

/** What insertSnapshots needs of a snapshot; a full Snapshot has it. */
export type SnapshotLike = Pick<Snapshot, 'host' | 'ts'>;

export interface InsertResult {
  /** rows written by this call. */
  inserted: number;
  /** snapshots already in the database (a replay), skipped. */
  duplicates: number;
}

interface KnownShape {
  id: number;
  frags: readonly string[];
  hash: string;
}

/** Per-pool caches: host name -> id, the UTC days whose partitions are known to exist, shapes. */
interface Cache {
  hosts: Map<string, number>;
  days: Set<string>;
  /** `${host id} ${hash}` -> shape id */
  shapes: Map<string, number>;
  /** host id -> the shape its last snapshot had (the next one usually has it too) */
  lastShape: Map<number, KnownShape>;
}
const CACHES = new WeakMap<pg.Pool, Cache>();

function cacheOf(pool: pg.Pool): Cache {
  let c = CACHES.get(pool);
  if (!c) {
    c = { hosts: new Map(), days: new Set(), shapes: new Map(), lastShape: new Map() };
    CACHES.set(pool, c);
  }
  return c;
}

/** Forgets cached host ids, partition days and shapes (after a host was deleted or partitions dropped). */
export function clearWriterCache(pool: pg.Pool): void {
  CACHES.delete(pool);
}

const MAX_HOST_LENGTH = 253;

/** Why a snapshot cannot be stored at all (undefined when it can). */
export function invalidSnapshotReason(s: unknown): string | undefined {
  if (typeof s !== 'object' || s === null) return 'not an object';
  const { host, ts } = s as { host?: unknown; ts?: unknown };
  if (typeof host !== 'string' || host === '' || host.length > MAX_HOST_LENGTH) return `host must be a non-empty string of at most ${MAX_HOST_LENGTH} characters`;
  if (typeof ts !== 'number' || !Number.isFinite(ts) || Number.isNaN(new Date(ts).getTime())) return 'ts must be a finite number of Unix milliseconds';
  return undefined;
}

/** Host ids for names, registering the new ones (first_seen / last_seen are set by the insert). */
async function hostIds(pool: pg.Pool, names: string[]): Promise<Map<string, number>> {
  const cache = cacheOf(pool).hosts;
  const out = new Map<string, number>();
  let missing = names.filter((n) => {
    const id = cache.get(n);
    if (id !== undefined) out.set(n, id);
    return id === undefined;
  });
  // A second round covers a host another process registered between our INSERT and SELECT.
  for (let round = 0; round < 2 && missing.length; round++) {
    let r;
    try {
      r = await pool.query<{ id: number; name: string }>(
        `WITH ins AS (
           INSERT INTO ${schemaPrefix(pool)}hosts (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING RETURNING id, name)
         SELECT id, name FROM ins
         UNION ALL
         SELECT id, name FROM ${schemaPrefix(pool)}hosts WHERE name = ANY($1::text[])`,
        [missing],
      );
    } catch (err) {
      throw wrapPgError(err, `registering hosts ${missing.join(', ')}`);
    }
    for (const row of r.rows) {
      cache.set(row.name, row.id);
      out.set(row.name, row.id);
    }
    missing = missing.filter((n) => !out.has(n));
  }
  if (missing.length) {
    // The name exists (the INSERT conflicted) but this role cannot see the row: row-level
    // security gives it to another exporter role (docs/storage.md).
    throw new StoreError('HOST_NOT_WRITABLE', `host ${missing.map((n) => `"${n}"`).join(', ')} is registered to another database role; this role may not write its snapshots`);
  }
  return out;
}

/** Makes sure the day partitions of these UTC days exist (and the next day's, ahead). */
async function ensureDays(pool: pg.Pool, days: Iterable<string>, force = false): Promise<void> {
  const known = cacheOf(pool).days;
  for (const day of days) {
    if (!force && known.has(day)) continue;
    const created = await ensurePartitions(pool, new Date(`${day}T00:00:00Z`), 2);
    if (created) poolLogger(pool).info({ day, created }, `created ${created} snapshot partition(s) from ${day}`);
    known.add(day);
  }
}

/** Shape ids of the given (host, shape) pairs, registering the new ones. */
async function shapeIds(pool: pg.Pool, wanted: Map<string, { hostId: number; enc: EncodedSnapshot }>): Promise<void> {
  const cache = cacheOf(pool).shapes;
  for (const [key, { hostId, enc }] of wanted) {
    if (cache.has(key)) continue;
    // A second round covers a shape another process registered after this statement's snapshot.
    for (let round = 0; round < 2 && !cache.has(key); round++) {
      let r;
      try {
        r = await pool.query<{ id: number }>(
          `WITH ins AS (
             INSERT INTO ${schemaPrefix(pool)}snapshot_shapes (host_id, hash, frags) VALUES ($1, $2, $3::text[])
             ON CONFLICT (host_id, hash) DO NOTHING RETURNING id)
           SELECT id FROM ins
           UNION ALL
           SELECT id FROM ${schemaPrefix(pool)}snapshot_shapes WHERE host_id = $1 AND hash = $2`,
          [hostId, enc.hash, enc.frags],
        );
      } catch (err) {
        throw wrapPgError(err, `registering a snapshot shape of host ${hostId}`);
      }
      if (r.rows[0]) cache.set(key, r.rows[0].id);
    }
    if (!cache.has(key)) throw new StoreError('DB_QUERY_FAILED', `the shape ${enc.hash} of host ${hostId} was neither inserted nor found`);
  }
}

/** Payloads above this many bytes become `{"all":true}` (PostgreSQL's limit is 8000). */
const NOTIFY_MAX_BYTES = 7000;

/**
 * The channel insertSnapshots notifies after each batch: `perfwatch_snapshots_<schema>`, so
 * installations (and test schemas) sharing a database do not hear each other. The payload is
 * `{"hosts":["a","b"]}` (the hosts the batch wrote), or `{"all":true}` when that list is too long.
 * Channel names are identifiers (63 bytes at most): a long schema name is hashed.
 */
export function snapshotsChannel(schema: string): string {
  const name = `perfwatch_snapshots_${schema}`;
  return Buffer.byteLength(name) <= 63 ? name : `perfwatch_snapshots_${createHash('sha256').update(schema).digest('hex').slice(0, 24)}`;
}

/** The batch statement; `s` is the schema prefix (schemaPrefix). */
const insertSql = (s: string) => `
WITH ins AS (
  INSERT INTO ${s}snapshots (host_id, ts, shape_id, vals)
  SELECT r.h, 'epoch'::timestamptz + r.ms * interval '1 millisecond', r.sh, substring($6::bytea FROM r.off FOR r.len)
    FROM unnest($1::int[], $2::float8[], $3::int[], $4::int[], $5::int[]) AS r(h, ms, sh, off, len)
  ON CONFLICT (host_id, ts) DO NOTHING
  RETURNING host_id, ts),
agg AS (
  SELECT host_id, min(ts) AS lo, max(ts) AS hi, count(*) AS n FROM ins GROUP BY host_id),
upd AS (
  UPDATE ${s}hosts h
     SET first_seen = LEAST(h.first_seen, agg.lo), last_seen = GREATEST(h.last_seen, agg.hi)
    FROM agg
   WHERE h.id = agg.host_id
     AND (h.first_seen IS NULL OR h.first_seen > agg.lo OR h.last_seen IS NULL OR h.last_seen < agg.hi)
  RETURNING 1),
rewind AS (
  -- Rolled-up blocks this batch adds to are redone (watermark back). A batch older than a minute
  -- also touches the row: when a rollup run holds it (rollups.ts), this waits for the run, then
  -- moves the watermark back if the run went past this batch's data.
  UPDATE ${s}rollup_watermarks w
     SET watermark = LEAST(w.watermark, agg.lo), updated_at = now()
    FROM agg
   WHERE w.host_id = agg.host_id AND (w.watermark > agg.lo OR agg.lo < now() - interval '1 minute')
  RETURNING 1),
gaps AS (
  -- The gap index (gap-index.ts) is redone from this batch's first snapshot when the batch lands
  -- in what it covers; a batch older than a minute waits for a run holding the row, as above.
  UPDATE ${s}gap_watermarks g
     SET covered_to = LEAST(g.covered_to, agg.lo), updated_at = now(),
         last_ts = CASE WHEN g.covered_to > agg.lo THEN NULL ELSE g.last_ts END
    FROM agg
   WHERE g.host_id = agg.host_id AND (g.covered_to > agg.lo OR agg.lo < now() - interval '1 minute')
  RETURNING 1),
notify AS (
  -- One notification per batch that wrote anything, with its hosts (the api's live stream,
  -- docs/api.md); delivered at commit, so a listener that reads at once sees the rows.
  SELECT pg_notify($7, CASE WHEN octet_length(p) > ${NOTIFY_MAX_BYTES} THEN '{"all":true}' ELSE p END)
    FROM (SELECT jsonb_build_object('hosts', jsonb_agg(DISTINCT h.name))::text AS p
            FROM agg JOIN ${s}hosts h ON h.id = agg.host_id HAVING count(*) > 0) x)
-- notify is read here because PostgreSQL runs a plain SELECT in WITH only when it is referenced.
SELECT coalesce(sum(n), 0)::int AS inserted, (SELECT count(*) FROM notify)::int AS notified FROM agg`;
const INSERT_SQL = new Map<string, string>();

/**
 * Writes a batch of snapshots in one statement; returns how many were new. Idempotent: writing the
 * same batch again inserts nothing. Throws StoreError: DB_UNAVAILABLE (transient: retry or spool),
 * DB_DATA_REJECTED (a snapshot the server refuses, e.g. a \u0000 in a string), INVALID_ARGUMENT
 * (no host or ts), HOST_NOT_WRITABLE.
 */
export async function insertSnapshots(pool: pg.Pool, batch: readonly SnapshotLike[]): Promise<InsertResult> {
  if (batch.length === 0) return { inserted: 0, duplicates: 0 };
  batch.forEach((s, i) => {
    const why = invalidSnapshotReason(s);
    if (why) throw new StoreError('INVALID_ARGUMENT', `snapshot ${i} of the batch cannot be stored: ${why}`);
  });

  // Its hosts and UTC days (whose partitions must exist): the same on every attempt.
  const hosts = [...new Set(batch.map((s) => s.host))];
  const days = new Set(batch.map((s) => utcDay(s.ts)));
  let attempt = 0;
  for (;;) {
    attempt++;
    const ids = await hostIds(pool, hosts);
    const cache = cacheOf(pool);
    // Rows in key order: two batches that overlap lock the same keys in the same order.
    const rows = batch
      .map((s) => ({ id: ids.get(s.host)!, ts: s.ts, s }))
      .sort((a, b) => a.id - b.id || a.ts - b.ts);
    const encoded = rows.map((r) => {
      const enc = encodeSnapshot(r.s, cache.lastShape.get(r.id));
      return { ...r, enc, key: `${r.id} ${enc.hash}` };
    });
    await shapeIds(pool, new Map(encoded.map((e) => [e.key, { hostId: e.id, enc: e.enc }])));
    for (const e of encoded) cache.lastShape.set(e.id, { id: cache.shapes.get(e.key)!, frags: e.enc.frags, hash: e.enc.hash });
    await ensureDays(pool, days);
    const offsets: number[] = [];
    let off = 1;
    for (const e of encoded) {
      offsets.push(off);
      off += e.enc.vals.length;
    }
    const params = [
      encoded.map((e) => e.id),
      encoded.map((e) => e.ts),
      encoded.map((e) => cache.shapes.get(e.key)!),
      offsets,
      encoded.map((e) => e.enc.vals.length),
      Buffer.concat(encoded.map((e) => e.enc.vals)),
      snapshotsChannel(poolSchema(pool)),
    ];
    try {
      const prefix = schemaPrefix(pool);
      let sql = INSERT_SQL.get(prefix);
      if (sql === undefined) INSERT_SQL.set(prefix, (sql = insertSql(prefix)));
      const r = await pool.query<{ inserted: number }>(sql, params);
      const inserted = r.rows[0]?.inserted ?? 0;
      return { inserted, duplicates: batch.length - inserted };
    } catch (err) {
      const state = sqlState(err);
      if (attempt < 3) {
        if (state === '23514' && /no partition/i.test((err as Error).message)) {
          // A partition dropped (retention) or never made: create it and try again.
          await ensureDays(pool, days, true);
          continue;
        }
        if (state === '23503') {
          // A cached host id whose host was deleted meanwhile.
          clearWriterCache(pool);
          continue;
        }
        if (state === '40P01' || state === '40001') continue;
      }
      throw wrapPgError(err, `writing ${batch.length} snapshot(s)`);
    }
  }
}
