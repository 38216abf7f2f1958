/**
 * Samples for the PromQL engine (api/src/promql): the series that match a selector, as raw samples
 * (every stored snapshot's value, time-ordered) or as buckets (the 1h and 1m rollup tiers up to
 * each host's watermarks, the raw snapshots after them bucketed by minute here the same way
 * rollups.ts does).
 *
 * Only what a selector needs is read: the hosts it can match (host filter first, then those seen
 * in the time range), and per stored shape only the slots of the matching series are decoded
 * (the shape's plan is filtered once per shape and query). Long raw ranges are read in slices of
 * six hours so memory holds values, not rows.
 *
 * Labels handed to the selector and returned include `host`; the metric name is separate.
 */
import { availableParallelism } from 'node:os';
import pg from 'pg';
import type { Labels, MetricInfo } from './catalog.js';
import { metricInfo } from './catalog.js';
import { decodeSlots, payloadLength } from './codec.js';
import { statement } from './db.js';
import { StoreError, wrapPgError } from './errors.js';
import { floorTo, labelsKey, MAX_PAIR_GAP_MS, readWatermarks, rollupSegments, TIER_SPECS, type RollupTier, type TierSpec } from './rollups.js';
import { fetchRows, loadShapes, RAW_COLUMNS, type PlanEntry, type RawRow, type Shape } from './snapshots.js';

type Queryable = pg.Pool | pg.ClientBase;

export interface SampleSelector {
  /** the metric: an exact name (fast: SQL and plans filter on it), or a test of names. */
  metric: string | ((name: string) => boolean);
  /** host names the selector can match (a cheap pre-filter); the full test is `match`. */
  host?: (host: string) => boolean;
  /**
   * The only host names the selector can match, when its matchers pin them (`host="a"`): a
   * rollup read then fetches those hosts with their watermarks and series in one statement.
   */
  hostNames?: readonly string[];
  /** the whole test of a series: its metric name and its labels (host included). */
  match: (metric: string, labels: Labels) => boolean;
  /** Unix ms after which reading stops with DeadlineError (checked before each statement). */
  deadline?: number;
  /**
   * The selector's identity (its metric and matchers as text), when it has one: selectors with
   * the same key select the same series, so which samples of a shape it wants is worked out
   * once, not at every read (a fleet's 1,000 shapes: ~60 ms a read).
   */
  key?: string;
}

/** A read passed its selector's deadline. */
export class DeadlineError extends Error {
  constructor() {
    super('the read passed its deadline');
    this.name = 'DeadlineError';
  }
}

function checkDeadline(sel: SampleSelector): void {
  if (sel.deadline !== undefined && Date.now() >= sel.deadline) throw new DeadlineError();
}

export interface RawSeries {
  metric: MetricInfo;
  /** labels with host. */
  labels: Labels;
  /** sample times (Unix ms), ascending, and values. */
  t: number[];
  v: number[];
  /**
   * With `staleness`: when each sample goes stale unless a later sample of the series replaces it
   * (Infinity: not before the lookback ends it), as a Prometheus staleness marker would: at the
   * host's next snapshot when that snapshot lacks the series, or one interval after the sample
   * when the host's next snapshot came more than 1.5 intervals later (an outage) or not at all.
   */
  end?: number[];
}

/** RawSeries with its columns as Float64Array (readRawSamples' `typed`). */
export interface TypedRawSeries {
  metric: MetricInfo;
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
  end?: Float64Array;
}

export interface RawReadOptions {
  /** with each sample's end (RawSeries.end). */
  staleness?: boolean;
  /** now (Unix ms), for the live edge of staleness; default Date.now(). */
  now?: number;
  /** without staleness: only the samples inside these windows (lo, hi], sorted and disjoint. */
  spans?: readonly (readonly [number, number])[];
  /** with staleness, a selector evaluated at this one time: each host's last snapshot at or before it and the next. */
  latest?: number;
  /**
   * The columns as Float64Array (TypedRawSeries), as they were gathered: no copy into arrays of
   * numbers (the PromQL evaluator's reads; arrays of 1.9 million samples are a copy and garbage).
   */
  typed?: boolean;
}

/**
 * 1-minute buckets of one series, ascending by start. Counters: v1 first, v2 last value, v3 the
 * increase (pairs of samples at most MAX_PAIR_GAP_MS apart whose later sample is in the bucket, a
 * reset counting from zero). Gauges: v1 average, v2 min, v3 max. n: samples in the bucket.
 */
export interface BucketSeries {
  metric: MetricInfo;
  labels: Labels;
  start: number[];
  n: number[];
  v1: number[];
  v2: number[];
  v3: number[];
}

const SLICE_MS = 6 * 3_600_000;
// What a timestamptz can hold, about (years 1 to 9999).
const MIN_MS = -62_135_596_800_000;
const MAX_MS = 253_402_300_799_000;
const MINUTE = TIER_SPECS['1m'];

function iso(ms: number): string {
  return new Date(Math.min(MAX_MS, Math.max(MIN_MS, ms))).toISOString();
}

function nameTest(sel: SampleSelector): (name: string) => boolean {
  const m = sel.metric;
  return typeof m === 'string' ? (n) => n === m : m;
}

export interface HostSpan {
  name: string;
  /** first and last snapshot written (ms). */
  first: number;
  last: number;
}

/** Hosts that wrote in [from, to] and that the selector's host test admits, by id. */
export async function hostsInRange(pool: Queryable, from: number, to: number, host?: (h: string) => boolean): Promise<Map<number, HostSpan>> {
  try {
    const r = await pool.query<{ id: number; name: string; first: number; last: number }>(
      `SELECT id, name, (extract(epoch FROM first_seen) * 1000)::float8 AS first, (extract(epoch FROM last_seen) * 1000)::float8 AS last
         FROM hosts WHERE first_seen <= $2::timestamptz AND last_seen >= $1::timestamptz ORDER BY name`,
      [iso(Math.max(from, MIN_MS)), iso(Math.min(to, MAX_MS))],
    );
    return new Map(r.rows.filter((h) => !host || host(h.name)).map((h) => [h.id, { name: h.name, first: h.first, last: h.last }]));
  } catch (err) {
    throw wrapPgError(err, 'listing the hosts of a time range');
  }
}

interface ShapePick {
  /** `sink`: what the caller keeps for the entry's series during one read (readRawSamples: its columns). */
  entries: { slot: number; value: number; key: string; metric: MetricInfo; labels: Labels; sink?: unknown }[];
  /** the slots to decode, ascending: the entries', and the interval's when the picker was asked for it. */
  slots: Int32Array;
}

type Picker = (shape: Shape) => ShapePick;

/**
 * Picks of selectors with a key and one metric name, per shape (KEPT_PICKS of them at most, the
 * newest): a kept pick holds at most that metric's samples of the shape, so what is kept stays a
 * fraction of the shape's plan (a selector of every metric would hold all of it, once per key).
 */
const PICKS = new WeakMap<Shape, Map<string, ShapePick>>();
const KEPT_PICKS = 16;

/**
 * Which samples of a shape the selector wants (computed once per shape and call, or taken from
 * PICKS); `interval`: its slots include the snapshot's interval (staleness needs it). Each call
 * has entries of its own (their `sink` is the call's).
 */
function picker(sel: SampleSelector, host: string, interval: boolean): Picker {
  const cache = new Map<Shape, ShapePick>();
  const key = sel.key === undefined || typeof sel.metric !== 'string' ? undefined : `${interval ? 1 : 0}${host}\u0000${sel.key}`;
  return (shape) => {
    let p = cache.get(shape);
    if (!p) {
      let kept = key === undefined ? undefined : PICKS.get(shape);
      let q = key === undefined ? undefined : kept?.get(key);
      if (!q) {
        q = pickOf(sel, host, interval, shape);
        if (key !== undefined) {
          if (!kept) PICKS.set(shape, (kept = new Map()));
          if (kept.size >= KEPT_PICKS) kept.delete(kept.keys().next().value!);
          kept.set(key, q);
        }
      }
      p = { entries: q.entries.map((e) => ({ ...e })), slots: q.slots };
      cache.set(shape, p);
    }
    return p;
  };
}

function pickOf(sel: SampleSelector, host: string, interval: boolean, shape: Shape): ShapePick {
  const names = nameTest(sel);
  const entries: ShapePick['entries'] = [];
  for (const e of typeof sel.metric === 'string' ? shape.planOf(sel.metric) : shape.plan()) {
    if (!names(e.metric.name)) continue;
    const labels = { ...e.labels, host };
    if (!sel.match(e.metric.name, labels)) continue;
    entries.push({ slot: e.slot, value: e.value, key: `${e.metric.name}\u0000${labelsKey(labels)}`, metric: e.metric, labels });
  }
  const slots = new Set(entries.map((e) => e.slot).filter((i) => i >= 0));
  if (interval && shape.interval().slot >= 0) slots.add(shape.interval().slot);
  return { entries, slots: Int32Array.from([...slots].sort((a, b) => a - b)) };
}

