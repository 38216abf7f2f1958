/**
 * Retention: drops whole expired partitions (DETACH ... CONCURRENTLY, then DROP TABLE; never
 * DELETE) of the raw snapshots (one per UTC day) and of the rollup tiers (rollups_1m one per UTC
 * day, rollups_1h one per UTC month), as retention_policies says per tier, and records each tier's
 * run in retention_runs. A partition goes once all of it is older than the policy: the range is
 * kept for its days plus at most one partition's width.
 *
 * DETACH CONCURRENTLY takes only a SHARE UPDATE EXCLUSIVE lock on the parent: writers and readers
 * go on while it waits for queries still using the partition. A run interrupted half-way leaves
 * either a partition pending detach (finished with DETACH ... FINALIZE) or a detached table not
 * yet dropped (dropped): the next run finds both.
 */
import type pg from 'pg';
import { poolLogger, poolSchema, withClient } from './db.js';
import { StoreError, errorMessage, wrapPgError } from './errors.js';
import { dayPartitionRange } from './partitions.js';
import { clearRollupCache } from './rollups.js';
import { clearWriterCache } from './writer.js';

export type RetentionTier = 'raw' | '1m' | '1h';

interface TierTables {
  tier: RetentionTier;
  /** identifiers from this fixed list only. */
  parent: 'snapshots' | 'rollups_1m' | 'rollups_1h';
  /** partition name -> [start, end) in ms, or undefined for a table that is not one of ours. */
  range(name: string): [number, number] | undefined;
  pattern: string;
}

const TABLES: readonly TierTables[] = [
  { tier: 'raw', parent: 'snapshots', range: (name) => dayPartitionRange('snapshots', name), pattern: '^snapshots_[0-9]{8}$' },
  { tier: '1m', parent: 'rollups_1m', range: (name) => dayPartitionRange('rollups_1m', name), pattern: '^rollups_1m_[0-9]{8}$' },
  {
    tier: '1h',
    parent: 'rollups_1h',
    range: (name) => {
      const m = /^rollups_1h_(\d{4})(\d{2})$/.exec(name);
      if (!m) return undefined;
      const y = Number(m[1]);
      const mo = Number(m[2]) - 1;
      return [Date.UTC(y, mo, 1), Date.UTC(y, mo + 1, 1)];
    },
    pattern: '^rollups_1h_[0-9]{6}$',
  },
];

export interface RetentionOptions {
  /** the current time; default Date.now(). */
  now?: Date | number;
  /** only these tiers; default all three. */
  tiers?: readonly RetentionTier[];
}

export interface RetentionTierResult {
  tier: RetentionTier;
  /** retention_runs.id of this run. */
  runId: number;
  days: number;
  /** partitions wholly before this were dropped. */
  cutoff: Date;
  dropped: string[];
  durationSeconds: number;
  /** why the run stopped, when it failed (what was dropped before stays dropped). */
  error?: string;
}

interface PartRow {
  name: string;
  attached: boolean;
  pending: boolean;
}

/** Our partitions of a parent, attached or not (a table a crashed run detached but did not drop). */
async function partitions(db: pg.ClientBase, t: TierTables): Promise<PartRow[]> {
  // pg_inherits.inhdetachpending exists from PostgreSQL 14 on (15 and 17 are supported).
  const r = await db.query<PartRow>(
    `SELECT c.relname AS name, i.inhrelid IS NOT NULL AS attached, coalesce(i.inhdetachpending, false) AS pending
       FROM pg_class c
       LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = $1::regclass
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname ~ $2
      ORDER BY c.relname`,
    [t.parent, t.pattern],
  );
  return r.rows;
}

