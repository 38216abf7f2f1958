/**
 * GET /api/v1/status: what the admin console's Status and Retention screens show, in one answer.
 *
 * - the api's version and revision, the server time;
 * - the database's size (pg_database_size) and server version;
 * - per host: the last snapshot's time and age, stale when older than 3 x its interval, the
 *   collectors of that snapshot (`col`) and its perf events and why some are not counted
 *   (`perf.ev`, `perf.un`), and the cgroup collector's count of groups with the biggest consumers
 *   (`containers`, from the two newest snapshots);
 * - per storage tier: rows and bytes (every partition, with indexes and TOAST) and the days kept;
 * - retention: whether the daily run is scheduled, when it runs next (pg-boss's schedule table),
 *   and the last run of each tier.
 *
 * Row counts are exact (count(*)) while a tier is small and estimated from PostgreSQL's
 * statistics once it is large (EXACT_ROWS_BELOW): counting millions of rows on every refresh of a
 * screen would cost more than the screen is worth. The answer says which (`rowsEstimated`).
 */
import { fetchRows, JOB_QUEUES, poolSchema, RAW_COLUMNS, rowSnapshot, type Pool, type ReplicaLag, type Snapshot } from '@perfwatch/store';
import { z } from 'zod';
import type { ApiConfig } from '../config.js';
import { latestRunPerTier, TIERS, type RetentionRun, type Tier } from '../db/retention.js';
import { rows } from '../db/sql.js';
import { route, type RouteDef } from '../route.js';
import { Timestamp } from '../schemas.js';
import { RunSchema } from './retention.js';

/** Below this estimated row count a tier is counted exactly; above, the estimate is answered. */
export const EXACT_ROWS_BELOW = 200_000;

/** A host is stale when its last snapshot is older than this many intervals. */
export const STALE_INTERVALS = 3;

/** Interval assumed for a host whose interval cannot be told (one snapshot without `iv`). */
export const UNKNOWN_INTERVAL_SECONDS = 20;

/** The tables of each tier, from this fixed list only (they go into SQL as identifiers). */
const TIER_TABLES: Record<Tier, { parent: 'snapshots' | 'rollups_1m' | 'rollups_1h'; extra: readonly string[] }> = {
  // The shapes are the other half of every raw row (store/migrations/0003): their bytes count.
  raw: { parent: 'snapshots', extra: ['snapshot_shapes'] },
  '1m': { parent: 'rollups_1m', extra: [] },
  '1h': { parent: 'rollups_1h', extra: [] },
};

export interface StatusDeps {
  pool: Pool;
  config: Pick<ApiConfig, 'retentionCleanupEnabled'>;
  /** version and revision of this api (app.ts buildInfo()). */
  build: { version: string; revision: string };
  /** EXACT_ROWS_BELOW unless a test wants the estimates. */
  exactRowsBelow?: number;
  /** the read replica's lag (store's replicaLag), when the api reads from one (DATABASE_READ_URL);
   *  `pool` is then that replica. */
  replicaLag?: () => Promise<ReplicaLag>;
}

// ---- cron ----------------------------------------------------------------------------------------

const CRON_FIELDS = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
] as const;

interface Cron {
  sets: Set<number>[];
  /** day of month and day of week both restricted: a day matches when either does (cron's rule). */
  domStar: boolean;
  dowStar: boolean;
}