/** How many leading slots of a row a pick needs (its last slot + 1). */
function prefixOf(slots: Int32Array): number {
  return slots.length ? slots[slots.length - 1]! + 1 : 0;
}

/**
 * Rows one at a time, as walkRaw decodes them (decodeSlots): the row's ts and shape, its bytes
 * `b`, where slot i's header is (b[hdr + i]), and where its payloads from slot `first` on are (b[pay], up to
 * `end`). Over rows read whole (fetchRows) or packed many to a buffer (packedRowsOfHosts), without
 * an object per row.
 */
interface RowCursor {
  next(): boolean;
  /** how many rows the cursor has in all. */
  count: number;
  ts: number;
  shape: Shape;
  hdr: number;
  b: Uint8Array;
  pay: number;
  end: number;
  first: number;
}

/** Over whole rows; the headers of each shape's newest row become its KNOWN_HEADERS at the end. */
function rowsCursor(rows: readonly RawRow[]): RowCursor {
  let i = -1;
  const newest = new Map<Shape, Uint8Array>();
  const c: RowCursor = {
    ts: 0, shape: undefined as unknown as Shape, hdr: 0, b: new Uint8Array(0), pay: 0, end: 0, first: 0, count: rows.length,
    next() {
      const row = rows[++i];
      if (!row) {
        // (An instant query's read over a fleet thus readies a range query's.)
        for (const [shape, vals] of newest) if (vals.length >= shape.n) KNOWN_HEADERS.set(shape, Uint8Array.prototype.slice.call(vals, 0, shape.n));
        newest.clear();
        return false;
      }
      newest.set(row.shape, row.vals);
      c.ts = row.ts;
      c.shape = row.shape;
      c.b = row.vals;
      c.pay = row.shape.n;
      c.end = row.vals.length;
      return true;
    },
  };
  return c;
}

/**
 * Walks a host's raw rows with ts in [from, to] in time order, slice by slice, calling `visit`
 * with each matching sample. `before`: also the last row before `from` (within MAX_PAIR_GAP_MS),
 * flagged as such (a counter's first increase reaches back to it). `spans`: only the rows inside
 * one of these windows (lo, hi], sorted and disjoint (the windows of a range function's steps).
 */
async function walkRaw(
  pool: Queryable, sel: SampleSelector, hostId: number, span: HostSpan, from: number, to: number, before: boolean,
  visit: (e: ShapePick['entries'][number], ts: number, value: number, isBefore: boolean, rows: number) => void,
  onRow?: (ts: number, intervalMs: number) => void,
  spans?: readonly (readonly [number, number])[],
  rows?: RowCursor | readonly RawRow[],
  pick0?: Picker,
): Promise<void> {
  const host = span.name;
  const pick = pick0 ?? picker(sel, host, onRow !== undefined);
  let vals = new Float64Array(0);
  const eat = async (rows: RowCursor | readonly RawRow[], isBefore: boolean) => {
    const breathe = breather();
    const c = 'next' in rows ? rows : rowsCursor(rows);
    while (c.next()) {
      const pause = breathe();
      if (pause) await pause;
      const p = pick(c.shape);
      if (!p.entries.length && !onRow) continue;
      if (vals.length < c.shape.n) vals = new Float64Array(c.shape.n);
      // Only the slots wanted: their payloads found by the headers before them.
      decodeSlots(c.b, c.hdr, c.pay, c.end, c.first, p.slots, c.ts, vals);
      if (onRow && !isBefore) {
        const iv = c.shape.interval();
        onRow(c.ts, (iv.slot < 0 ? iv.value : vals[iv.slot]!) * 1000);
      }
      for (const e of p.entries) visit(e, c.ts, e.slot < 0 ? e.value : vals[e.slot]!, isBefore, c.count);
    }
  };
  if (before) {
    await eat(
      await fetchRows(
        pool,
        `SELECT ${RAW_COLUMNS} FROM snapshots s WHERE s.host_id = $1 AND s.ts < $2::timestamptz AND s.ts >= $3::timestamptz ORDER BY s.ts DESC LIMIT 1`,
        [hostId, iso(from), iso(from - MAX_PAIR_GAP_MS)],
        `reading the snapshot of ${host} before ${iso(from)}`,
      ),
      true,
    );
  }
  if (rows) {
    // Read already, with other hosts' (readRawSamples: many hosts over a short range).
    await eat(rows, false);
    return;
  }
  // Only where the host has data: a range of centuries is a few slices, not millions.
  let k = 0;
  for (let a = Math.max(from, span.first), end = Math.min(to, span.last); a <= end; a += SLICE_MS) {
    checkDeadline(sel);
    const b = Math.min(end, a + SLICE_MS - 1);
    if (spans) {
      // The windows that reach into [a, b]: one statement reads each window's rows by the index.
      while (k < spans.length && spans[k]![1] < a) k++;
      const lo: number[] = [];
      const hi: number[] = [];
      for (let j = k; j < spans.length && spans[j]![0] < b; j++) {
        lo.push(Math.max(spans[j]![0], a - 1));
        hi.push(Math.min(spans[j]![1], b));
      }
      if (!lo.length) continue;
      await eat(
        await fetchRows(
          pool,
          // The slice's own bounds too: the planner then keeps only its partitions.
          `SELECT ${RAW_COLUMNS} FROM unnest($2::float8[], $3::float8[]) AS r(lo, hi)
             CROSS JOIN LATERAL (SELECT * FROM snapshots x WHERE x.host_id = $1
                                    AND x.ts >= $4::timestamptz AND x.ts <= $5::timestamptz
                                    AND x.ts > 'epoch'::timestamptz + r.lo * interval '1 millisecond'
                                    AND x.ts <= 'epoch'::timestamptz + r.hi * interval '1 millisecond') s
            ORDER BY s.ts`,
          [hostId, lo, hi, iso(a), iso(b)],
          `reading snapshots of ${host}`,
        ),
        false,
      );
      continue;
    }
    await eat(
      await fetchRows(
        pool,
        `SELECT ${RAW_COLUMNS} FROM snapshots s WHERE s.host_id = $1 AND s.ts >= $2::timestamptz AND s.ts <= $3::timestamptz ORDER BY s.ts`,
        [hostId, iso(a), iso(b)],
        `reading snapshots of ${host}`,
      ),
      false,
    );
  }
}

/**
 * A loop's pause: every `every` items (rows: 64), when more than 10 ms have passed since the
 * last one, the event loop runs (other requests of the process) before the loop goes on. Long
 * reads decode megabytes between two statements; they share the thread instead of holding it.
 */
function breather(every = 64): () => Promise<void> | undefined {
  let last = performance.now();
  let i = 0;
  return () => {
    if (++i % every !== 0 || performance.now() - last < 10) return undefined;
    return new Promise<void>((resolve) => setImmediate(() => {
      last = performance.now();
      resolve();
    }));
  };
}

/** More samples than a read may load (readRawSamples' limit). */
export class SampleLimitError extends Error {
  constructor(readonly limit: number) {
    super(`the selection holds more than ${limit} samples`);
    this.name = 'SampleLimitError';
  }
}

/** From this many hosts on, a short read fetches the rows of many hosts per statement. */
const MANY_HOSTS = 8;
const HOSTS_PER_STATEMENT = 250;
/**
 * Statements of one read at once: as many as this machine has CPUs, 2 to 4. Four at once on 2
 * CPUs (PostgreSQL's and the api's) cost PostgreSQL ~640 ms of CPU per 10-minute range over 1,000
 * hosts against ~470 with two (bench/promql-fleet.ts, alternating; the rows of 250 hosts share
 * heap pages with every other chunk's, and four statements at once thrash the buffer pool more),
 * and were no faster.
 */
const STATEMENTS_AT_ONCE = Math.min(4, Math.max(2, availableParallelism()));

type Rows = Awaited<ReturnType<typeof fetchRows>>;

