/**
 * SQL of store's retention tables (store/migrations/0002_retention.sql): the days kept per tier
 * and the history of cleanup runs. The cleanup job itself runs elsewhere (pg-boss, part 2).
 */
import type { Pool } from '@perfwatch/store';
import { withTransaction } from '@perfwatch/store';
import { validationFailed } from '../errors.js';
import { rethrow, rows } from './sql.js';

export const TIERS = ['raw', '1m', '1h'] as const;
export type Tier = (typeof TIERS)[number];

export interface RetentionPolicy {
  tier: Tier;
  days: number;
  updatedAt: Date;
}

export async function getRetention(pool: Pool): Promise<RetentionPolicy[]> {
  const r = await rows<{ tier: Tier; days: number; updated_at: Date }>(
    pool,
    'reading retention',
    `SELECT tier, days, updated_at FROM retention_policies ORDER BY array_position(ARRAY['raw', '1m', '1h'], tier)`,
  );
  return r.map((x) => ({ tier: x.tier, days: x.days, updatedAt: x.updated_at }));
}

/**
 * Sets the days of the given tiers. The result must keep finer tiers no longer than coarser
 * ones (raw <= 1m <= 1h): a query over a long range reads the coarse tier, which must cover it.
 */
export async function setRetention(pool: Pool, days: Partial<Record<Tier, number>>): Promise<RetentionPolicy[]> {
  await withTransaction(
    pool,
    async (c) => {
      const cur = await c.query<{ tier: Tier; days: number }>('SELECT tier, days FROM retention_policies FOR UPDATE');
      const next = new Map(cur.rows.map((r) => [r.tier, r.days]));
      for (const t of TIERS) if (days[t] !== undefined) next.set(t, days[t]);
      for (let i = 1; i < TIERS.length; i++) {
        const finer = TIERS[i - 1]!;
        const coarser = TIERS[i]!;
        const a = next.get(finer);
        const b = next.get(coarser);
        if (a !== undefined && b !== undefined && a > b) {
          const field = days[coarser] !== undefined ? coarser : finer;
          throw validationFailed(`body.${field}`, `body.${field}: ${finer} (${a} days) must not be kept longer than ${coarser} (${b} days)`);
        }
      }
      for (const t of TIERS) {
        if (days[t] === undefined) continue;
        await c.query(
          `INSERT INTO retention_policies (tier, days, updated_at) VALUES ($1, $2, now())
           ON CONFLICT (tier) DO UPDATE SET days = EXCLUDED.days, updated_at = CASE WHEN retention_policies.days = EXCLUDED.days THEN retention_policies.updated_at ELSE now() END`,
          [t, days[t]],
        );
      }
    },
    'setting retention',
  ).catch(rethrow('setting retention'));
  return getRetention(pool);
}

export interface RetentionRun {
  id: number;
  tier: string;
  startedAt: Date;
  finishedAt: Date | null;
  durationSeconds: number | null;
  droppedPartitions: string[];
  error: string | null;
}

interface RunRow {
  id: string;
  tier: string;
  started_at: Date;
  finished_at: Date | null;
  duration_seconds: number | null;
  dropped_partitions: string[];
  error: string | null;
}

const RUN_COLUMNS = 'id, tier, started_at, finished_at, duration_seconds, dropped_partitions, error';

function toRun(x: RunRow): RetentionRun {
  return {
    id: Number(x.id),
    tier: x.tier,
    startedAt: x.started_at,
    finishedAt: x.finished_at,
    durationSeconds: x.duration_seconds,
    droppedPartitions: x.dropped_partitions,
    error: x.error,
  };
}

/** Runs newest first; `before` is the id cursor of the next page. */
export async function listRetentionRuns(pool: Pool, limit: number, before: number | undefined): Promise<RetentionRun[]> {
  const r = await rows<RunRow>(
    pool,
    'listing retention runs',
    `SELECT ${RUN_COLUMNS}
       FROM retention_runs WHERE $2::bigint IS NULL OR id < $2 ORDER BY id DESC LIMIT $1`,
    [limit, before ?? null],
  );
  return r.map(toRun);
}

/** The newest run of each tier, in TIERS order. */
export async function latestRunPerTier(pool: Pool): Promise<RetentionRun[]> {
  const r = await rows<RunRow>(pool, 'reading retention runs', `SELECT DISTINCT ON (tier) ${RUN_COLUMNS} FROM retention_runs ORDER BY tier, id DESC`);
  return r.map(toRun).sort((a, b) => (TIERS as readonly string[]).indexOf(a.tier) - (TIERS as readonly string[]).indexOf(b.tier));
}
