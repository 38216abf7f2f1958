/**
 * Rollup tiers: per host and series, 1-minute buckets (from the raw snapshots) and 1-hour buckets
 * (from the 1-minute ones). Layout and columns: migration 0004. How they are kept:
 *
 * - Incremental: a watermark per host and tier (rollup_watermarks); a run rolls up whole blocks
 *   (an hour of 1-minute buckets, a day of 1-hour buckets) from the watermark up to
 *   `now - graceMs` (and, for 1h, up to the 1m watermark), at most `maxBuckets` buckets per host,
 *   so a run after downtime catches up in bounded steps. Stretches without data are skipped.
 * - Idempotent: a block's rows are upserted and the watermark moved in one transaction; running a
 *   block again writes the same rows (pg-boss delivers at least once).
 * - Late data: insertSnapshots moves the watermarks back to the oldest snapshot a batch added, so
 *   the next run redoes those blocks (a spool replay after an outage).
 * - One run per tier at a time per schema (an advisory lock; a second caller returns at once).
 *
 * Buckets: gauges keep avg / min / max, counters first / last / increase, each with its sample
 * count. A counter's increase in a bucket is the sum over consecutive samples (a, b) with b in the
 * bucket of (b - a), or b where the counter went down (a reset), the sample before the bucket
 * included; samples more than MAX_PAIR_GAP_MS apart are no pair (after an outage the counter's
 * growth, or a reboot's whole count, would land in one bucket as a spike). So the increase over
 * any range is the sum of its buckets' increases, whatever the tier: raw, 1m and 1h give the same
 * rates (series.ts).
 */
import type pg from 'pg';
import { poolLogger, poolSchema, withClient } from './db.js';
import { StoreError, errorMessage, wrapPgError } from './errors.js';
import { fetchRows, RAW_COLUMNS, type RawRow, type Shape } from './snapshots.js';
import { decodeValues } from './codec.js';
import type { Labels } from './catalog.js';

export type RollupTier = '1m' | '1h';

export interface TierSpec {
  tier: RollupTier;
  /** bucket width, ms. */
  bucketMs: number;
  /** one row per series and block: block width, ms (= slots x bucketMs). */
  blockMs: number;
  slots: number;
  /** identifiers from this fixed list only. */
  table: 'rollups_1m' | 'rollups_1h';
}

export const TIER_SPECS: Readonly<Record<RollupTier, TierSpec>> = Object.freeze({
  '1m': { tier: '1m', bucketMs: 60_000, blockMs: 3_600_000, slots: 60, table: 'rollups_1m' },
  '1h': { tier: '1h', bucketMs: 3_600_000, blockMs: 86_400_000, slots: 24, table: 'rollups_1h' },
});

export interface RollupOptions {
  tier: RollupTier;
  /** the current time (tests and catch-up runs pass their own); default Date.now(). */
  now?: Date | number;
  /** most buckets rolled up per host in this run (whole blocks; at least one block). Default 1440. */
  maxBuckets?: number;
  /** a block is rolled up once it ended this long ago (snapshots still arriving). Default 120 s. */
  graceMs?: number;
  /** only these host ids (tests); default every host with snapshots. */
  hostIds?: number[];
}

export interface RollupResult {
  tier: RollupTier;
  /** false when another run of this tier held the lock: nothing was done. */
  ran: boolean;
  hosts: number;
  /** blocks written (a block of a host: one row per series). */
  blocks: number;
  rows: number;
  /** hosts whose watermark is still behind what was due (maxBuckets reached). */
  behind: number;
  failures: { hostId: number; error: string }[];
}

/** Consecutive samples further apart than this are not a pair for a counter's increase. */
export const MAX_PAIR_GAP_MS = 10 * 60_000;

export const ROLLUP_DEFAULTS = {
  // A day of 1-minute buckets (24 blocks), 60 days of 1-hour buckets, per host and run.
  maxBuckets: 1440,
  // Snapshots of a 5 s interval arrive within a second or two; 2 minutes leaves room for a slow
  // writer. At least 60 s: insertSnapshots treats a batch older than a minute as late (writer.ts).
  graceMs: 120_000,
};

export function floorTo(ms: number, unit: number): number {
  return Math.floor(ms / unit) * unit;
}

// ---- reading the tiers -------------------------------------------------------------------------