/** One statement per HOSTS_PER_STATEMENT hosts, up to STATEMENTS_AT_ONCE of them at a time. */
async function inChunks<T>(sel: SampleSelector, ids: number[], read: (chunk: number[]) => Promise<T>): Promise<T[]> {
  const chunks: number[][] = [];
  for (let i = 0; i < ids.length; i += HOSTS_PER_STATEMENT) chunks.push(ids.slice(i, i + HOSTS_PER_STATEMENT));
  const out: T[] = new Array(chunks.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < chunks.length; i = next++) {
      checkDeadline(sel);
      out[i] = await read(chunks[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(STATEMENTS_AT_ONCE, chunks.length) }, worker));
  return out;
}

function byHostOf(results: Rows[]): Map<number, Rows> {
  const byHost = new Map<number, Rows>();
  for (const rows of results) {
    for (const row of rows) {
      let l = byHost.get(row.hostId);
      if (!l) byHost.set(row.hostId, (l = []));
      l.push(row);
    }
  }
  return byHost;
}

/** Shapes of a fleet's hosts planned before a packed read at most (the newest first); rows of others come whole. */
const MAX_PLANNED_SHAPES = 5_000;
// A slot's payload is at most 8 bytes (a raw double; a scale byte and 7 of mantissa).
const MAX_PAYLOAD = 8;
/** A packed row's form (its first byte). */
const WHOLE = 0;
const PREFIX = 1;
const KNOWN = 2;

/**
 * Per shape, the headers of its slots as the last packed read saw them in its newest row (up to
 * the last slot that read wanted). The next read sends those before the first slot it wants and
 * the database compares: a row whose headers there are the same needs only its headers and
 * payloads from that slot on, the payloads' offset given by the headers before. (Those of the
 * wanted slots themselves change too often to be known: a counter's scale is that of its
 * shortest decimal, 12.3 or 12.34 from one snapshot to the next.)
 */
const KNOWN_HEADERS = new WeakMap<Shape, Uint8Array>();

/** What a packed read asks of the rows of one shape. */
interface ShapeCut {
  /** slots [0, k) are needed (the last wanted slot + 1); `first`: the first wanted slot (k when none). */
  k: number;
  first: number;
  /** headers of the slots before `first` as known, and the payload offset of slot `first` they give. */
  known?: { h: Uint8Array; offset: number };
}

/**
 * The rows of these hosts in [from, to] (ms), packed: one result row per host, its snapshots in
 * time order in one bytea (as base64), each as its ts (timestamptz_send), int4 shape id, int4
 * length, then one byte saying which form, and the values. A statement per HOSTS_PER_STATEMENT
 * hosts (an instant query over a fleet of 1,000 hosts is then 4 statements, not 1,000), and of each
 * snapshot only the bytes the selector's slots need (`picks`, per host), in one of three forms:
 *   PREFIX   the first k headers (k past the last slot wanted) and the first 8k bytes of the
 *           payloads, which hold those of the k slots (a CPU selector: about 550 of a 2-CPU
 *           snapshot's 1,430 bytes); its headers are then known for the next read;
 *   KNOWN   the headers before the first slot wanted, f, are those this process saw last in the
 *           shape (KNOWN_HEADERS, compared by the database): the headers of slots [f, k) and
 *           8(k - f) bytes of payloads from slot f's, whose offset those before give (about 180
 *           bytes: the 40 collector durations before the CPU values are skipped);
 *   WHOLE    the row as stored, for a shape not planned before the statement (more than
 *           MAX_PLANNED_SHAPES of them, or new since).
 * Values decode the same from each form (decodeSlots), bit for bit.
 *
 * Per row, node-postgres's cost was the rows' objects, their base64 strings and buffers, and
 * their garbage collection (a 10-minute read of 1,000 hosts: 120,000 rows, 230 MB of base64,
 * most of the 2.0-2.5 s the query took). A host with rows stored as JSONB (before migration
 * 0003) is 'legacy': the caller reads it as before.
 */
async function packedRowsOfHosts(
  pool: Queryable, sel: SampleSelector, ids: number[], picks: Map<number, Picker>, from: number, to: number,
  deliver: (hostId: number, rows: RowCursor | 'legacy') => void,
): Promise<void> {
  let shapes: Map<number, Shape>;
  const cuts = new Map<number, ShapeCut>();
  const hostOfShape = new Map<number, number>();
  try {
    const listed = await pool.query<{ id: number; host_id: number }>('SELECT id, host_id FROM snapshot_shapes WHERE host_id = ANY($1::int[]) ORDER BY id DESC LIMIT $2', [ids, MAX_PLANNED_SHAPES]);
    shapes = await loadShapes(pool, listed.rows.map((r) => r.id));
    for (const r of listed.rows) {
      const shape = shapes.get(r.id)!;
      const slots = picks.get(r.host_id)!(shape).slots;
      const k = prefixOf(slots);
      const cut: ShapeCut = { k, first: slots.length ? slots[0]! : k };
      const h = KNOWN_HEADERS.get(shape);
      if (h && h.length >= cut.first && cut.first > 0) {
        const known = h.subarray(0, cut.first);
        cut.known = { h: known, offset: known.reduce((sum, x) => sum + payloadLength(x), 0) };
      }
      cuts.set(r.id, cut);
      hostOfShape.set(r.id, r.host_id);
    }
  } catch (err) {
    throw wrapPgError(err, 'planning a read of many hosts');
  }
  // Each host's shapes, for slicing the cut arrays per host in the statement (a host's rows are
  // joined to its own few shapes, not to every planned shape of the fleet at each host).
  const shapesOf = new Map<number, number[]>();
  for (const [id, hostId] of hostOfShape) {
    let l = shapesOf.get(hostId);
    if (!l) shapesOf.set(hostId, (l = []));
    l.push(id);
  }
  // Each statement's hosts are handed on as soon as it has come (and its shapes are known), to be
  // decoded while the database works on the next ones.
  await inChunks(sel, ids, async (chunk) => {
    const buffers: [number, Buffer][] = [];
    // The chunk's cuts, host by host: host i's shapes are elements lo[i]..hi[i] (1-based) of each.
    const lo: number[] = [];
    const hi: number[] = [];
    const cutIds: number[] = [];
    for (const hostId of chunk) {
      lo.push(cutIds.length + 1);
      for (const id of shapesOf.get(hostId) ?? []) cutIds.push(id);
      hi.push(cutIds.length);
    }
    const col = <T>(f: (c: ShapeCut) => T) => cutIds.map((id) => f(cuts.get(id)!));
    const params = [
      lo, hi, cutIds, cutIds.map((id) => shapes.get(id)!.n), col((c) => c.k),
      col((c) => c.first), col((c) => (c.known ? Buffer.from(c.known.h.buffer, c.known.h.byteOffset, c.known.h.length) : null)), col((c) => c.known?.offset ?? 0),
    ];
    try {
      // Host by host (LATERAL): each host's rows come by the index and are aggregated alone; one
      // GROUP BY over the chunk sorted all its rows, values included, on disk (43 MB for 250
      // hosts). The ts as timestamptz_send's int8 (µs since 2000): extract(epoch)'s numeric cost more.
      await eachRow<{ host_id: number; legacy: boolean | null; packed: string | null }>(
        pool,
        `SELECT h.id AS host_id, p.legacy, encode(p.packed, 'base64') AS packed
           FROM unnest($1::int[], $4::int[], $5::int[]) AS h(id, lo, hi)
           CROSS JOIN LATERAL (
             SELECT bool_or(s.vals IS NULL) AS legacy,
                    string_agg(timestamptz_send(s.ts) || int4send(s.shape_id) || int4send(octet_length(x.v)) || x.v, ''::bytea ORDER BY s.ts) AS packed
               FROM snapshots s
               LEFT JOIN unnest(($6::int[])[h.lo:h.hi], ($7::int[])[h.lo:h.hi], ($8::int[])[h.lo:h.hi], ($9::int[])[h.lo:h.hi], ($10::bytea[])[h.lo:h.hi], ($11::int[])[h.lo:h.hi]) AS c(id, n, k, f, h, o) ON c.id = s.shape_id
               CROSS JOIN LATERAL (SELECT CASE
                   WHEN c.id IS NULL THEN '\\x0${WHOLE}'::bytea || s.vals
                   WHEN c.h IS NOT NULL AND substring(s.vals FROM 1 FOR c.f) = c.h
                     THEN '\\x0${KNOWN}'::bytea || substring(s.vals FROM c.f + 1 FOR c.k - c.f) || substring(s.vals FROM c.n + 1 + c.o FOR ${MAX_PAYLOAD} * (c.k - c.f))
                   ELSE '\\x0${PREFIX}'::bytea || substring(s.vals FROM 1 FOR c.k) || substring(s.vals FROM c.n + 1 FOR ${MAX_PAYLOAD} * c.k) END AS v) x
              WHERE s.host_id = h.id AND s.ts >= $2::timestamptz AND s.ts <= $3::timestamptz) p`,
        [chunk, iso(from), iso(to), ...params],
        // Each host's base64 into bytes as it arrives: the strings die young instead of living
        // (and being copied by the collector) until the statement's last row.
        (row) => {
          if (row.legacy) deliver(row.host_id, 'legacy');
          else if (row.packed !== null) buffers.push([row.host_id, Buffer.from(row.packed, 'base64')]);
        },
      );
    } catch (err) {
      throw wrapPgError(err, 'reading snapshots of many hosts');
    }
    const unplanned = new Set<number>();
    const counts = buffers.map(([, b]) => {
      let n = 0;
      for (let p = 0; p < b.length; p += 16 + b.readInt32BE(p + 12), n++) {
        const id = b.readInt32BE(p + 8);
        if (!shapes.has(id)) unplanned.add(id);
      }
      return n;
    });
    if (unplanned.size) for (const [id, shape] of await loadShapes(pool, unplanned)) shapes.set(id, shape);
    buffers.forEach(([hostId, b], i) => deliver(hostId, packedCursor(b, counts[i]!, shapes, cuts)));
  });
}