async function runTier(pool: pg.Pool, db: pg.ClientBase, t: TierTables, now: number): Promise<RetentionTierResult> {
  const started = performance.now();
  const log = poolLogger(pool).child({ job: 'retention', tier: t.tier });
  let runId: number;
  try {
    const r = await db.query<{ id: string }>('INSERT INTO retention_runs (tier) VALUES ($1) RETURNING id', [t.tier]);
    runId = Number(r.rows[0]!.id);
  } catch (err) {
    throw wrapPgError(err, `recording a ${t.tier} retention run`);
  }
  const result: RetentionTierResult = { tier: t.tier, runId, days: 0, cutoff: new Date(now), dropped: [], durationSeconds: 0 };
  try {
    const p = await db.query<{ days: number }>('SELECT days FROM retention_policies WHERE tier = $1', [t.tier]);
    if (!p.rows[0]) throw new StoreError('DB_QUERY_FAILED', `retention_policies has no row for tier ${t.tier}`);
    result.days = p.rows[0].days;
    const cutoff = now - result.days * 86_400_000;
    result.cutoff = new Date(cutoff);
    for (const part of await partitions(db, t)) {
      const range = t.range(part.name);
      if (!range || range[1] > cutoff) continue;
      // Names from pg_class matching our pattern; quoted as identifiers all the same.
      const child = `"${part.name}"`;
      if (part.attached) {
        await db.query(`ALTER TABLE ${t.parent} DETACH PARTITION ${child} ${part.pending ? 'FINALIZE' : 'CONCURRENTLY'}`);
      }
      await db.query(`DROP TABLE IF EXISTS ${child}`);
      result.dropped.push(part.name);
      log.info({ partition: part.name }, `dropped ${part.name} (older than ${result.days} days)`);
    }
  } catch (err) {
    result.error = wrapPgError(err, `${t.tier} retention`).message;
    log.error({ err: result.error }, 'retention run failed');
  }
  result.durationSeconds = (performance.now() - started) / 1000;
  await db
    .query(
      `UPDATE retention_runs SET finished_at = now(), duration_seconds = $2, dropped_partitions = $3::text[], error = $4 WHERE id = $1`,
      [runId, result.durationSeconds, result.dropped, result.error ?? null],
    )
    .catch((err: unknown) => log.error({ err: errorMessage(err) }, 'could not record the end of a retention run'));
  return result;
}

/**
 * Drops the expired partitions of every tier (or of opts.tiers), one retention_runs row per tier.
 * A tier's failure is recorded and reported in its result; the other tiers still run. Only one
 * run per schema at a time (an advisory lock): a second caller waits for the first.
 */
export async function runRetention(pool: pg.Pool, opts: RetentionOptions = {}): Promise<RetentionTierResult[]> {
  const now = opts.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
  if (!Number.isFinite(now)) throw new StoreError('INVALID_ARGUMENT', 'now must be a Date or Unix milliseconds');
  const tiers = opts.tiers ?? ['raw', '1m', '1h'];
  for (const t of tiers) if (!TABLES.some((x) => x.tier === t)) throw new StoreError('INVALID_ARGUMENT', `tier must be raw, 1m or 1h (got ${String(t)})`);
  // A session lock taken and released on the same connection: DETACH CONCURRENTLY cannot run in a
  // transaction, so the lock cannot be a transaction's.
  const out = await withClient(
    pool,
    async (client) => {
      await client.query(`SELECT pg_advisory_lock(hashtext('perfwatch.retention'), hashtext($1))`, [poolSchema(pool)]);
      try {
        const runs: RetentionTierResult[] = [];
        for (const t of TABLES) if (tiers.includes(t.tier)) runs.push(await runTier(pool, client, t, now));
        return runs;
      } finally {
        await client.query(`SELECT pg_advisory_unlock(hashtext('perfwatch.retention'), hashtext($1))`, [poolSchema(pool)]);
      }
    },
    'retention',
  ).catch((err: unknown) => {
    throw wrapPgError(err, 'retention');
  });
  if (out.some((r) => r.dropped.length)) {
    clearWriterCache(pool);
    clearRollupCache(pool);
  }
  return out;
}
