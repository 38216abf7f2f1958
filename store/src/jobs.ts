/**
 * The background jobs of the store, as pg-boss queues, schedules and workers. The api process
 * starts pg-boss and calls registerJobs once; every api instance may: schedules are upserted by
 * name, the queues run one job at a time (policy singleton) and each job takes an advisory lock,
 * and every handler is idempotent (pg-boss delivers at least once).
 *
 * | queue                   | schedule (UTC)       | does                                             |
 * |-------------------------|----------------------|--------------------------------------------------|
 * | perfwatch-rollups       | every minute         | runRollups 1m, then 1h; then the gap index       |
 * | perfwatch-partitions    | hourly (minute 7)    | raw and rollup partitions for the days ahead     |
 * | perfwatch-retention     | daily 03:17          | runRetention (no schedule when retention is off) |
 *
 * A failing job is recorded by pg-boss (state failed, its error as output) and retried by the
 * queue's policy; rollup failures of single hosts are also in rollup_watermarks.last_error,
 * retention failures in retention_runs.error.
 */
import type PgBoss from 'pg-boss';
import type pg from 'pg';
import { withoutUndefined } from './config.js';
import { poolLogger, poolSchema, requireSessionPool, withClient } from './db.js';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';
import { updateGapIndex } from './gap-index.js';
import { ensurePartitions } from './partitions.js';
import { runRetention } from './retention.js';
import { ensureRollupPartitions, ROLLUP_DEFAULTS, runRollups } from './rollups.js';

export const JOB_QUEUES = Object.freeze({
  rollups: 'perfwatch-rollups',
  partitions: 'perfwatch-partitions',
  retention: 'perfwatch-retention',
});

export interface JobOptions {
  /** RETENTION_CLEANUP_ENABLED: false removes the daily schedule (runRetentionNow still works). */
  retentionEnabled: boolean;
  /** cron expressions, UTC. */
  rollupsCron: string;
  partitionsCron: string;
  retentionCron: string;
  /** raw and 1m partitions are kept this many days ahead of today (1h: this month and the next). */
  partitionDaysAhead: number;
  /** passed to runRollups. */
  rollupMaxBuckets: number;
  rollupGraceMs: number;
  /** default: the pool's logger. */
  log: Logger | undefined;
}

export const JOB_DEFAULTS: JobOptions = {
  retentionEnabled: true,
  rollupsCron: '* * * * *',
  // Off the hour, when other jobs of the machine tend to run.
  partitionsCron: '7 * * * *',
  retentionCron: '17 3 * * *',
  // Three days: a database that stays down over a weekend still finds its partitions.
  partitionDaysAhead: 3,
  rollupMaxBuckets: ROLLUP_DEFAULTS.maxBuckets,
  rollupGraceMs: ROLLUP_DEFAULTS.graceMs,
  log: undefined,
};

/** Creates the partitions for today and the days ahead (raw, 1m) and this and next month (1h). */
export async function partitionUpkeep(pool: pg.Pool, daysAhead = JOB_DEFAULTS.partitionDaysAhead, now = Date.now()): Promise<{ raw: number; '1m': number; '1h': number }> {
  const today = new Date(now);
  return {
    raw: await ensurePartitions(pool, today, daysAhead + 1),
    '1m': await ensureRollupPartitions(pool, '1m', today, daysAhead + 1),
    '1h': await ensureRollupPartitions(pool, '1h', today, 2),
  };
}

/** The advisory lock registerJobs holds while it creates the queues, keyed on database + schema ($1). */
const JOBS_LOCK_KEY = `('x' || substr(md5(current_database() || '.perfwatch.jobs.' || $1::text), 1, 16))::bit(64)::bigint`;

/**
 * Creates the queues, schedules and workers. Call after boss.start(). An 'error' listener is
 * added to boss when it has none (pg-boss's background errors must never crash the process).
 */