/**
 * Runs a statement and hands each row to `each` as it arrives; node-postgres keeps none (its
 * result would hold every row until the last came).
 */
async function eachRow<R extends pg.QueryResultRow>(pool: Queryable, text: string, values: unknown[], each: (row: R) => void): Promise<void> {
  const client = pool instanceof pg.Pool ? await pool.connect() : pool;
  try {
    await new Promise<void>((resolve, reject) => {
      let failed: unknown;
      const q = new pg.Query<R>(text, values);
      q.on('row', (row: R) => {
        if (failed !== undefined) return;
        try {
          each(row);
        } catch (err) {
          failed = err;
        }
      });
      q.on('error', reject);
      q.on('end', () => (failed === undefined ? resolve() : reject(failed as Error)));
      client.query(q);
    });
  } finally {
    if (client !== pool) (client as pg.PoolClient).release();
  }
}

const PG_EPOCH_US = 946_684_800_000_000;

/**
 * The Unix ms of a timestamptz_send value at p (int8 µs since 2000-01-01): the double that
 * (extract(epoch FROM ts) * 1000)::float8 gives, the exact decimal correctly rounded (an exact
 * integer over 1000 is; beyond 2^53 µs, as text, which Number also rounds correctly).
 */
function pgTimestampMs(b: Buffer, p: number): number {
  const us = b.readInt32BE(p) * 4_294_967_296 + b.readUInt32BE(p + 4);
  const x = us + PG_EPOCH_US;
  if (Math.abs(us) <= Number.MAX_SAFE_INTEGER && Math.abs(x) <= Number.MAX_SAFE_INTEGER) return x / 1000;
  const big = b.readBigInt64BE(p) + BigInt(PG_EPOCH_US);
  const abs = big < 0n ? -big : big;
  return Number(`${big < 0n ? '-' : ''}${abs / 1000n}.${String(abs % 1000n).padStart(3, '0')}`);
}

/**
 * The rows of a packed buffer (packedRowsOfHosts). The headers of each shape's newest PREFIX row
 * become its KNOWN_HEADERS once the cursor has gone through them.
 */
function packedCursor(b: Buffer, count: number, shapes: Map<number, Shape>, cuts: Map<number, ShapeCut>): RowCursor {
  let p = 0;
  const learned = new Map<Shape, [number, number]>();
  const c: RowCursor = {
    ts: 0, shape: undefined as unknown as Shape, hdr: 0, b, pay: 0, end: 0, first: 0, count,
    next() {
      if (p >= b.length) {
        for (const [shape, [at, k]] of learned) {
          // Longer headers known that agree stay (another selector's read wants more of them).
          const had = KNOWN_HEADERS.get(shape);
          if (!had || had.length <= k || Buffer.compare(b.subarray(at, at + k), had.subarray(0, k)) !== 0) KNOWN_HEADERS.set(shape, Uint8Array.prototype.slice.call(b, at, at + k));
        }
        learned.clear();
        return false;
      }
      c.ts = pgTimestampMs(b, p);
      const id = b.readInt32BE(p + 8);
      const len = b.readInt32BE(p + 12);
      const form = b[p + 16];
      const at = p + 17;
      c.end = p + 16 + len;
      if (len < 1 || c.end > b.length) throw new StoreError('DB_QUERY_FAILED', 'a packed read of snapshots ends inside a row');
      c.shape = shapes.get(id)!;
      const cut = cuts.get(id);
      if (form === KNOWN && cut?.known) {
        // slot i's header at b[at + i - first]
        c.hdr = at - cut.first;
        c.pay = at + cut.k - cut.first;
        c.first = cut.first;
      } else if (form === PREFIX && cut) {
        c.hdr = at;
        c.pay = at + cut.k;
        c.first = 0;
        learned.set(c.shape, [at, cut.k]);
      } else if (form === WHOLE) {
        c.hdr = at;
        c.pay = at + c.shape.n;
        c.first = 0;
      } else throw new StoreError('DB_QUERY_FAILED', `a packed read of snapshots has a row of form ${form} for shape ${id}`);
      p = c.end;
      return true;
    },
  };
  return c;
}

/**
 * For one evaluation time t: each host's last row in [from, t] and its first row in (t, to], all
 * a selector evaluated at t needs (the last sample of each series, and whether it went stale:
 * the next snapshot lacking it, or coming too late), instead of every row of the lookback.
 */
async function latestRowsOfHosts(pool: Queryable, sel: SampleSelector, ids: number[], from: number, t: number, to: number): Promise<Map<number, Awaited<ReturnType<typeof fetchRows>>>> {
  const byHost = byHostOf(await inChunks(sel, ids, (chunk) =>
    fetchRows(
      pool,
      // Host by host, each row found by the index (LIMIT 1): a DISTINCT ON over the chunk sorted
      // every row of the lookback, values encoded, on disk when the table's statistics were
      // stale (170 ms a chunk of 250 hosts, against 13 ms this way).
      `SELECT s.* FROM unnest($1::int[]) AS h(id) CROSS JOIN LATERAL (
         (SELECT ${RAW_COLUMNS} FROM snapshots s
           WHERE s.host_id = h.id AND s.ts >= $2::timestamptz AND s.ts <= $3::timestamptz ORDER BY s.ts DESC LIMIT 1)
         UNION ALL
         (SELECT ${RAW_COLUMNS} FROM snapshots s
           WHERE s.host_id = h.id AND s.ts > $3::timestamptz AND s.ts <= $4::timestamptz ORDER BY s.ts LIMIT 1)) s`,
      [chunk, iso(from), iso(t), iso(to)],
      'reading the latest snapshots of hosts',
    ),
  ));
  for (const l of byHost.values()) l.sort((a, b) => a.ts - b.ts);
  return byHost;
}

/**
 * Raw samples of every series matching the selector with ts in [from, to] (ms), by series.
 * Throws SampleLimitError as soon as more than `limit` samples are loaded. `spans` (without
 * staleness): only the samples inside these windows (lo, hi], sorted and disjoint. `latest` (with
 * staleness, for a selector evaluated at that one time): only each host's last snapshot at or
 * before it and the one after (which tells whether the last samples went stale).
 */