function parseCron(expr: string): Cron | undefined {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) return undefined;
  const sets: Set<number>[] = [];
  for (let i = 0; i < 5; i++) {
    const f = CRON_FIELDS[i]!;
    const names: readonly string[] = 'names' in f ? f.names : [];
    const num = (s: string): number => {
      const n = names.indexOf(s.toUpperCase());
      if (n >= 0) return n + (i === 3 ? 1 : 0);
      return /^\d{1,2}$/.test(s) ? Number(s) : Number.NaN;
    };
    const set = new Set<number>();
    for (const item of parts[i]!.split(',')) {
      const m = /^(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d{1,2}))?$/.exec(item);
      if (!m) return undefined;
      const lo = m[1] === '*' ? f.min : num(m[1]!);
      const hi = m[1] === '*' ? f.max : m[2] !== undefined ? num(m[2]) : m[3] !== undefined ? f.max : lo;
      const step = m[3] !== undefined ? Number(m[3]) : 1;
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < f.min || hi > f.max || lo > hi || step < 1) return undefined;
      for (let v = lo; v <= hi; v += step) set.add(i === 4 && v === 7 ? 0 : v);
    }
    sets.push(set);
  }
  return { sets, domStar: parts[2] === '*', dowStar: parts[4] === '*' };
}

/**
 * The first time after `afterMs` (Unix ms) that a five-field cron expression (minute hour
 * day-of-month month day-of-week: numbers, names, *, ranges, steps, lists) fires, in UTC, as
 * pg-boss reads it; undefined for an expression this does not understand or that never fires.
 */