/**
 * The rollup watermarks of these hosts (ms), keyed `${hostId} ${tier}`, rounded down to whole
 * blocks: the rows of a block are written together with the watermark past it.
 */
export async function readWatermarks(pool: pg.Pool | pg.ClientBase, hostIds: number[]): Promise<Map<string, number>> {
  try {
    const r = await pool.query<{ host_id: number; tier: RollupTier; ms: number }>(
      `SELECT host_id, tier, (extract(epoch FROM watermark) * 1000)::float8 AS ms FROM rollup_watermarks WHERE host_id = ANY($1::int[])`,
      [hostIds],
    );
    return new Map(r.rows.map((w) => [`${w.host_id} ${w.tier}`, floorTo(w.ms, TIER_SPECS[w.tier].blockMs)]));
  } catch (err) {
    throw wrapPgError(err, 'reading rollup watermarks');
  }
}

/**
 * Which tier serves which part of [from, to) for one host: the tiers in `order` (coarse to fine),
 * each from where the one before stopped up to its watermark (readWatermarks); the rest, from
 * `rawFrom`, is in raw snapshots only.
 */
export function rollupSegments(
  watermarks: ReadonlyMap<string, number>, hostId: number, order: readonly RollupTier[], from: number, to: number,
): { segments: { spec: TierSpec; a: number; b: number }[]; rawFrom: number } {
  const segments: { spec: TierSpec; a: number; b: number }[] = [];
  let pos = from;
  for (const tier of order) {
    const wm = watermarks.get(`${hostId} ${tier}`);
    if (wm === undefined) continue;
    const upTo = Math.min(wm, to);
    if (upTo <= pos) continue;
    segments.push({ spec: TIER_SPECS[tier], a: pos, b: upTo });
    pos = upTo;
  }
  return { segments, rawFrom: pos };
}

// ---- series ids --------------------------------------------------------------------------------