export function readRawSamples(pool: pg.Pool, sel: SampleSelector, from: number, to: number, limit: number | undefined, opts: RawReadOptions & { typed: true }): Promise<TypedRawSeries[]>;
export function readRawSamples(pool: pg.Pool, sel: SampleSelector, from: number, to: number, limit?: number, opts?: RawReadOptions): Promise<RawSeries[]>;
export async function readRawSamples(
  pool: pg.Pool, sel: SampleSelector, from: number, to: number, limit = Number.POSITIVE_INFINITY, opts: RawReadOptions = {},
): Promise<(RawSeries | TypedRawSeries)[]> {
  checkDeadline(sel);
  // A host's last snapshot read is followed by an outage when no snapshot came within 1.5
  // intervals, which is known only up to `to`, and only once that time has passed (the live edge:
  // the next snapshot may still be on its way).
  const known = Math.min(to, opts.now ?? Date.now());
  const hosts = await hostsInRange(pool, from, to, sel.host);
  const out = new Map<string, Building>();
  const slab = new Slab();
  let loaded = 0;
  const picks = new Map([...hosts].map(([id, h]) => [id, picker(sel, h.name, opts.staleness === true)]));
  /** One host's samples: from `rows` when read with other hosts', else read here (undefined). */
  const walkHost = async (id: number, span: HostSpan, rows: RowCursor | readonly RawRow[] | undefined) => {
    // Staleness: the series of the host's previous snapshot, and that snapshot's time and interval.
    let cur: Building[] = [];
    let prevTs = Number.NaN;
    let prevIv = 0;
    const closeRow = (ts: number, iv: number) => {
      // `cur` holds the series of the row at prevTs; a new row at ts (NaN: no more rows up to `to`).
      // (A snapshot without a known interval never goes stale: the lookback ends it.)
      const outage = prevIv > 0 && (Number.isNaN(ts) ? prevTs + 1.5 * prevIv <= known : ts - prevTs > 1.5 * prevIv);
      if (outage) for (const s of cur) s.end!.setLast(prevTs + prevIv);
      // A regular next snapshot: the series it lacks go stale at its time (those it has are
      // replaced by their new sample then, so the end can be set for all).
      if (!Number.isNaN(ts) && !outage && prevIv > 0) for (const s of cur) s.end!.setLast(ts);
      cur = [];
      prevTs = ts;
      prevIv = iv;
    };
    await walkRaw(
      pool, sel, id, span, from, to, false,
      (e, ts, v, _isBefore, hint) => {
        if (++loaded > limit) throw new SampleLimitError(limit);
        // The entry's series, found by its key once per read (entries are this read's own).
        let s = e.sink as Building | undefined;
        if (!s) {
          s = out.get(e.key);
          if (!s) out.set(e.key, (s = { metric: e.metric, labels: e.labels, t: new Column(hint, slab), v: new Column(hint, slab), ...(opts.staleness ? { end: new Column(hint, slab) } : {}) }));
          e.sink = s;
        }
        s.t.push(ts);
        s.v.push(v);
        if (opts.staleness) {
          s.end!.push(Number.POSITIVE_INFINITY);
          cur.push(s);
        }
      },
      // (Before the first row `cur` is empty: closing it only records the row.)
      opts.staleness ? closeRow : undefined,
      opts.staleness ? undefined : opts.spans,
      rows,
      picks.get(id),
    );
    if (opts.staleness) closeRow(Number.NaN, 0);
  };
  if (opts.latest !== undefined) {
    const batched = await latestRowsOfHosts(pool, sel, [...hosts.keys()], from, opts.latest, to);
    await Promise.all([...hosts].map(([id, span]) => walkHost(id, span, batched.get(id) ?? [])));
  } else if (hosts.size > MANY_HOSTS && to - from <= SLICE_MS && !opts.spans) {
    // Hosts as their statement delivers them (none: no rows in the range); a host with JSONB rows
    // (before migration 0003) is read by itself.
    const walks: Promise<void>[] = [];
    const done = packedRowsOfHosts(pool, sel, [...hosts.keys()], picks, from, to, (id, rows) => {
      const w = walkHost(id, hosts.get(id)!, rows === 'legacy' ? undefined : rows);
      // Handled (by Promise.all below) even when it fails before the statements end.
      w.catch(() => undefined);
      walks.push(w);
    });
    await done;
    await Promise.all(walks);
  } else {
    await Promise.all([...hosts].map(([id, span]) => walkHost(id, span, undefined)));
  }
  const series: (RawSeries | TypedRawSeries)[] = [];
  const breathe = breather(1);
  for (const s of out.values()) {
    const pause = breathe();
    if (pause) await pause;
    series.push(opts.typed
      ? { metric: s.metric, labels: s.labels, t: s.t.toFloat64(), v: s.v.toFloat64(), ...(s.end ? { end: s.end.toFloat64() } : {}) }
      : { metric: s.metric, labels: s.labels, t: s.t.toArray(), v: s.v.toArray(), ...(s.end ? { end: s.end.toArray() } : {}) });
  }
  return series;
}

/**
 * A column of numbers built in chunks: growing one array of millions of samples copies it again
 * and again (every series of a read at once, since they grow in step), holding the thread for
 * hundreds of milliseconds late in a long read; chunks are copied once, at the end.
 */
const COLUMN_CHUNK = 16_384;

/**
 * Float64Arrays for a read's many short columns, cut from large ones: a fleet's read has tens of
 * thousands of series of ~100 samples, and a typed array apiece costs an allocation outside the
 * heap each, which V8 counts toward starting a full collection. Views cut from blocks (4K
 * doubles, doubling up to 64K) cost neither; a block lives while any of its columns does (all of
 * one read's).
 */
class Slab {
  private block = new Float64Array(0);
  private pos = 0;
  // (blocks grow from 4K doubles: a small read does not pay for zeroing half a megabyte)
  private size = 4_096;
  take(n: number): Float64Array {
    if (this.pos + n > this.block.length) {
      this.block = new Float64Array(Math.max(n, this.size));
      this.size = Math.min(2 * this.size, SLAB_DOUBLES);
      this.pos = 0;
    }
    const out = this.block.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}
const SLAB_DOUBLES = 65_536;

class Column {
  private full: Float64Array[] = [];
  private cur: Float64Array;
  private len = 0;
  /**
   * `hint`: the samples expected (the rows of the host read), so that the array is made once,
   * not grown. Typed arrays: their bytes live outside the JS heap, so a read's millions of
   * samples are not copied by the young generation's collections as they pile up.
   */
  constructor(hint: number, slab: Slab) {
    this.cur = slab.take(Math.min(Math.max(hint, 16), COLUMN_CHUNK));
  }
  push(x: number): void {
    if (this.len === this.cur.length) {
      if (this.len < COLUMN_CHUNK) {
        const next = new Float64Array(Math.min(this.len * 2, COLUMN_CHUNK));
        next.set(this.cur);
        this.cur = next;
      } else {
        this.full.push(this.cur);
        this.cur = new Float64Array(COLUMN_CHUNK);
        this.len = 0;
      }
    }
    this.cur[this.len++] = x;
  }
  setLast(x: number): void {
    this.cur[this.len - 1] = x;
  }
  toFloat64(): Float64Array {
    if (!this.full.length) return this.cur.subarray(0, this.len);
    const out = new Float64Array(this.full.length * COLUMN_CHUNK + this.len);
    let k = 0;
    for (const c of this.full) {
      out.set(c, k);
      k += c.length;
    }
    out.set(this.cur.subarray(0, this.len), k);
    return out;
  }
  toArray(): number[] {
    return Array.from(this.toFloat64());
  }
}

interface Building {
  metric: MetricInfo;
  labels: Labels;
  t: Column;
  v: Column;
  end?: Column;
}

interface SeriesRow {
  id: number;
  host_id: number;
  metric: string;
  labels: Labels;
  counter: boolean;
}

/** The rolled-up series of these hosts (of one metric when `exact` is a name), by host id. */
async function rolledSeries(pool: pg.Pool, hostIds: number[], exact: string | null): Promise<Map<number, SeriesRow[]>> {
  const r = await pool.query<SeriesRow>(`SELECT id, host_id, metric, labels, counter FROM series WHERE host_id = ANY($1::int[]) AND ($2::text IS NULL OR metric = $2)`, [hostIds, exact]);
  const byHost = new Map<number, SeriesRow[]>();
  for (const row of r.rows) {
    let l = byHost.get(row.host_id);
    if (!l) byHost.set(row.host_id, (l = []));
    l.push(row);
  }
  return byHost;
}

interface BucketSources {
  hosts: Map<number, HostSpan>;
  /** readWatermarks' map. */
  wms: Map<string, number>;
  seriesRows: Map<number, SeriesRow[]>;
}

/** What a rollup read starts from: the range's hosts, then their watermarks and series (two round trips). */
async function hostsSources(pool: pg.Pool, sel: SampleSelector, from: number, to: number, exact: string | null): Promise<BucketSources> {
  const hosts = await hostsInRange(pool, from, to, sel.host);
  if (!hosts.size) return { hosts, wms: new Map(), seriesRows: new Map() };
  const ids = [...hosts.keys()];
  const [wms, seriesRows] = await Promise.all([
    readWatermarks(pool, ids),
    rolledSeries(pool, ids, exact).catch((err: unknown) => { throw wrapPgError(err, 'looking up series'); }),
  ]);
  return { hosts, wms, seriesRows };
}

/** A short rollup read names its partitions itself when it spans at most this many. */
const DIRECT_PARTITIONS_MAX = 3;
/** How long a pool's list of rollup partitions is trusted before it is read again. */
const PARTITIONS_MAX_AGE_MS = 60_000;

interface PartitionList {
  names: Set<string>;
  at: number;
  loading?: Promise<void>;
}
const PARTITIONS = new WeakMap<pg.Pool, PartitionList>();

/**
 * The partitions of a tier that hold blocks starting in [lo, b), by their names
 * (ensure_rollup_partitions: rollups_1m_YYYYMMDD per UTC day, rollups_1h_YYYYMM per UTC month),
 * when there are at most DIRECT_PARTITIONS_MAX and the pool's list of partitions, read at most
 * PARTITIONS_MAX_AGE_MS ago, has every one of them; else undefined (the parent table is read).
 * Why: a prepared statement over the parent is planned anew at each run (PostgreSQL prunes its
 * partitions in a custom plan and rates the generic one, over every partition, as costlier):
 * 0.3-0.5 ms of the ~0.8 ms a day's read of one series takes in PostgreSQL. Over its own
 * partitions the generic plan is as cheap, and PostgreSQL keeps it after five runs. A partition
 * not in the list is never left out: the parent is read instead (and the list read again in the
 * background); one dropped since (retention) fails the statement with 42P01, and fetchTier then
 * reads the parent.
 */
export function tierPartitions(pool: pg.Pool, spec: TierSpec, lo: number, b: number): string[] | undefined {
  const list = PARTITIONS.get(pool);
  if (!list || Date.now() - list.at > PARTITIONS_MAX_AGE_MS) {
    loadPartitions(pool);
    if (!list) return undefined;
  }
  const names: string[] = [];
  const d = new Date(lo);
  if (spec.tier === '1m') {
    for (let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()); t < b; t += 86_400_000) {
      if (names.length === DIRECT_PARTITIONS_MAX) return undefined;
      names.push(`rollups_1m_${new Date(t).toISOString().slice(0, 10).replaceAll('-', '')}`);
    }
  } else {
    for (let y = d.getUTCFullYear(), m = d.getUTCMonth(); Date.UTC(y, m) < b; m === 11 ? ((m = 0), y++) : m++) {
      if (names.length === DIRECT_PARTITIONS_MAX) return undefined;
      names.push(`rollups_1h_${y}${String(m + 1).padStart(2, '0')}`);
    }
  }
  return names.length > 0 && names.every((n) => list.names.has(n)) ? names : undefined;
}