export function nextCronRun(expr: string, afterMs: number): number | undefined {
  const c = parseCron(expr);
  if (!c) return undefined;
  const [mins, hours, doms, months, dows] = c.sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const d = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
  // Five years of days is more than any expression needs (29 February on a Monday: 28 years,
  // but that is an expression nobody schedules a retention run with).
  for (let i = 0; i < 200_000; i++) {
    if (d.getUTCFullYear() > new Date(afterMs).getUTCFullYear() + 5) return undefined;
    if (!months.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    const dom = doms.has(d.getUTCDate());
    const dow = dows.has(d.getUTCDay());
    const dayOk = c.domStar && c.dowStar ? true : c.domStar ? dow : c.dowStar ? dom : dom || dow;
    if (!dayOk) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!hours.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!mins.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return d.getTime();
  }
  return undefined;
}

// ---- parts of the answer ---------------------------------------------------------------------------

export interface CollectorHealth {
  name: string;
  ok: boolean;
  seconds: number;
  error?: string;
}

export interface HostStatus {
  name: string;
  lastSeen: Date | null;
  ageSeconds: number | null;
  stale: boolean;
  /** the age beyond which the host counts as stale. */
  staleAfterSeconds: number;
  intervalSeconds: number | null;
  collectors: CollectorHealth[];
  perf: { events: string[]; unavailable: Record<string, string> } | null;
  containers: ContainersStatus | null;
}

/** The cgroup collector's view of a host (issue #15): how many groups, and the biggest consumers. */
export interface ContainersStatus {
  /** cgroups with series of their own, and how many more were summed into "other". */
  cgroups: number;
  other: number;
  /** the TOP_CONSUMERS leaf groups (no parent of another one) using the most CPU between the two
   *  newest snapshots (cores), by memory where there is no earlier snapshot. */
  top: { cgroup: string; name: string; cpuCores: number | null; memoryBytes: number | null }[];
}

export const TOP_CONSUMERS = 5;

interface CgroupLike {
  ctr?: unknown;
  unit?: unknown;
  pod?: unknown;
  cpuu?: unknown;
  mem?: unknown;
}

function containersOf(s: Snapshot | undefined, prev: Snapshot | undefined): ContainersStatus | null {
  const c = (s as { cgroups?: { g?: unknown; o?: unknown } } | undefined)?.cgroups;
  if (!c || !c.g || typeof c.g !== 'object') return null;
  const g = c.g as Record<string, CgroupLike>;
  const before = ((prev as { cgroups?: { g?: unknown } } | undefined)?.cgroups?.g ?? {}) as Record<string, CgroupLike>;
  const seconds = (s!.ts - (prev?.ts ?? s!.ts)) / 1000;
  const paths = Object.keys(g).filter((p) => p !== 'other');
  const leaves = paths.filter((p) => !paths.some((q) => q.startsWith(`${p}/`)));
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const top = leaves.map((p) => {
    const e = g[p]!;
    const now = num(e.cpuu);
    const then = num(before[p]?.cpuu);
    const cpuCores = now !== null && then !== null && seconds > 0 && now >= then ? (now - then) / seconds : null;
    const name = [e.ctr, e.pod, e.unit].find((x): x is string => typeof x === 'string') ?? p.slice(p.lastIndexOf('/') + 1);
    return { cgroup: p, name, cpuCores, memoryBytes: num(e.mem) };
  });
  top.sort((a, b) => (b.cpuCores ?? -1) - (a.cpuCores ?? -1) || (b.memoryBytes ?? -1) - (a.memoryBytes ?? -1));
  return { cgroups: paths.length, other: typeof c.o === 'number' ? c.o : 0, top: top.slice(0, TOP_CONSUMERS) };
}

/** The interval of a host: its snapshot's own `iv`, else the gap between its last two snapshots. */
export function hostInterval(latest: Snapshot | undefined, lastTwoMs: readonly number[]): number | null {
  const iv = (latest as { iv?: unknown } | undefined)?.iv;
  if (typeof iv === 'number' && Number.isFinite(iv) && iv > 0) return iv;
  if (lastTwoMs.length === 2) {
    const gap = (lastTwoMs[0]! - lastTwoMs[1]!) / 1000;
    if (gap > 0) return gap;
  }
  return null;
}

function collectorsOf(s: Snapshot | undefined): CollectorHealth[] {
  const col = (s as { col?: unknown } | undefined)?.col;
  if (!col || typeof col !== 'object') return [];
  return Object.entries(col as Record<string, { ok?: unknown; s?: unknown; err?: unknown }>)
    .map(([name, c]) => ({
      name,
      ok: c?.ok === true,
      seconds: typeof c?.s === 'number' ? c.s : 0,
      ...(typeof c?.err === 'string' ? { error: c.err } : {}),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function perfOf(s: Snapshot | undefined): HostStatus['perf'] {
  const p = (s as { perf?: { ev?: unknown; un?: unknown } } | undefined)?.perf;
  if (!p || typeof p !== 'object') return null;
  const events = Array.isArray(p.ev) ? p.ev.filter((e): e is string => typeof e === 'string') : [];
  const unavailable: Record<string, string> = {};
  if (p.un && typeof p.un === 'object') for (const [k, v] of Object.entries(p.un as Record<string, unknown>)) if (typeof v === 'string') unavailable[k] = v;
  return { events, unavailable };
}

/** Every host with its latest snapshot's health. */
export async function hostsStatus(pool: Pool, nowMs: number): Promise<HostStatus[]> {
  const hosts = await rows<{ id: number; name: string; last_seen: Date | null; recent: number[] | null }>(
    pool,
    'reading hosts',
    `SELECT h.id, h.name, h.last_seen,
            (SELECT array_agg(ms ORDER BY ms DESC) FROM (
               SELECT (extract(epoch FROM s.ts) * 1000)::float8 AS ms FROM snapshots s
                WHERE s.host_id = h.id AND s.ts <= h.last_seen ORDER BY s.ts DESC LIMIT 2) AS x) AS recent
       FROM hosts h ORDER BY h.name`,
  );
  // The two newest snapshots of every host, decoded as the exporter made them (the second for
  // the containers' CPU between them).
  const latest = await fetchRows(
    pool,
    `SELECT ${RAW_COLUMNS}
       FROM hosts h CROSS JOIN LATERAL (
         SELECT * FROM snapshots s WHERE s.host_id = h.id AND s.ts <= h.last_seen ORDER BY s.ts DESC LIMIT 2) AS s`,
    [],
    'reading the latest snapshots',
  );
  const byHost = new Map<number, Snapshot>();
  const prevByHost = new Map<number, Snapshot>();
  for (const r of latest) {
    const snap = rowSnapshot(r);
    const first = byHost.get(r.hostId);
    if (!first) byHost.set(r.hostId, snap);
    else if (snap.ts > first.ts) {
      byHost.set(r.hostId, snap);
      prevByHost.set(r.hostId, first);
    } else prevByHost.set(r.hostId, snap);
  }
  return hosts.map((h) => {
    const snap = byHost.get(h.id);
    const intervalSeconds = hostInterval(snap, h.recent ?? []);
    const staleAfterSeconds = STALE_INTERVALS * (intervalSeconds ?? UNKNOWN_INTERVAL_SECONDS);
    const ageSeconds = h.last_seen ? (nowMs - h.last_seen.getTime()) / 1000 : null;
    return {
      name: h.name,
      lastSeen: h.last_seen,
      ageSeconds,
      stale: ageSeconds === null || ageSeconds > staleAfterSeconds,
      staleAfterSeconds,
      intervalSeconds,
      collectors: collectorsOf(snap),
      perf: perfOf(snap),
      containers: containersOf(snap, prevByHost.get(h.id)),
    };
  });
}

export interface TierStorage {
  tier: Tier;
  rows: number;
  /** true: rows is PostgreSQL's estimate (a large tier); false: counted. */
  rowsEstimated: boolean;
  bytes: number;
  partitions: number;
  days: number;
}

/** Rows, bytes and partitions of each tier (attached partitions, with indexes and TOAST), and its days. */
export async function storageStatus(pool: Pool, exactRowsBelow = EXACT_ROWS_BELOW): Promise<TierStorage[]> {
  const tiers = TIERS.map((t) => t);
  const parents = tiers.map((t) => TIER_TABLES[t].parent);
  const r = await rows<{ tier: Tier; partitions: string; bytes: string; estimate: string; days: number | null }>(
    pool,
    'measuring storage',
    `WITH t AS (SELECT * FROM unnest($1::text[], $2::text[]) AS t(tier, parent)),
          leaf AS (
            SELECT t.tier, p.relid FROM t CROSS JOIN LATERAL pg_partition_tree(to_regclass(t.parent)) AS p WHERE p.isleaf)
     SELECT t.tier,
            count(leaf.relid) AS partitions,
            coalesce(sum(pg_total_relation_size(leaf.relid)), 0) AS bytes,
            -- reltuples is -1 until the first ANALYZE; the statistics' live rows follow inserts.
            coalesce(sum(greatest(c.reltuples, st.n_live_tup, 0)), 0)::bigint AS estimate,
            (SELECT days FROM retention_policies rp WHERE rp.tier = t.tier) AS days
       FROM t
       LEFT JOIN leaf ON leaf.tier = t.tier
       LEFT JOIN pg_class c ON c.oid = leaf.relid
       LEFT JOIN pg_stat_all_tables st ON st.relid = leaf.relid
      GROUP BY t.tier`,
    [tiers, parents],
  );
  const extra = await rows<{ tier: Tier; bytes: string }>(
    pool,
    'measuring storage',
    `SELECT t.tier, coalesce(sum(pg_total_relation_size(to_regclass(t.tbl))), 0) AS bytes
       FROM unnest($1::text[], $2::text[]) AS t(tier, tbl) GROUP BY t.tier`,
    [tiers.flatMap((t) => TIER_TABLES[t].extra.map(() => t)), tiers.flatMap((t) => TIER_TABLES[t].extra)],
  );
  const out: TierStorage[] = [];
  for (const tier of tiers) {
    const row = r.find((x) => x.tier === tier);
    const estimate = Number(row?.estimate ?? 0);
    let count = estimate;
    const estimated = estimate >= exactRowsBelow;
    if (!estimated) {
      // Identifier from TIER_TABLES only.
      const c = await rows<{ n: string }>(pool, `counting ${tier} rows`, `SELECT count(*) AS n FROM ${TIER_TABLES[tier].parent}`);
      count = Number(c[0]?.n ?? 0);
    }
    out.push({
      tier,
      rows: count,
      rowsEstimated: estimated,
      bytes: Number(row?.bytes ?? 0) + Number(extra.find((x) => x.tier === tier)?.bytes ?? 0),
      partitions: Number(row?.partitions ?? 0),
      days: row?.days ?? 0,
    });
  }
  return out;
}

export interface LastRun {
  /** the earliest start and the latest end of the tiers' last runs. */
  startedAt: Date;
  finishedAt: Date | null;
  durationSeconds: number | null;
  droppedPartitions: string[];
  /** "tier: message" for each tier whose last run failed; null when none did. */
  error: string | null;
  tiers: RetentionRun[];
}

/** The newest run of each tier, together (one retention job runs every tier in turn). */
export async function lastRetentionRun(pool: Pool): Promise<LastRun | null> {
  const latest = await latestRunPerTier(pool);
  if (latest.length === 0) return null;
  const unfinished = latest.some((r) => r.finishedAt === null);
  const errors = latest.filter((r) => r.error).map((r) => `${r.tier}: ${r.error}`);
  return {
    startedAt: new Date(Math.min(...latest.map((r) => r.startedAt.getTime()))),
    finishedAt: unfinished ? null : new Date(Math.max(...latest.map((r) => r.finishedAt!.getTime()))),
    durationSeconds: unfinished ? null : latest.reduce((n, r) => n + (r.durationSeconds ?? 0), 0),
    droppedPartitions: latest.flatMap((r) => r.droppedPartitions),
    error: errors.length ? errors.join('; ') : null,
    tiers: latest,
  };
}

/** The retention job's schedule as pg-boss keeps it (`<schema>_boss.schedule`); null when none. */
export async function retentionSchedule(pool: Pool): Promise<{ cron: string; timezone: string | null } | null> {
  const boss = `${poolSchema(pool)}_boss`;
  const exists = await rows<{ t: string | null }>(pool, 'reading the job schedule', `SELECT to_regclass(format('%I.schedule', $1::text))::text AS t`, [boss]);
  if (!exists[0]?.t) return null;
  // poolSchema is checked by store (lower-case letters, digits and _): a safe identifier.
  const r = await rows<{ cron: string; timezone: string | null }>(pool, 'reading the job schedule', `SELECT cron, timezone FROM "${boss}".schedule WHERE name = $1`, [JOB_QUEUES.retention]);
  return r[0] ?? null;
}

// ---- the route -----------------------------------------------------------------------------------

export const StatusSchema = z.object({
  version: z.string(),
  revision: z.string(),
  now: Timestamp,
  database: z.object({ sizeBytes: z.number().int(), serverVersion: z.string() }),
  hosts: z.array(
    z.object({
      name: z.string(),
      lastSeen: Timestamp.nullable().meta({ description: 'time of the newest snapshot; null for a host that has written none' }),
      ageSeconds: z.number().nullable(),
      stale: z.boolean().meta({ description: `older than ${STALE_INTERVALS} x intervalSeconds (${STALE_INTERVALS} x ${UNKNOWN_INTERVAL_SECONDS} s when unknown), or no snapshot at all` }),
      staleAfterSeconds: z.number(),
      intervalSeconds: z.number().nullable().meta({ description: "the newest snapshot's iv, else the gap between the two newest" }),
      collectors: z.array(z.object({ name: z.string(), ok: z.boolean(), seconds: z.number(), error: z.string().optional() })),
      perf: z.object({ events: z.array(z.string()), unavailable: z.record(z.string(), z.string()) }).nullable(),
      containers: z
        .object({
          cgroups: z.number().int(),
          other: z.number().int(),
          top: z.array(z.object({ cgroup: z.string(), name: z.string(), cpuCores: z.number().nullable(), memoryBytes: z.number().nullable() })),
        })
        .nullable()
        .meta({ description: `the cgroup collector's groups with series of their own, those summed into "other", and the ${TOP_CONSUMERS} leaf groups using the most CPU between the two newest snapshots (cores; by memory without an earlier snapshot); null without the collector` }),
    }),
  ),
  storage: z.array(
    z.object({
      tier: z.enum(TIERS),
      rows: z.number().int(),
      rowsEstimated: z.boolean().meta({ description: `true: PostgreSQL's estimate (tiers of ${EXACT_ROWS_BELOW} rows or more); false: counted` }),
      bytes: z.number().int(),
      partitions: z.number().int(),
      days: z.number().int(),
    }),
  ),
  retention: z.object({
    enabled: z.boolean().meta({ description: 'RETENTION_CLEANUP_ENABLED of this api' }),
    cron: z.string().nullable().meta({ description: "the retention job's schedule (UTC) in pg-boss; null when none is scheduled" }),
    nextRunAt: Timestamp.nullable(),
    lastRun: z
      .object({
        startedAt: Timestamp,
        finishedAt: Timestamp.nullable(),
        durationSeconds: z.number().nullable(),
        droppedPartitions: z.array(z.string()),
        error: z.string().nullable(),
        tiers: z.array(RunSchema),
      })
      .nullable()
      .meta({ description: 'the newest run of each tier, together' }),
  }),
  replica: z
    .object({
      standby: z.boolean().meta({ description: 'the read database is a hot standby (in recovery)' }),
      lagSeconds: z.number().meta({ description: 'age of the last transaction replayed there while it is behind; 0 when caught up' }),
      lagBytes: z.number().int().nullable().meta({ description: 'WAL the primary wrote that the standby has not replayed yet' }),
      replayPaused: z.boolean(),
    })
    .nullable()
    .meta({ description: 'the read replica (DATABASE_READ_URL) that answers this and the other query routes; null when the api reads from DATABASE_URL' }),
});

export function statusRoutes(deps: StatusDeps): RouteDef[] {
  const { pool, config, build } = deps;
  return [
    route({
      method: 'get',
      path: '/api/v1/status',
      tag: 'status',
      summary: 'Versions, database size, hosts with their collectors and perf events, storage per tier, and retention.',
      description: `A host is stale when its newest snapshot is older than ${STALE_INTERVALS} x its interval. Row counts are exact below ${EXACT_ROWS_BELOW} rows per tier and PostgreSQL's estimates above (rowsEstimated).`,
      access: 'user',
      query: z.strictObject({}),
      response: StatusSchema,
      handler: async () => {
        const db = await rows<{ now: Date; size: string; version: string }>(
          pool,
          'reading the database size',
          `SELECT now() AS now, pg_database_size(current_database()) AS size, current_setting('server_version') AS version`,
        );
        const nowMs = db[0]!.now.getTime();
        const [hosts, storage, lastRun, schedule, replica] = await Promise.all([
          hostsStatus(pool, nowMs),
          storageStatus(pool, deps.exactRowsBelow),
          lastRetentionRun(pool),
          retentionSchedule(pool),
          deps.replicaLag ? deps.replicaLag() : null,
        ]);
        const utc = schedule && (schedule.timezone === null || schedule.timezone === 'UTC' || schedule.timezone === 'Etc/UTC');
        const next = schedule && utc ? nextCronRun(schedule.cron, nowMs) : undefined;
        return {
          version: build.version,
          revision: build.revision,
          now: new Date(nowMs),
          database: { sizeBytes: Number(db[0]!.size), serverVersion: db[0]!.version },
          hosts,
          storage,
          retention: {
            enabled: config.retentionCleanupEnabled,
            cron: schedule?.cron ?? null,
            nextRunAt: next === undefined ? null : new Date(next),
            lastRun,
          },
          replica,
        };
      },
    }),
  ];
}