/** Canonical JSON of a label set (sorted keys): the cache key of a series. */
export function labelsKey(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

const SERIES = new WeakMap<object, Map<string, number>>();

function seriesCache(pool: object): Map<string, number> {
  let m = SERIES.get(pool);
  if (!m) {
    m = new Map();
    SERIES.set(pool, m);
  }
  return m;
}

interface SeriesRef {
  metric: string;
  labels: Labels;
  counter: boolean;
}

/** Series ids of a host for these (metric, labels), registering the new ones. */
async function seriesIds(pool: pg.Pool, client: pg.ClientBase, hostId: number, refs: SeriesRef[]): Promise<number[]> {
  const cache = seriesCache(pool);
  const keys = refs.map((r) => `${hostId}\u0000${r.metric}\u0000${labelsKey(r.labels)}`);
  const missing = refs.filter((_, i) => !cache.has(keys[i]!));
  if (missing.length) {
    try {
      await client.query(
        `INSERT INTO series (host_id, metric, labels, counter)
         SELECT $1, m, l::jsonb, c FROM unnest($2::text[], $3::text[], $4::bool[]) AS u(m, l, c)
         ON CONFLICT (host_id, metric, labels) DO NOTHING`,
        [hostId, missing.map((r) => r.metric), missing.map((r) => JSON.stringify(r.labels)), missing.map((r) => r.counter)],
      );
      const r = await client.query<{ id: number; metric: string; labels: Labels }>(
        `SELECT s.id, s.metric, s.labels FROM series s
           JOIN unnest($2::text[], $3::text[]) AS u(m, l) ON s.metric = u.m AND s.labels = u.l::jsonb
          WHERE s.host_id = $1`,
        [hostId, missing.map((r) => r.metric), missing.map((r) => JSON.stringify(r.labels))],
      );
      if (cache.size + r.rows.length > 200_000) cache.clear();
      for (const row of r.rows) cache.set(`${hostId}\u0000${row.metric}\u0000${labelsKey(row.labels)}`, row.id);
    } catch (err) {
      throw wrapPgError(err, `registering series of host ${hostId}`);
    }
  }
  return keys.map((k) => {
    const id = cache.get(k);
    if (id === undefined) throw new StoreError('DB_QUERY_FAILED', `series ${k} was neither registered nor found`);
    return id;
  });
}

// ---- bucket accumulation -------------------------------------------------------------------------

/** Per-series buckets of one block while they are being filled. */
class Block {
  readonly n: Uint32Array;
  readonly v1: Float64Array;
  readonly v2: Float64Array;
  readonly v3: Float64Array;

  constructor(readonly counter: boolean, readonly slots: number) {
    this.n = new Uint32Array(slots);
    this.v1 = new Float64Array(slots).fill(Number.NaN);
    this.v2 = new Float64Array(slots).fill(Number.NaN);
    this.v3 = new Float64Array(slots).fill(Number.NaN);
  }

  /** The column buffers of the finished block (big-endian; NaN and n = 0 where empty). */
  encode(): { n: Buffer; v1: Buffer; v2: Buffer; v3: Buffer } {
    const s = this.slots;
    const n = Buffer.alloc(s * 2);
    const v1 = Buffer.alloc(s * 8);
    const v2 = Buffer.alloc(s * 8);
    const v3 = Buffer.alloc(s * 8);
    for (let i = 0; i < s; i++) {
      n.writeUInt16BE(Math.min(this.n[i]!, 65_535), i * 2);
      v1.writeDoubleBE(this.v1[i]!, i * 8);
      v2.writeDoubleBE(this.v2[i]!, i * 8);
      v3.writeDoubleBE(this.v3[i]!, i * 8);
    }
    return { n: compact(n, 2), v1: compact(v1, 8), v2: compact(v2, 8), v3: compact(v3, 8) };
  }
}

/** A column whose buckets are all the same bytes is stored as that one bucket (migration 0004). */
function compact(col: Buffer, size: number): Buffer {
  for (let i = size; i < col.length; i++) if (col[i] !== col[i % size]) return col;
  return col.subarray(0, size);
}

/** Bucket i of a stored column (a one-bucket column stands for every bucket). */
export function bucketCount(col: Uint8Array, i: number): number {
  const o = col.length === 2 ? 0 : i * 2;
  return (col[o]! << 8) | col[o + 1]!;
}

export function bucketValue(col: Buffer, i: number): number {
  return col.readDoubleBE(col.length === 8 ? 0 : i * 8);
}

/** A raw sample into a 1-minute block. `prev`: the series' previous sample when it makes a pair. */
function addSample(b: Block, i: number, v: number, prev: number | undefined): void {
  const k = b.n[i]!;
  if (b.counter) {
    if (k === 0) {
      b.v1[i] = v;
      b.v3[i] = 0;
    }
    if (prev !== undefined) b.v3[i] = b.v3[i]! + (v >= prev ? v - prev : v);
    b.v2[i] = v;
  } else if (k === 0) {
    b.v1[i] = v;
    b.v2[i] = v;
    b.v3[i] = v;
  } else {
    b.v1[i] = b.v1[i]! + v; // a sum until finish()
    if (v < b.v2[i]!) b.v2[i] = v;
    if (v > b.v3[i]!) b.v3[i] = v;
  }
  b.n[i] = k + 1;
}

/** Gauge sums to averages. */
function finish(b: Block): void {
  if (b.counter) return;
  for (let i = 0; i < b.slots; i++) if (b.n[i]! > 0) b.v1[i] = b.v1[i]! / b.n[i]!;
}

// ---- the tiers ---------------------------------------------------------------------------------------

interface BuiltBlock {
  refs: SeriesRef[];
  blocks: Block[];
}

/** One hour of one host's raw snapshots into 1-minute buckets; `before`: the last row before it. */
function buildMinutes(rows: RawRow[], before: RawRow | undefined, start: number): BuiltBlock {
  const spec = TIER_SPECS['1m'];
  const index = new Map<string, number>();
  const refs: SeriesRef[] = [];
  const blocks: Block[] = [];
  const last: (number | undefined)[] = [];
  const lastTs: number[] = [];
  // Per shape, the series index of each plan entry: worked out at a shape's first row, not per sample.
  const seriesOf = new Map<Shape, number[]>();
  let vals = new Float64Array(0);
  const visit = (row: RawRow, into: boolean) => {
    const plan = row.shape.plan();
    let js = seriesOf.get(row.shape);
    if (!js) {
      js = plan.map((e) => {
        const key = `${e.metric.name}\u0000${labelsKey(e.labels)}`;
        let j = index.get(key);
        if (j === undefined) {
          j = refs.length;
          index.set(key, j);
          refs.push({ metric: e.metric.name, labels: e.labels, counter: e.metric.type === 'counter' });
          blocks.push(new Block(e.metric.type === 'counter', spec.slots));
          last.push(undefined);
          lastTs.push(Number.NEGATIVE_INFINITY);
        }
        return j;
      });
      seriesOf.set(row.shape, js);
    }
    if (vals.length < row.shape.n) vals = new Float64Array(row.shape.n);
    decodeValues(row.vals, row.shape.n, row.ts, vals);
    const slot = Math.floor((row.ts - start) / spec.bucketMs);
    for (let x = 0; x < plan.length; x++) {
      const e = plan[x]!;
      const j = js[x]!;
      const v = e.slot < 0 ? e.value : vals[e.slot]!;
      if (into) addSample(blocks[j]!, slot, v, row.ts - lastTs[j]! <= MAX_PAIR_GAP_MS ? last[j] : undefined);
      last[j] = v;
      lastTs[j] = row.ts;
    }
  };
  if (before) visit(before, false);
  for (const row of rows) visit(row, true);
  // Series seen only in the row before the block have nothing in it.
  const keep = blocks.map((b) => b.n.some((x) => x > 0));
  for (const b of blocks) finish(b);
  return { refs: refs.filter((_, j) => keep[j]), blocks: blocks.filter((_, j) => keep[j]) };
}

interface StoredBlock {
  series_id: number;
  counter: boolean;
  ms: number;
  n: Buffer;
  v1: Buffer;
  v2: Buffer;
  v3: Buffer;
}

/** One day of one host's 1-minute rows into 1-hour buckets. */
function buildHours(rows: StoredBlock[], start: number): { ids: number[]; blocks: Block[] } {
  const spec = TIER_SPECS['1h'];
  const minute = TIER_SPECS['1m'];
  const bySeries = new Map<number, StoredBlock[]>();
  for (const r of rows) {
    let l = bySeries.get(r.series_id);
    if (!l) bySeries.set(r.series_id, (l = []));
    l.push(r);
  }
  const ids: number[] = [];
  const blocks: Block[] = [];
  for (const [id, list] of bySeries) {
    list.sort((a, b) => a.ms - b.ms);
    const b = new Block(list[0]!.counter, spec.slots);
    for (const r of list) {
      const hour = Math.floor((r.ms - start) / spec.bucketMs);
      for (let m = 0; m < minute.slots; m++) {
        const n = bucketCount(r.n, m);
        if (n === 0) continue;
        const v1 = bucketValue(r.v1, m);
        const v2 = bucketValue(r.v2, m);
        const v3 = bucketValue(r.v3, m);
        const k = b.n[hour]!;
        if (b.counter) {
          // Increases already include the pair reaching back into the previous minute.
          if (k === 0) {
            b.v1[hour] = v1;
            b.v3[hour] = 0;
          }
          b.v2[hour] = v2;
          b.v3[hour] = b.v3[hour]! + v3;
        } else if (k === 0) {
          b.v1[hour] = v1 * n;
          b.v2[hour] = v2;
          b.v3[hour] = v3;
        } else {
          b.v1[hour] = b.v1[hour]! + v1 * n;
          if (v2 < b.v2[hour]!) b.v2[hour] = v2;
          if (v3 > b.v3[hour]!) b.v3[hour] = v3;
        }
        b.n[hour] = k + n;
      }
    }
    finish(b);
    ids.push(id);
    blocks.push(b);
  }
  return { ids, blocks };
}

// ---- partitions ----------------------------------------------------------------------------------------

const PARTS = new WeakMap<object, Set<string>>();

/** Creates the partitions a rollup tier needs from `from` for `count` units (days for 1m, months for 1h). */
export async function ensureRollupPartitions(pool: pg.Pool | pg.ClientBase, tier: RollupTier, from: Date | number, count = 1): Promise<number> {
  if (!Number.isInteger(count) || count < 1 || count > 400) throw new StoreError('INVALID_ARGUMENT', `count must be 1..400 (got ${count})`);
  const day = new Date(typeof from === 'number' ? from : from.getTime()).toISOString().slice(0, 10);
  try {
    const r = await pool.query<{ n: number }>('SELECT ensure_rollup_partitions($1, $2::date, $3) AS n', [tier, day, count]);
    return r.rows[0]?.n ?? 0;
  } catch (err) {
    throw wrapPgError(err, `creating ${tier} rollup partitions from ${day}`);
  }
}

async function ensurePartitionFor(pool: pg.Pool, client: pg.ClientBase, spec: TierSpec, blockStart: number): Promise<void> {
  const key = `${spec.tier} ${new Date(blockStart).toISOString().slice(0, spec.tier === '1m' ? 10 : 7)}`;
  let known = PARTS.get(pool);
  if (!known) PARTS.set(pool, (known = new Set()));
  if (known.has(key)) return;
  await ensureRollupPartitions(client, spec.tier, blockStart, 1);
  known.add(key);
}

/** Forgets which rollup partitions exist (after retention dropped some). */
export function clearRollupCache(pool: pg.Pool): void {
  PARTS.delete(pool);
  SERIES.delete(pool);
}

// ---- runs ------------------------------------------------------------------------------------------------

function checkTier(tier: unknown): TierSpec {
  if (tier !== '1m' && tier !== '1h') throw new StoreError('INVALID_ARGUMENT', `tier must be '1m' or '1h' (got ${String(tier)})`);
  return TIER_SPECS[tier];
}

async function writeBlock(pool: pg.Pool, client: pg.ClientBase, spec: TierSpec, hostId: number, start: number, ids: number[], blocks: Block[]): Promise<void> {
  if (!ids.length) return;
  await ensurePartitionFor(pool, client, spec, start);
  const enc = blocks.map((b) => b.encode());
  // Each column's buffers back to back in one binary parameter, with an int[] of their lengths.
  const column = (k: 'n' | 'v1' | 'v2' | 'v3') => [Buffer.concat(enc.map((e) => e[k])), enc.map((e) => e[k].length)] as const;
  const [n, nl] = column('n');
  const [v1, v1l] = column('v1');
  const [v2, v2l] = column('v2');
  const [v3, v3l] = column('v3');
  await client.query(
    `WITH u AS (
       SELECT s, nl, v1l, v2l, v3l,
              sum(nl) OVER w - nl + 1 AS no, sum(v1l) OVER w - v1l + 1 AS v1o, sum(v2l) OVER w - v2l + 1 AS v2o, sum(v3l) OVER w - v3l + 1 AS v3o
         FROM unnest($3::int[], $8::int[], $9::int[], $10::int[], $11::int[]) WITH ORDINALITY AS x(s, nl, v1l, v2l, v3l, i)
       WINDOW w AS (ORDER BY i))
     INSERT INTO ${spec.table} AS r (host_id, series_id, start, n, v1, v2, v3)
     SELECT $1, u.s, 'epoch'::timestamptz + $2::float8 * interval '1 millisecond',
            substring($4::bytea FROM u.no::int FOR u.nl), substring($5::bytea FROM u.v1o::int FOR u.v1l),
            substring($6::bytea FROM u.v2o::int FOR u.v2l), substring($7::bytea FROM u.v3o::int FOR u.v3l)
       FROM u
     ON CONFLICT (host_id, series_id, start) DO UPDATE
       SET n = EXCLUDED.n, v1 = EXCLUDED.v1, v2 = EXCLUDED.v2, v3 = EXCLUDED.v3`,
    [hostId, start, ids, n, v1, v2, v3, nl, v1l, v2l, v3l],
  );
}

/** The oldest data of a host for this tier in [from, until): raw snapshots for 1m, 1m rows for 1h. */
async function firstData(client: pg.ClientBase, spec: TierSpec, hostId: number, from: number | null, until: number): Promise<number | null> {
  const r =
    spec.tier === '1m'
      ? await client.query<{ ms: number | null }>(
          `SELECT (extract(epoch FROM min(ts)) * 1000)::float8 AS ms FROM snapshots
            WHERE host_id = $1 AND ($2::float8 IS NULL OR ts >= 'epoch'::timestamptz + $2::float8 * interval '1 millisecond')
              AND ts < 'epoch'::timestamptz + $3::float8 * interval '1 millisecond'`,
          [hostId, from, until],
        )
      : await client.query<{ ms: number | null }>(
          `SELECT (extract(epoch FROM min(start)) * 1000)::float8 AS ms FROM rollups_1m
            WHERE host_id = $1 AND ($2::float8 IS NULL OR start >= 'epoch'::timestamptz + $2::float8 * interval '1 millisecond')
              AND start < 'epoch'::timestamptz + $3::float8 * interval '1 millisecond'`,
          [hostId, from, until],
        );
  return r.rows[0]?.ms ?? null;
}

function msParam(i: number): string {
  return `'epoch'::timestamptz + $${i}::float8 * interval '1 millisecond'`;
}

/**
 * Rolls up one host: returns blocks written, rows written, and whether it is still behind.
 *
 * Each block is one transaction that first locks the host's watermark row (FOR UPDATE) and
 * reads the watermark again: a batch of late snapshots (insertSnapshots) updates that row too, so
 * it either moved the watermark back before (the block is redone) or waits for this transaction
 * and moves it back after. No late snapshot can slip in between reading a block and moving past it.
 */
async function rollupHost(pool: pg.Pool, client: pg.ClientBase, spec: TierSpec, hostId: number, now: number, maxBuckets: number, graceMs: number): Promise<{ blocks: number; rows: number; behind: boolean }> {
  let end = floorTo(now - graceMs, spec.blockMs);
  if (spec.tier === '1h') {
    const m1 = await client.query<{ ms: number }>(`SELECT (extract(epoch FROM watermark) * 1000)::float8 AS ms FROM rollup_watermarks WHERE host_id = $1 AND tier = '1m'`, [hostId]);
    if (!m1.rows[0]) return { blocks: 0, rows: 0, behind: false };
    end = Math.min(end, floorTo(m1.rows[0].ms, spec.blockMs));
  }
  const has = await client.query('SELECT 1 FROM rollup_watermarks WHERE host_id = $1 AND tier = $2', [hostId, spec.tier]);
  if (!has.rowCount) {
    const first = await firstData(client, spec, hostId, null, end);
    if (first === null) return { blocks: 0, rows: 0, behind: false };
    await client.query(
      `INSERT INTO rollup_watermarks (host_id, tier, watermark) VALUES ($1, $2, ${msParam(3)}) ON CONFLICT (host_id, tier) DO NOTHING`,
      [hostId, spec.tier, floorTo(first, spec.blockMs)],
    );
  }
  let buckets = 0;
  let blocks = 0;
  let rows = 0;
  for (;;) {
    await client.query('BEGIN');
    try {
      const wm = await client.query<{ ms: number }>(
        `SELECT (extract(epoch FROM watermark) * 1000)::float8 AS ms FROM rollup_watermarks WHERE host_id = $1 AND tier = $2 FOR UPDATE`,
        [hostId, spec.tier],
      );
      const pos = floorTo(wm.rows[0]!.ms, spec.blockMs);
      if (pos + spec.blockMs > end || (buckets > 0 && buckets + spec.slots > maxBuckets)) {
        await client.query('COMMIT');
        return { blocks, rows, behind: pos + spec.blockMs <= end };
      }
      const blockEnd = pos + spec.blockMs;
      let written = 0;
      if (spec.tier === '1m') {
        const raw = await fetchRows(
          client,
          `SELECT ${RAW_COLUMNS} FROM snapshots s WHERE s.host_id = $1 AND s.ts >= ${msParam(2)} AND s.ts < ${msParam(3)} ORDER BY s.ts`,
          [hostId, pos, blockEnd],
          `reading snapshots of host ${hostId} for the 1m rollup`,
        );
        if (raw.length) {
          // The sample before the block: a counter's first increase in the block reaches back to it.
          const before = await fetchRows(
            client,
            `SELECT ${RAW_COLUMNS} FROM snapshots s WHERE s.host_id = $1 AND s.ts < ${msParam(2)} AND s.ts >= ${msParam(3)} ORDER BY s.ts DESC LIMIT 1`,
            [hostId, pos, pos - MAX_PAIR_GAP_MS],
            `reading the snapshot before a rollup block of host ${hostId}`,
          );
          const built = buildMinutes(raw, before[0], pos);
          const ids = await seriesIds(pool, client, hostId, built.refs);
          await writeBlock(pool, client, spec, hostId, pos, ids, built.blocks);
          written = ids.length;
        }
      } else {
        const r = await client.query<StoredBlock>(
          `SELECT r.series_id, s.counter, (extract(epoch FROM r.start) * 1000)::float8 AS ms, r.n, r.v1, r.v2, r.v3
                   FROM rollups_1m r JOIN series s ON s.id = r.series_id
                  WHERE r.host_id = $1 AND r.start >= ${msParam(2)} AND r.start < ${msParam(3)}`,
          [hostId, pos, blockEnd],
        );
        const built = buildHours(r.rows, pos);
        await writeBlock(pool, client, spec, hostId, pos, built.ids, built.blocks);
        written = built.ids.length;
      }
      let next = blockEnd;
      if (!written) {
        // Nothing here: on to the block of the next data (an exporter that was down for days).
        const later = await firstData(client, spec, hostId, blockEnd, end);
        next = later === null ? end : Math.max(blockEnd, floorTo(later, spec.blockMs));
      }
      await client.query(
        `UPDATE rollup_watermarks SET watermark = ${msParam(3)}, updated_at = now(), last_error = NULL, last_error_at = NULL WHERE host_id = $1 AND tier = $2`,
        [hostId, spec.tier, next],
      );
      await client.query('COMMIT');
      if (written) {
        blocks++;
        rows += written;
        buckets += spec.slots;
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      // Series registered in the rolled-back transaction are gone: forget them.
      SERIES.delete(pool);
      throw err;
    }
  }
}

/**
 * Rolls up every host's complete blocks of a tier (see the top of this file). Failures of one host
 * are recorded (rollup_watermarks.last_error, the result's failures, the log) and do not stop the
 * others; a failure to reach the database throws.
 */
export async function runRollups(pool: pg.Pool, opts: RollupOptions): Promise<RollupResult> {
  const spec = checkTier(opts.tier);
  const now = opts.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
  const maxBuckets = opts.maxBuckets ?? ROLLUP_DEFAULTS.maxBuckets;
  const graceMs = opts.graceMs ?? ROLLUP_DEFAULTS.graceMs;
  if (!Number.isFinite(now)) throw new StoreError('INVALID_ARGUMENT', 'now must be a Date or Unix milliseconds');
  if (!Number.isInteger(maxBuckets) || maxBuckets < 1) throw new StoreError('INVALID_ARGUMENT', `maxBuckets must be a positive integer (got ${maxBuckets})`);
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new StoreError('INVALID_ARGUMENT', `graceMs must be >= 0 (got ${graceMs})`);
  const log = poolLogger(pool).child({ job: 'rollups', tier: spec.tier });
  const result: RollupResult = { tier: spec.tier, ran: false, hosts: 0, blocks: 0, rows: 0, behind: 0, failures: [] };
  return withClient(
    pool,
    async (client) => {
      const lock = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext('perfwatch.rollups.' || $1), hashtext($2)) AS ok`, [spec.tier, poolSchema(pool)]);
      if (!lock.rows[0]?.ok) return result;
      result.ran = true;
      try {
        const hosts = await client.query<{ id: number }>(
          `SELECT id FROM hosts WHERE last_seen IS NOT NULL AND ($1::int[] IS NULL OR id = ANY($1::int[])) ORDER BY id`,
          [opts.hostIds ?? null],
        );
        for (const { id } of hosts.rows) {
          try {
            const r = await rollupHost(pool, client, spec, id, now, maxBuckets, graceMs);
            result.hosts++;
            result.blocks += r.blocks;
            result.rows += r.rows;
            if (r.behind) result.behind++;
          } catch (err) {
            const e = wrapPgError(err, `${spec.tier} rollup of host ${id}`);
            if (e.code === 'DB_UNAVAILABLE') throw e;
            result.failures.push({ hostId: id, error: e.message });
            log.error({ hostId: id, err: e.message }, 'rollup of a host failed; the others go on');
            await client
              .query(
                `INSERT INTO rollup_watermarks AS w (host_id, tier, watermark, last_error, last_error_at)
                 SELECT $1, $2, coalesce(min(s.ts), now()), $3, now() FROM snapshots s WHERE s.host_id = $1
                 ON CONFLICT (host_id, tier) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = now()`,
                [id, spec.tier, e.message],
              )
              .catch((e2: unknown) => log.warn({ err: errorMessage(e2) }, 'could not record the rollup failure'));
          }
        }
      } finally {
        await client.query(`SELECT pg_advisory_unlock(hashtext('perfwatch.rollups.' || $1), hashtext($2))`, [spec.tier, poolSchema(pool)]).catch(() => undefined);
      }
      if (result.blocks || result.failures.length) log.info({ ...result, failures: result.failures.length }, `${spec.tier} rollups: ${result.blocks} block(s) of ${result.hosts} host(s)`);
      return result;
    },
    `${spec.tier} rollups`,
  );
}