/** Reads the pool's rollup partitions again, in the background (a failure leaves the old list). */
function loadPartitions(pool: pg.Pool): void {
  const list = PARTITIONS.get(pool);
  if (list?.loading) return;
  const loading = pool
    .query<{ relname: string }>(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent IN (to_regclass('rollups_1m'), to_regclass('rollups_1h'))`,
    )
    .then(
      (r) => void PARTITIONS.set(pool, { names: new Set(r.rows.map((x) => x.relname)), at: Date.now() }),
      () => {
        const l = PARTITIONS.get(pool);
        if (l) delete l.loading;
      },
    );
  if (list) list.loading = loading;
  else PARTITIONS.set(pool, { names: new Set(), at: -Infinity, loading });
}

/** Forgets the pool's list of partitions (read again at the next read). */
export function forgetPartitions(pool: pg.Pool): void {
  PARTITIONS.delete(pool);
}

/** Resolves once the pool's list of rollup partitions has been read (`again`: read anew; tests). */
export async function partitionsLoaded(pool: pg.Pool, again = false): Promise<void> {
  if (again) forgetPartitions(pool);
  if (!PARTITIONS.get(pool)) loadPartitions(pool);
  await PARTITIONS.get(pool)?.loading;
}

/**
 * `= ANY(array)`, or `= array[1]` for an array of one: a prepared statement whose plan takes
 * `= ANY($n)` (or `$n IS NULL OR ...`) is planned anew at each run, PostgreSQL rating its generic
 * plan (costed for an array of unknown length) above the custom ones; bound to one value, the
 * generic plan wins after five runs and binding costs ~0.02 ms instead of 0.25-0.5 ms of planning
 * (the rollup read's partitions pruned when it runs). A one-series read of one host (a panel of a
 * host dashboard) is the common case.
 */
function anyOf(param: string, n: number): string {
  return n === 1 ? `= (${param})[1]` : `= ANY(${param})`;
}

/**
 * hostsSources for a selector that names its hosts: the same facts in one statement (a query's
 * answer waits for each round trip; a dashboard's panels name their host).
 */
async function namedHostsSources(pool: pg.Pool, sel: SampleSelector, names: readonly string[], from: number, to: number, exact: string | null): Promise<BucketSources> {
  type Row = { id: number; name: string; first: number; last: number; wms: [RollupTier, number][] | null; series: [number, string, Labels, boolean][] | null };
  let r: pg.QueryResult<Row>;
  // One text per shape (one host or several, a metric or any: anyOf), so that
  // PostgreSQL settles on a generic plan instead of planning the statement at each run.
  const values: unknown[] = [iso(Math.max(from, MIN_MS)), iso(Math.min(to, MAX_MS)), names];
  if (exact !== null) values.push(exact);
  try {
    r = await pool.query<Row>(statement(pool,
      `SELECT h.id, h.name, (extract(epoch FROM h.first_seen) * 1000)::float8 AS first, (extract(epoch FROM h.last_seen) * 1000)::float8 AS last,
              (SELECT json_agg(json_build_array(w.tier, (extract(epoch FROM w.watermark) * 1000)::float8)) FROM rollup_watermarks w WHERE w.host_id = h.id) AS wms,
              (SELECT json_agg(json_build_array(s.id, s.metric, s.labels, s.counter)) FROM series s WHERE s.host_id = h.id${exact === null ? '' : ' AND s.metric = $4'}) AS series
         FROM hosts h WHERE h.name ${anyOf('$3::text[]', names.length)} AND h.first_seen <= $2::timestamptz AND h.last_seen >= $1::timestamptz ORDER BY h.name`,
      values,
    ));
  } catch (err) {
    throw wrapPgError(err, 'looking up the hosts and series of a rollup read');
  }
  const out: BucketSources = { hosts: new Map(), wms: new Map(), seriesRows: new Map() };
  for (const h of r.rows) {
    if (sel.host && !sel.host(h.name)) continue;
    out.hosts.set(h.id, { name: h.name, first: h.first, last: h.last });
    // As readWatermarks: rounded down to whole blocks.
    for (const [tier, ms] of h.wms ?? []) out.wms.set(`${h.id} ${tier}`, floorTo(ms, TIER_SPECS[tier].blockMs));
    out.seriesRows.set(h.id, (h.series ?? []).map(([id, metric, labels, counter]) => ({ id, host_id: h.id, metric, labels, counter })));
  }
  return out;
}

class Buckets implements BucketSeries {
  start: number[] = [];
  n: number[] = [];
  v1: number[] = [];
  v2: number[] = [];
  v3: number[] = [];
  // the raw tail: the previous sample of the series, for a counter's increase.
  prevTs = Number.NEGATIVE_INFINITY;
  prev = 0;
  constructor(readonly metric: MetricInfo, readonly labels: Labels) {}

  /** A raw sample into the last (or a new) bucket. */
  addRaw(ts: number, v: number, isBefore: boolean): void {
    const counter = this.metric.type === 'counter';
    const pair = ts - this.prevTs <= MAX_PAIR_GAP_MS;
    const inc = v >= this.prev ? v - this.prev : v;
    this.prevTs = ts;
    this.prev = v;
    if (isBefore) return;
    const b = Math.floor(ts / MINUTE.bucketMs) * MINUTE.bucketMs;
    let i = this.start.length - 1;
    if (i < 0 || this.start[i] !== b) {
      this.start.push(b);
      this.n.push(0);
      this.v1.push(counter ? v : 0);
      this.v2.push(v);
      this.v3.push(counter ? 0 : v);
      i++;
    }
    const k = this.n[i]!;
    if (counter) {
      if (pair) this.v3[i]! += inc;
      this.v2[i] = v;
    } else {
      this.v1[i]! += v;
      if (v < this.v2[i]!) this.v2[i] = v;
      if (v > this.v3[i]!) this.v3[i] = v;
    }
    this.n[i] = k + 1;
  }

  /** Gauge sums of the raw tail (from `fromIndex`) to averages. */
  finishRaw(fromIndex: number): void {
    if (this.metric.type === 'counter') return;
    for (let i = fromIndex; i < this.n.length; i++) this.v1[i] = this.v1[i]! / this.n[i]!;
  }
}

/** Rollup rows of a host and tier, ordered by series and time; values base64 (null: not read). */
type TierRow = { series_id: number; ms: number; n: string; v1: string | null; v2: string | null; v3: string | null };

/**
 * What a read of named hosts (SampleSelector.hostNames) found last time, per pool and selector:
 * each host's series ids and watermarks. The next such read sends its rollup statements from
 * these at once, beside the statement that looks the hosts up, and keeps their rows only when
 * the fresh lookup gives the same series and the same segments (the same statements, sent a
 * round trip earlier); otherwise it sends them again. A dashboard's panels, refreshed, wait for
 * one round trip instead of two.
 */
interface Guess {
  hostId: number;
  host: string;
  ids: number[];
  wms: Map<string, number>;
}
const GUESSES = new WeakMap<pg.Pool, Map<string, Guess[]>>();
const MAX_GUESSES = 1_000;

function guessesOf(pool: pg.Pool): Map<string, Guess[]> {
  let m = GUESSES.get(pool);
  if (!m) GUESSES.set(pool, (m = new Map()));
  return m;
}

/**
 * Where a rollup row's base64 columns are decoded (store/src/rollups.ts's layout: counts as
 * big-endian uint16, values as big-endian float64, a column of one bucket standing for all):
 * into fixed buffers, each to a full column of `slots` entries, instead of a Buffer per column
 * and row and a bounds-checked read per bucket. A column not read (null) is all NaN. The arrays
 * returned are overwritten by the next row's.
 */
class TierScratch {
  private readonly raw = Buffer.alloc(8 * 64);
  private readonly cols = [0, 1, 2].map(() => new Float64Array(64));
  private readonly nan = new Float64Array(64).fill(Number.NaN);
  private readonly n = new Uint16Array(64);
  private readonly view = new DataView(this.raw.buffer, this.raw.byteOffset, this.raw.length);

  /** The bytes of a base64 column; throws when they are not `one` or `all` bytes long. */
  private bytes(text: string, one: number, all: number, what: string): number {
    // (a longer text than the buffer holds is cut; its length then fails the check as well)
    const len = text.length > ((this.raw.length + 2) / 3) * 4 ? -1 : this.raw.write(text, 'base64');
    if (len !== one && len !== all) throw new Error(`a rollup row's ${what} column has ${len < 0 ? 'too many' : len} bytes (expected ${one} or ${all})`);
    return len;
  }

  counts(text: string, slots: number): Uint16Array {
    const len = this.bytes(text, 2, 2 * slots, 'count');
    const view = this.view;
    if (len === 2) this.n.fill(view.getUint16(0), 0, slots);
    else for (let i = 0; i < slots; i++) this.n[i] = view.getUint16(2 * i);
    return this.n;
  }

  values(k: number, text: string | null, slots: number): Float64Array {
    if (text === null) return this.nan;
    const len = this.bytes(text, 8, 8 * slots, 'value');
    const out = this.cols[k]!;
    const view = this.view;
    if (len === 8) out.fill(view.getFloat64(0), 0, slots);
    else for (let i = 0; i < slots; i++) out[i] = view.getFloat64(8 * i);
    return out;
  }
}
const TIER_SCRATCH = new TierScratch();

