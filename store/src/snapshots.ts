/**
 * Reading snapshots back: hosts, the latest snapshot of a host, pages of a host's snapshots, and
 * (for rollups and raw series queries) rows with their shapes. Rows are decoded in TypeScript
 * (codec.ts); rows written before migration 0003 (JSONB, data_v1) are cut into shape and values
 * here, so everything downstream sees one form.
 */
import type pg from 'pg';
import { forEachSample, type Labels, type MetricInfo } from './catalog.js';
import { decodeSnapshot, encodeSnapshot, parseShape, Slot } from './codec.js';
import { StoreError, wrapPgError } from './errors.js';
import type { Snapshot } from './snapshot.js';

type Queryable = pg.Pool | pg.ClientBase;

/** One sample of a shape: which metric, which labels, and the slot holding its value (or a constant). */
export interface PlanEntry {
  metric: MetricInfo;
  labels: Labels;
  /** slot index, or -1 when the value is the constant `value` (collector success and such). */
  slot: number;
  value: number;
}

export interface Shape {
  /** snapshot_shapes.id; negative for the shape of a row stored as JSONB (before migration 0003). */
  id: number;
  frags: readonly string[];
  /** number slots. */
  n: number;
  /** every sample of the shape, computed on first use. */
  plan(): readonly PlanEntry[];
  /** the samples of one metric (of plan(), in its order), indexed on first use: a selector of one metric need not go through all. */
  planOf(metric: string): readonly PlanEntry[];
  /** where the snapshot's collection interval (`iv`, seconds) is: a slot, or the constant `value` (slot -1). */
  interval(): { slot: number; value: number };
}

/**
 * Plan entries and their label sets, shared by every shape that has them (frozen): the hosts of a
 * fleet have shapes that differ in a few places (the host's name, a disk), and a plan apiece made
 * 117 MB of entries for 1,000 hosts; shared, one host's worth and the arrays. Bounded: cleared
 * when full (the plans made keep theirs).
 */
const ENTRIES = new Map<string, PlanEntry>();
const NO_ENTRIES: readonly PlanEntry[] = Object.freeze([]);
const LABEL_SETS = new Map<string, Labels>();
const MAX_INTERNED = 200_000;

function planEntry(metric: MetricInfo, labels: Labels, slot: number, value: number): PlanEntry {
  // (each name and value after its length: no two label sets share a key, whatever they hold)
  let lk = '';
  for (const k in labels) lk += `${k.length}:${k}${labels[k]!.length}:${labels[k]}`;
  const key = `${metric.name}\u0002${slot}\u0002${Object.is(value, -0) ? '-0' : value}\u0002${lk}`;
  const had = ENTRIES.get(key);
  if (had && had.metric === metric) return had;
  let l = LABEL_SETS.get(lk);
  if (!l) {
    if (LABEL_SETS.size >= MAX_INTERNED) LABEL_SETS.clear();
    LABEL_SETS.set(lk, (l = Object.freeze({ ...labels })));
  }
  const e: PlanEntry = Object.freeze({ metric, labels: l, slot, value });
  if (ENTRIES.size >= MAX_INTERNED) ENTRIES.clear();
  ENTRIES.set(key, e);
  return e;
}

function makeShape(id: number, frags: readonly string[]): Shape {
  let plan: PlanEntry[] | undefined;
  let byMetric: Map<string, readonly PlanEntry[]> | undefined;
  let interval: { slot: number; value: number } | undefined;
  /** The plan and the interval, from one parse of the shape. */
  const learn = () => {
    const parsed = parseShape(frags);
    const p: PlanEntry[] = [];
    forEachSample(parsed, (metric, labels, v) => p.push(planEntry(metric, labels, v instanceof Slot ? v.index : -1, v instanceof Slot ? 0 : v)));
    plan = p;
    const iv = (parsed as { iv?: unknown } | null)?.iv;
    interval = iv instanceof Slot ? { slot: iv.index, value: 0 } : { slot: -1, value: typeof iv === 'number' ? iv : 0 };
  };
  return {
    id,
    frags,
    n: frags.length - 1,
    plan() {
      if (!plan) learn();
      return plan!;
    },
    planOf(metric) {
      // Indexed one metric at a time, as asked: an index of every metric (hundreds of arrays)
      // was 77 KB a shape, most of a fleet's plans, for the one or two metrics a query reads.
      let l = byMetric?.get(metric);
      if (!l) {
        const all = this.plan();
        let n = 0;
        for (const e of all) if (e.metric.name === metric) n++;
        const found = n ? new Array<PlanEntry>(n) : undefined;
        if (found) for (let i = 0, k = 0; k < n; i++) if (all[i]!.metric.name === metric) found[k++] = all[i]!;
        l = found ?? NO_ENTRIES;
        (byMetric ??= new Map()).set(metric, l);
      }
      return l;
    },
    interval() {
      if (!interval) learn();
      return interval!;
    },
  };
}