export async function registerJobs(boss: PgBoss, pool: pg.Pool, options: Partial<JobOptions> = {}): Promise<void> {
  const o: JobOptions = { ...JOB_DEFAULTS, ...withoutUndefined(options) };
  const log = (o.log ?? poolLogger(pool)).child({ component: 'jobs' });
  if (boss.listenerCount('error') === 0) boss.on('error', (err: Error) => log.error({ err: errorMessage(err) }, 'pg-boss background error'));

  const queue = async (name: string, expireInSeconds: number) => {
    const q = { name, policy: 'singleton' as const, retryLimit: 2, retryDelay: 30, retryBackoff: true, expireInSeconds };
    await boss.createQueue(name, q);
    await boss.updateQueue(name, q);
  };
  // pg-boss's createQueue makes a table per queue: two replicas starting together deadlock in it
  // (#16, api/test/replicas.test.ts). One replica at a time, under a session advisory lock.
  await withClient(
    pool,
    async (client) => {
      await client.query(`SELECT pg_advisory_lock(${JOBS_LOCK_KEY})`, [poolSchema(pool)]);
      try {
        // A rollup run is bounded by maxBuckets per host; retention waits for queries using a partition.
        await queue(JOB_QUEUES.rollups, 15 * 60);
        await queue(JOB_QUEUES.partitions, 5 * 60);
        await queue(JOB_QUEUES.retention, 30 * 60);
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${JOBS_LOCK_KEY})`, [poolSchema(pool)]);
      }
    },
    'creating the job queues',
  );

  await boss.work(JOB_QUEUES.rollups, async () => {
    const now = Date.now();
    const failures: string[] = [];
    for (const tier of ['1m', '1h'] as const) {
      const r = await runRollups(pool, { tier, now, maxBuckets: o.rollupMaxBuckets, graceMs: o.rollupGraceMs });
      failures.push(...r.failures.map((f) => `${tier} host ${f.hostId}: ${f.error}`));
    }
    // The gap index follows the same new snapshots (gap-index.ts): the annotations read it.
    await updateGapIndex(pool, { now }).catch((err: unknown) => failures.push(`gap index: ${errorMessage(err)}`));
    if (failures.length) throw new Error(`rollups failed for ${failures.length} host(s): ${failures.slice(0, 5).join('; ')}`);
  });
  await boss.work(JOB_QUEUES.partitions, async () => {
    const created = await partitionUpkeep(pool, o.partitionDaysAhead);
    if (created.raw || created['1m'] || created['1h']) log.info({ created }, 'partitions created ahead');
  });
  await boss.work(JOB_QUEUES.retention, async () => {
    const runs = await runRetention(pool);
    const failed = runs.filter((r) => r.error);
    if (failed.length) throw new Error(`retention failed: ${failed.map((r) => `${r.tier}: ${r.error}`).join('; ')}`);
  });

  await boss.schedule(JOB_QUEUES.rollups, o.rollupsCron, {}, { tz: 'UTC' });
  await boss.schedule(JOB_QUEUES.partitions, o.partitionsCron, {}, { tz: 'UTC' });
  if (o.retentionEnabled) await boss.schedule(JOB_QUEUES.retention, o.retentionCron, {}, { tz: 'UTC' });
  else await boss.unschedule(JOB_QUEUES.retention);
  log.info({ retention: o.retentionEnabled }, 'store jobs registered');
}

/** Queues a retention run now (the api's "run now"); returns the job id, null when one is already queued. */
export async function runRetentionNow(boss: PgBoss): Promise<string | null> {
  return boss.send(JOB_QUEUES.retention, { reason: 'run now' });
}

/** A running pg-boss with the store's jobs registered on it. */
export interface RunningJobs {
  boss: PgBoss;
  stop(): Promise<void>;
}

/**
 * Starts pg-boss in its own schema (`<schema>_boss`) and registers the store's jobs on it. The
 * api process calls this once; several api replicas share the queues, and pg-boss's singleton
 * queues and schedules make each job run once per database whatever the number of replicas.
 */
export async function startJobs(
  databaseUrl: string,
  pool: pg.Pool,
  options: Partial<JobOptions> & { schema: string; log?: Logger },
): Promise<RunningJobs> {
  // Retention holds an advisory lock across statements; pg-boss LISTENs (docs/scaling.md).
  requireSessionPool(pool, 'the background jobs');
  const { default: Boss } = await import('pg-boss');
  const boss = new Boss({ connectionString: databaseUrl, schema: `${options.schema}_boss`, application_name: 'perfwatch-jobs', max: 2 });
  const log = (options.log ?? poolLogger(pool)).child({ component: 'jobs' });
  boss.on('error', (err: Error) => log.error({ err: errorMessage(err) }, 'pg-boss background error'));
  await boss.start();
  try {
    await registerJobs(boss, pool, options);
  } catch (err) {
    await boss.stop({ graceful: false }).catch(() => undefined);
    throw err;
  }
  return {
    boss,
    async stop() {
      await boss.stop({ graceful: true, timeout: 10_000 });
    },
  };
}