type Segment = { spec: TierSpec; a: number; b: number };
const sameSegments = (x: Segment[], y: Segment[]) => x.length === y.length && x.every((s, i) => s.spec === y[i]!.spec && s.a === y[i]!.a && s.b === y[i]!.b);

/**
 * Buckets with start in [from, to) of every series matching the selector, ascending. `tier` '1m':
 * 1-minute buckets from the 1m tier up to each host's watermark, the rest bucketed by minute
 * from raw snapshots. '1h': 1-hour buckets from the 1h tier up to its watermark, then as '1m'
 * (so a series' buckets are an hour wide, then a minute: windows of whole hours, ending on an
 * hour, hold each bucket entirely or not at all). `from` and `to` are rounded down to the
 * tier's bucket. `want`: the value columns needed (the others read NaN from rollup rows), n always.
 * `need`: which bucket starts the caller reads (a query's windows); rolled-up buckets outside are
 * skipped as they are decoded (a 30-day query at a 44-minute step with 5-minute windows needs a
 * ninth of them).
 */
export async function readBuckets(
  pool: pg.Pool, sel: SampleSelector, from: number, to: number, tier: RollupTier = '1m',
  want: { v1?: boolean; v2?: boolean; v3?: boolean } = { v1: true, v2: true, v3: true },
  need?: (start: number) => boolean,
): Promise<BucketSeries[]> {
  const width = TIER_SPECS[tier].bucketMs;
  from = Math.floor(from / width) * width;
  to = Math.floor(to / width) * width;
  const out = new Map<string, Buckets>();
  if (to <= from) return [];
  checkDeadline(sel);
  const exact = typeof sel.metric === 'string' ? sel.metric : null;
  const names = nameTest(sel);
  // `key` when the caller has it (a raw sample's pick entry): labelsKey is not per sample.
  const series = (row: { metric: MetricInfo; labels: Labels; key?: string }) => {
    const key = row.key ?? `${row.metric.name}\u0000${labelsKey(row.labels)}`;
    let b = out.get(key);
    if (!b) out.set(key, (b = new Buckets(row.metric, row.labels)));
    return b;
  };
  // Only the columns asked for, as base64 (a third less than bytea's hex, and as fast to decode).
  const col = (c: 'v1' | 'v2' | 'v3') => (want[c] ? `encode(${c}, 'base64')` : 'NULL');

  /** Rollup rows of one host and tier with bucket start in [a, b), ordered by series and time. */
  const fetchTier = async (spec: TierSpec, hostId: number, ids: number[], host: string, a: number, b: number): Promise<TierRow[]> => {
    checkDeadline(sel);
    const lo = Math.floor(a / spec.blockMs) * spec.blockMs;
    // Identifiers from TIER_SPECS and tierPartitions only.
    const from = (table: string) =>
      `SELECT series_id, (extract(epoch FROM start) * 1000)::float8 AS ms, encode(n, 'base64') AS n, ${col('v1')} AS v1, ${col('v2')} AS v2, ${col('v3')} AS v3 FROM ${table}
          WHERE host_id = $1 AND series_id ${anyOf('$2::int[]', ids.length)} AND start >= $3::timestamptz AND start < $4::timestamptz`;
    const run = (text: string) => pool.query<TierRow>(statement(pool, text, [hostId, ids, iso(lo), iso(b)]));
    let r: pg.QueryResult<TierRow>;
    try {
      const parts = tierPartitions(pool, spec, lo, b);
      if (parts === undefined) r = await run(from(spec.table));
      else {
        try {
          r = await run(parts.map(from).join('\n UNION ALL '));
        } catch (err) {
          // a partition dropped since the list was read (retention): the parent, and the list again
          if ((err as { code?: string }).code !== '42P01') throw err;
          forgetPartitions(pool);
          r = await run(from(spec.table));
        }
      }
    } catch (err) {
      throw wrapPgError(err, `reading ${spec.tier} rollups of ${host}`);
    }
    // Sorted here, not by the server: megabytes of base64 would exceed its work_mem and sort on disk.
    return r.rows.sort((x, y) => x.series_id - y.series_id || x.ms - y.ms);
  };
  const order: RollupTier[] = tier === '1h' ? ['1h', '1m'] : ['1m'];
  // Named hosts read before with this selector: their rollup statements go out now (Guess).
  const guessKey = sel.hostNames && sel.key !== undefined ? JSON.stringify([sel.key, sel.hostNames, tier, want.v1 ?? false, want.v2 ?? false, want.v3 ?? false]) : undefined;
  const early = new Map<number, { ids: number[]; segments: Segment[]; rows: Promise<TierRow[]>[] }>();
  for (const g of guessKey === undefined ? [] : (guessesOf(pool).get(guessKey) ?? [])) {
    if (!g.ids.length) continue;
    const { segments } = rollupSegments(g.wms, g.hostId, order, from, to);
    const rows = segments.map((s) => fetchTier(s.spec, g.hostId, g.ids, g.host, s.a, s.b));
    // (an unused guess's failure is nobody's)
    for (const r of rows) r.catch(() => undefined);
    early.set(g.hostId, { ids: g.ids, segments, rows });
  }
  const { hosts, wms, seriesRows } = sel.hostNames ? await namedHostsSources(pool, sel, sel.hostNames, from, to, exact) : await hostsSources(pool, sel, from, to, exact);
  const guesses: Guess[] = [];
  if (guessKey !== undefined) {
    const all = guessesOf(pool);
    all.delete(guessKey);
    if (all.size >= MAX_GUESSES) all.delete(all.keys().next().value!);
    all.set(guessKey, guesses);
  }
  if (!hosts.size) return [];
  /** Those rows' buckets (the ones wanted) onto their series. */
  const decodeTier = async (spec: TierSpec, rows: TierRow[], mine: Map<number, Buckets>, a: number, b: number) => {
    const breathe = breather();
    const width = spec.bucketMs;
    for (const row of rows) {
      const pause = breathe();
      if (pause) await pause;
      // the row's slots that start in [a, b)
      const i0 = Math.max(0, Math.ceil((a - row.ms) / width));
      const i1 = Math.min(spec.slots, Math.ceil((b - row.ms) / width));
      if (i0 >= i1) continue;
      const bs = mine.get(row.series_id)!;
      const n = TIER_SCRATCH.counts(row.n, spec.slots);
      const [v1, v2, v3] = [TIER_SCRATCH.values(0, row.v1, spec.slots), TIER_SCRATCH.values(1, row.v2, spec.slots), TIER_SCRATCH.values(2, row.v3, spec.slots)];
      for (let i = i0; i < i1; i++) {
        const count = n[i]!;
        const start = row.ms + i * width;
        if (count === 0 || (need && !need(start))) continue;
        bs.start.push(start);
        bs.n.push(count);
        bs.v1.push(v1[i]!);
        bs.v2.push(v2[i]!);
        bs.v3.push(v3[i]!);
      }
    }
  };

  await Promise.all(
    [...hosts].map(async ([id, span]) => {
      const host = span.name;
      const mine = new Map<number, Buckets>();
      for (const s of seriesRows.get(id) ?? []) {
        if (!names(s.metric)) continue;
        const labels = { ...s.labels, host };
        if (!sel.match(s.metric, labels)) continue;
        const info = metricInfo(s.metric) ?? { name: s.metric, type: s.counter ? 'counter' : 'gauge', unit: '', help: '', labels: Object.keys(s.labels), path: '' } satisfies MetricInfo;
        mine.set(s.id, series({ metric: info, labels }));
      }
      // Coarse to fine, each tier up to its watermark; then raw snapshots. The statements run
      // together (each a round trip); their buckets go onto the series in that order.
      const { segments, rawFrom } = rollupSegments(wms, id, order, from, to);
      const ids = [...mine.keys()].sort((x, y) => x - y);
      // (the read's watermarks: of its named hosts only)
      guesses.push({ hostId: id, host, ids, wms });
      // The statements sent early are these very ones when the series and segments are the same.
      const guessed = early.get(id);
      const same = guessed !== undefined && sameSegments(guessed.segments, segments) && guessed.ids.join() === ids.join();
      const fetched = !mine.size ? [] : same ? guessed.rows : segments.map((s) => fetchTier(s.spec, id, ids, host, s.a, s.b));
      const tail = new Map<string, { row: { metric: MetricInfo; labels: Labels; key: string }; b: Buckets }>();
      const tailRead = rawFrom < to
        ? walkRaw(pool, sel, id, span, rawFrom, to - 1, true, (e, ts, v, isBefore) => {
            let t = tail.get(e.key);
            if (!t) tail.set(e.key, (t = { row: e, b: new Buckets(e.metric, e.labels) }));
            t.b.addRaw(ts, v, isBefore);
          })
        : undefined;
      // Together, so a failure of either is handled (never an unhandled rejection).
      const [rows] = await Promise.all([Promise.all(fetched), tailRead]);
      for (let i = 0; i < rows.length; i++) await decodeTier(segments[i]!.spec, rows[i]!, mine, segments[i]!.a, segments[i]!.b);
      for (const { row, b: t } of tail.values()) {
        t.finishRaw(0);
        const b = series(row);
        for (let i = 0; i < t.start.length; i++) {
          b.start.push(t.start[i]!);
          b.n.push(t.n[i]!);
          b.v1.push(t.v1[i]!);
          b.v2.push(t.v2[i]!);
          b.v3.push(t.v3[i]!);
        }
      }
    }),
  );
  return [...out.values()].filter((b) => b.start.length > 0);
}