const FRAG_SEPARATOR = '\u001f';

/** Shapes never change once written: cached per pool (bounded). */
const SHAPES = new WeakMap<object, Map<number, Shape>>();
const LEGACY = new Map<string, Shape>();
let legacyIds = 0;
const MAX_SHAPES = 20_000;

function shapeCache(pool: Queryable): Map<number, Shape> {
  let m = SHAPES.get(pool);
  if (!m) {
    m = new Map();
    SHAPES.set(pool, m);
  }
  return m;
}

/** The shapes with these ids (from the cache, the rest in one query). */
export async function loadShapes(pool: Queryable, ids: Iterable<number>): Promise<Map<number, Shape>> {
  const cache = shapeCache(pool);
  const out = new Map<number, Shape>();
  const missing: number[] = [];
  for (const id of new Set(ids)) {
    const s = cache.get(id);
    if (s) out.set(id, s);
    else missing.push(id);
  }
  if (missing.length) {
    let r;
    try {
      // The fragments joined by U+001F and split here: JSON text holds no raw control character
      // (the check constraint parses each shape as JSON), and node-postgres's parsing of a text[]
      // took 0.3 s of the first query over 1,000 hosts' shapes (4 MB of fragments).
      r = await pool.query<{ id: number; frags: string; n: number }>(
        `SELECT id, array_to_string(frags, E'\\x1f') AS frags, cardinality(frags) AS n FROM snapshot_shapes WHERE id = ANY($1::int[])`,
        [missing],
      );
    } catch (err) {
      throw wrapPgError(err, 'reading snapshot shapes');
    }
    if (cache.size + r.rows.length > MAX_SHAPES) cache.clear();
    for (const row of r.rows) {
      const frags = row.frags.split(FRAG_SEPARATOR);
      if (frags.length !== row.n) throw new StoreError('DB_QUERY_FAILED', `snapshot shape ${row.id} does not split back into its ${row.n} fragments (a NULL fragment, or one holding U+001F, which JSON text cannot)`);
      const s = makeShape(row.id, frags);
      cache.set(row.id, s);
      out.set(row.id, s);
    }
    const lost = missing.filter((id) => !out.has(id));
    if (lost.length) throw new StoreError('DB_QUERY_FAILED', `snapshot shape(s) ${lost.join(', ')} are missing: rows refer to shapes that do not exist`);
  }
  return out;
}

/** A stored row, decodable: its ts (ms), its shape and its values. */
export interface RawRow {
  hostId: number;
  ts: number;
  shape: Shape;
  vals: Uint8Array;
}

interface RowData {
  host_id: number;
  ms: number;
  shape_id: number | null;
  vals64: string | null;
  data_v1: Snapshot | null;
}

/**
 * The columns fetchRows expects, for a FROM snapshots s ... query. Values travel as base64: a
 * third less than bytea's hex text, and as fast to decode (node-postgres cannot take binary results).
 */
export const RAW_COLUMNS = `s.host_id, (extract(epoch FROM s.ts) * 1000)::float8 AS ms, s.shape_id, encode(s.vals, 'base64') AS vals64, s.data_v1`;

/** Runs a query selecting RAW_COLUMNS and returns the rows with their shapes. */
export async function fetchRows(pool: Queryable, text: string, values: unknown[], context: string): Promise<RawRow[]> {
  let r: pg.QueryResult<RowData>;
  try {
    r = await pool.query<RowData>(text, values);
  } catch (err) {
    throw wrapPgError(err, context);
  }
  const shapes = await loadShapes(pool, r.rows.filter((x) => x.shape_id !== null).map((x) => x.shape_id!));
  return r.rows.map((row) => {
    if (row.vals64 !== null && row.shape_id !== null) return { hostId: row.host_id, ts: row.ms, shape: shapes.get(row.shape_id)!, vals: Buffer.from(row.vals64, 'base64') };
    const enc = encodeSnapshot(row.data_v1!);
    let shape = LEGACY.get(enc.hash);
    if (!shape) {
      if (LEGACY.size > MAX_SHAPES) LEGACY.clear();
      shape = makeShape(-++legacyIds, enc.frags);
      LEGACY.set(enc.hash, shape);
    }
    // The row's ts column and the snapshot's ts agree (the writer made one from the other).
    return { hostId: row.host_id, ts: row.ms, shape, vals: enc.vals };
  });
}

/** The snapshot of a row. */
export function rowSnapshot(row: RawRow): Snapshot {
  return decodeSnapshot(row.shape.frags, row.vals, row.ts);
}

// ---- hosts ---------------------------------------------------------------------------------------

