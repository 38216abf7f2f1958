/**
 * /api/v1/retention: how many days each storage tier is kept (store's retention_policies), and
 * the history of cleanup runs (retention_runs), and running a cleanup now through pg-boss.
 */
import type { Pool } from '@perfwatch/store';
import { z } from 'zod';
import { getRetention, listRetentionRuns, setRetention, TIERS, type RetentionPolicy, type Tier } from '../db/retention.js';
import type { Logger } from '../log.js';
import { ApiError } from '../errors.js';
import { route, type RouteDef } from '../route.js';
import { Timestamp } from '../schemas.js';

export interface RetentionRouteDeps {
  pool: Pool;
  log: Logger;
  /** queues a retention run now (pg-boss); undefined when this api runs no jobs. */
  runRetentionNow?: () => Promise<string | null>;
}

/** Days each tier may be set to. */
export const RETENTION_LIMITS: Record<Tier, { min: number; max: number }> = {
  raw: { min: 1, max: 3650 },
  '1m': { min: 1, max: 3650 },
  '1h': { min: 1, max: 36500 },
};

function days(tier: Tier) {
  const { min, max } = RETENTION_LIMITS[tier];
  return z.number().int('must be a whole number of days').min(min, `must be at least ${min} day`).max(max, `must be at most ${max} days`);
}

const RetentionSchema = z.object({
  tiers: z.array(
    z.object({
      tier: z.enum(TIERS).meta({ description: 'raw: snapshots; 1m and 1h: rollups.' }),
      days: z.number().int(),
      minDays: z.number().int(),
      maxDays: z.number().int(),
      updatedAt: Timestamp,
    }),
  ),
});

/** One cleanup run of one tier (retention_runs); also in GET /api/v1/status's retention.lastRun. */
export const RunSchema = z.object({
  id: z.number().int(),
  tier: z.string(),
  startedAt: Timestamp,
  finishedAt: Timestamp.nullable(),
  durationSeconds: z.number().nullable(),
  droppedPartitions: z.array(z.string()),
  error: z.string().nullable(),
});

export function retentionRoutes(deps: RetentionRouteDeps): RouteDef[] {
  const { pool, log, runRetentionNow } = deps;
  const answer = (policies: RetentionPolicy[]) => ({
    tiers: policies.map((p) => ({ tier: p.tier, days: p.days, minDays: RETENTION_LIMITS[p.tier].min, maxDays: RETENTION_LIMITS[p.tier].max, updatedAt: p.updatedAt })),
  });
  return [
    route({
      method: 'get',
      path: '/api/v1/retention',
      tag: 'retention',
      summary: 'Days kept per storage tier.',
      access: 'user',
      response: RetentionSchema,
      handler: async () => answer(await getRetention(pool)),
    }),
    route({
      method: 'put',
      path: '/api/v1/retention',
      tag: 'retention',
      summary: 'Set the days kept for one or more tiers.',
      description: 'Tiers left out keep their value. Finer tiers cannot be kept longer than coarser ones (raw <= 1m <= 1h).',
      access: 'admin',
      body: z
        .strictObject({ raw: days('raw').optional(), '1m': days('1m').optional(), '1h': days('1h').optional() })
        .refine((b) => TIERS.some((t) => b[t] !== undefined), 'give the days of at least one tier: raw, 1m, 1h')
        .meta({ minProperties: 1 }),
      response: RetentionSchema,
      handler: async ({ body, user }) => {
        const policies = await setRetention(pool, body);
        log.info({ by: user.username, ...body }, 'retention changed');
        return answer(policies);
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/retention/run',
      tag: 'retention',
      summary: 'Run the retention cleanup now (queued to the background jobs).',
      description: 'Answers 202 with the job id; the run appears in /api/v1/retention/runs when it has finished. 503 JOBS_DISABLED when this api runs no jobs (PERFWATCH_API_JOBS=false).',
      access: 'admin',
      status: 202,
      response: z.object({ jobId: z.string().nullable(), queued: z.boolean() }),
      handler: async ({ user }) => {
        if (!runRetentionNow) throw new ApiError(503, 'JOBS_DISABLED', 'this api runs no background jobs (PERFWATCH_API_JOBS=false): run retention from an api that does');
        const jobId = await runRetentionNow();
        log.info({ by: user.username, jobId }, 'retention run requested');
        // pg-boss answers null when a run is already queued (singleton queue): that one will do.
        return { jobId, queued: jobId !== null };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/retention/runs',
      tag: 'retention',
      summary: 'History of retention runs, newest first (pages: pass nextBefore as before).',
      access: 'user',
      query: z.strictObject({
        limit: z.string().regex(/^[0-9]{1,3}$/, 'must be a whole number from 1 to 500').transform(Number).pipe(z.number().min(1, 'must be at least 1').max(500, 'must be at most 500')).optional().meta({ description: 'Runs per page, 1..500 (50).' }),
        before: z.string().regex(/^[1-9][0-9]{0,14}$/, 'must be a run id').transform(Number).optional().meta({ description: 'Runs older than this id: the nextBefore of the previous page.' }),
      }),
      response: z.object({ runs: z.array(RunSchema), nextBefore: z.number().int().nullable() }),
      handler: async ({ query }) => {
        const limit = query.limit ?? 50;
        const runs = await listRetentionRuns(pool, limit, query.before);
        return { runs, nextBefore: runs.length === limit ? runs.at(-1)!.id : null };
      },
    }),
  ];
}