/**
 * The series (metric name and labels with host) of the hosts that wrote in [from, to]: those in
 * every stored shape of those hosts and those rolled up. A host's series are its whole history's,
 * not only the range's (shapes carry no time); the hosts are the range's.
 */
export async function listSeries(pool: pg.Pool, sel: SampleSelector, from: number, to: number, limit = 100_000): Promise<{ metric: string; labels: Labels }[]> {
  const hosts = await hostsInRange(pool, from, to, sel.host);
  if (!hosts.size) return [];
  const ids = [...hosts.keys()];
  const names = nameTest(sel);
  const exact = typeof sel.metric === 'string' ? sel.metric : null;
  const out = new Map<string, { metric: string; labels: Labels }>();
  const add = (metric: string, labels: Labels) => {
    if (out.size >= limit || !names(metric) || !sel.match(metric, labels)) return;
    const key = `${metric}\u0000${labelsKey(labels)}`;
    if (!out.has(key)) out.set(key, { metric, labels });
  };
  try {
    const [shapeIds, rolled] = await Promise.all([
      pool.query<{ id: number; host_id: number }>('SELECT id, host_id FROM snapshot_shapes WHERE host_id = ANY($1::int[])', [ids]),
      rolledSeries(pool, ids, exact),
    ]);
    const shapes = await loadShapes(pool, shapeIds.rows.map((s) => s.id));
    for (const s of shapeIds.rows) {
      const host = hosts.get(s.host_id)!.name;
      for (const e of shapes.get(s.id)!.plan()) if (names(e.metric.name)) add(e.metric.name, { ...e.labels, host });
    }
    for (const [hostId, list] of rolled) for (const s of list) add(s.metric, { ...s.labels, host: hosts.get(hostId)!.name });
  } catch (err) {
    throw wrapPgError(err, 'listing series');
  }
  return [...out.values()];
}

/**
 * What every series of the hosts that wrote in [from, to] says, without listing the series: `rolled`
 * (one SQL statement over the rolled-up series, DISTINCT in the database, given the host ids) and
 * `each` called with every sample of every stored shape of those hosts. False when no host wrote.
 */
async function overSeries(pool: pg.Pool, from: number, to: number, what: string, rolled: (ids: number[]) => Promise<void>, each: (e: PlanEntry) => void): Promise<boolean> {
  const ids = [...(await hostsInRange(pool, from, to)).keys()];
  if (!ids.length) return false;
  try {
    const [shapeIds] = await Promise.all([pool.query<{ id: number }>('SELECT id FROM snapshot_shapes WHERE host_id = ANY($1::int[])', [ids]), rolled(ids)]);
    const shapes = await loadShapes(pool, shapeIds.rows.map((r) => r.id));
    for (const shape of shapes.values()) for (const e of shape.plan()) each(e);
  } catch (err) {
    throw wrapPgError(err, what);
  }
  return true;
}

/**
 * The values of one label over every series of the hosts that wrote in [from, to] (what
 * listSeries over every series would give, without listing the series): `host` from the hosts
 * table, `__name__` and the others from each stored shape's samples and the rolled-up series
 * (SQL's DISTINCT). A fleet's `$host` variable is then one statement, not every series of every
 * host. Empty values are left out, as Prometheus leaves them out.
 */
export async function labelValuesInRange(pool: pg.Pool, name: string, from: number, to: number): Promise<string[]> {
  if (name === 'host') return [...new Set([...(await hostsInRange(pool, from, to)).values()].map((h) => h.name))].sort();
  const out = new Set<string>();
  await overSeries(
    pool, from, to, `listing the values of label ${name}`,
    async (ids) => {
      const r =
        name === '__name__'
          ? await pool.query<{ v: string }>('SELECT DISTINCT metric AS v FROM series WHERE host_id = ANY($1::int[])', [ids])
          : await pool.query<{ v: string }>('SELECT DISTINCT labels ->> $2 AS v FROM series WHERE host_id = ANY($1::int[]) AND labels ? $2', [ids, name]);
      for (const row of r.rows) out.add(row.v);
    },
    (e) => out.add(name === '__name__' ? e.metric.name : (e.labels[name] ?? '')),
  );
  out.delete('');
  return [...out].sort();
}

/** The label names over every series of the hosts that wrote in [from, to] (`__name__` and `host` included). */
export async function labelNamesInRange(pool: pg.Pool, from: number, to: number): Promise<string[]> {
  const out = new Set<string>();
  const any = await overSeries(
    pool, from, to, 'listing label names',
    async (ids) => {
      const r = await pool.query<{ k: string }>("SELECT DISTINCT k FROM series, jsonb_object_keys(labels) AS k WHERE host_id = ANY($1::int[]) AND labels ->> k <> ''", [ids]);
      for (const row of r.rows) out.add(row.k);
    },
    (e) => {
      for (const [k, v] of Object.entries(e.labels)) if (v !== '') out.add(k);
    },
  );
  return any ? [...new Set(['__name__', 'host', ...out])].sort() : [];
}