export interface HostInfo {
  id: number;
  name: string;
  labels: Record<string, string>;
  /** first and last snapshot written; null for a host registered by hand that has not written. */
  firstSeen: Date | null;
  lastSeen: Date | null;
}

/** Every host, by name. */
export async function listHosts(pool: Queryable): Promise<HostInfo[]> {
  try {
    const r = await pool.query<{ id: number; name: string; labels: Record<string, string>; first_seen: Date | null; last_seen: Date | null }>(
      'SELECT id, name, labels, first_seen, last_seen FROM hosts ORDER BY name',
    );
    return r.rows.map((h) => ({ id: h.id, name: h.name, labels: h.labels, firstSeen: h.first_seen, lastSeen: h.last_seen }));
  } catch (err) {
    throw wrapPgError(err, 'listing hosts');
  }
}

/** Host ids by name; names that are not registered are left out. 'all': every host. */
export async function hostIdsByName(pool: Queryable, names: readonly string[] | 'all'): Promise<Map<string, number>> {
  try {
    const r =
      names === 'all'
        ? await pool.query<{ id: number; name: string }>('SELECT id, name FROM hosts')
        : await pool.query<{ id: number; name: string }>('SELECT id, name FROM hosts WHERE name = ANY($1::text[])', [names]);
    return new Map(r.rows.map((h) => [h.name, h.id]));
  } catch (err) {
    throw wrapPgError(err, 'looking up hosts');
  }
}

function checkHostName(host: unknown): string {
  if (typeof host !== 'string' || host === '' || host.length > 253) throw new StoreError('INVALID_ARGUMENT', 'host must be a non-empty string of at most 253 characters');
  return host;
}

export function toMs(t: Date | number, what: string): number {
  const ms = typeof t === 'number' ? t : t instanceof Date ? t.getTime() : Number.NaN;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new StoreError('INVALID_ARGUMENT', `${what} must be a Date or Unix milliseconds`);
  return ms;
}

// ---- snapshots -------------------------------------------------------------------------------------

/** The newest snapshot of a host, exactly as the exporter made it; null when it has none. */
export async function latestSnapshot(pool: Queryable, host: string): Promise<Snapshot | null> {
  checkHostName(host);
  const rows = await fetchRows(
    pool,
    `SELECT ${RAW_COLUMNS}
       FROM hosts h JOIN snapshots s ON s.host_id = h.id
      WHERE h.name = $1 AND s.ts <= h.last_seen
      ORDER BY s.ts DESC LIMIT 1`,
    [host],
    `reading the latest snapshot of ${host}`,
  );
  return rows[0] ? rowSnapshot(rows[0]) : null;
}

export interface SnapshotsPageQuery {
  host: string;
  /** inclusive start, exclusive end. */
  from: Date | number;
  to: Date | number;
  /** nextCursor of the previous page; absent for the first. */
  cursor?: string | null;
  /** snapshots per page, 1..1000 (default 100). */
  limit?: number;
}

export interface SnapshotsPage {
  snapshots: Snapshot[];
  /** pass it back for the next page; null after the last. */
  nextCursor: string | null;
}

function encodeCursor(ts: number): string {
  return Buffer.from(JSON.stringify({ after: ts })).toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof v.after === 'number' && Number.isFinite(v.after)) return v.after;
  } catch {
    // fall through
  }
  throw new StoreError('INVALID_ARGUMENT', 'cursor is not one this store returned');
}

/** A host's snapshots in [from, to), oldest first, a page at a time (keyset on ts). */
export async function snapshotsPage(pool: Queryable, q: SnapshotsPageQuery): Promise<SnapshotsPage> {
  const host = checkHostName(q.host);
  const from = toMs(q.from, 'from');
  const to = toMs(q.to, 'to');
  const limit = q.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new StoreError('INVALID_ARGUMENT', `limit must be 1..1000 (got ${limit})`);
  const after = q.cursor ? decodeCursor(q.cursor) : undefined;
  const rows = await fetchRows(
    pool,
    `SELECT ${RAW_COLUMNS}
       FROM hosts h JOIN snapshots s ON s.host_id = h.id
      WHERE h.name = $1
        AND s.ts >= 'epoch'::timestamptz + $2::float8 * interval '1 millisecond'
        AND s.ts < 'epoch'::timestamptz + $3::float8 * interval '1 millisecond'
        AND ($4::float8 IS NULL OR s.ts > 'epoch'::timestamptz + $4::float8 * interval '1 millisecond')
      ORDER BY s.ts LIMIT $5`,
    [host, from, to, after ?? null, limit + 1],
    `reading snapshots of ${host}`,
  );
  const page = rows.slice(0, limit);
  return {
    snapshots: page.map(rowSnapshot),
    nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.ts) : null,
  };
}
