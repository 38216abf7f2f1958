/**
 * The pg-boss jobs against a real database: registerJobs creates the queues and schedules (the
 * retention schedule only while retention is enabled), and each job, sent once, does its work.
 */
import { expect } from 'chai';
import PgBoss from 'pg-boss';
import { ensurePartitions, insertSnapshots, JOB_QUEUES, listPartitions, registerJobs, runRetentionNow } from '../src/index.js';
import { recordingLogger, testSchema, uniqueName, type TestSchema } from './helpers.js';
import { fixtureSnapshot, simulate } from './synth.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

async function finished(boss: PgBoss, queue: string, id: string, timeoutMs = 30_000): Promise<PgBoss.JobWithMetadata<unknown>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const job = await boss.getJobById(queue, id);
    if (job && ['completed', 'failed', 'cancelled'].includes(job.state)) return job;
    if (Date.now() > end) throw new Error(`job ${queue} ${id} still ${job?.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('pg-boss jobs', function () {
  this.timeout(90_000);
  let t: TestSchema;
  let boss: PgBoss;
  const bossSchema = uniqueName('pgboss');
  const errors: Error[] = [];
  const log = recordingLogger();

  before(async () => {
    t = await testSchema({ migrate: true });
    boss = new PgBoss({ connectionString: t.url, schema: bossSchema, pollingIntervalSeconds: 0.5, supervise: false, schedule: true });
    boss.on('error', (err: Error) => errors.push(err));
    await boss.start();
  });
  after(async () => {
    await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
    await t.pool.query(`DROP SCHEMA IF EXISTS "${bossSchema}" CASCADE`).catch(() => undefined);
    await t.drop();
  });

  it('registers the three queues and their schedules (UTC)', async () => {
    await registerJobs(boss, t.pool, { log, retentionEnabled: true });
    const schedules = await boss.getSchedules();
    expect(schedules.map((s) => [s.name, s.cron]).sort()).to.deep.equal([
      [JOB_QUEUES.partitions, '7 * * * *'],
      [JOB_QUEUES.retention, '17 3 * * *'],
      [JOB_QUEUES.rollups, '* * * * *'],
    ]);
    for (const q of Object.values(JOB_QUEUES)) expect((await boss.getQueue(q))?.policy, q).to.equal('singleton');
  });

  it('registering again (a second api process, a restart) changes nothing; retention disabled removes its schedule', async () => {
    await registerJobs(boss, t.pool, { log, retentionEnabled: true });
    expect((await boss.getSchedules()).length).to.equal(3);
    await registerJobs(boss, t.pool, { log, retentionEnabled: false });
    expect((await boss.getSchedules()).map((s) => s.name).sort()).to.deep.equal([JOB_QUEUES.partitions, JOB_QUEUES.rollups]);
  });

  it('the rollups job rolls up the complete blocks of every host', async () => {
    const start = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
    await insertSnapshots(t.pool, simulate(fixtureSnapshot('small', { compact: true }), 'jobhost', start, 120, { intervalMs: 60_000 }));
    const id = (await boss.send(JOB_QUEUES.rollups, {}))!;
    const job = await finished(boss, JOB_QUEUES.rollups, id);
    expect(job.state, JSON.stringify(job.output)).to.equal('completed');
    // (and 1h too when the data's day is over: right after midnight UTC)
    const w = await t.pool.query(`SELECT watermark FROM rollup_watermarks WHERE tier = '1m'`);
    expect(w.rows[0].watermark.getTime()).to.be.at.least(start + 2 * HOUR);
    expect((await t.pool.query('SELECT count(DISTINCT start)::int AS n FROM rollups_1m')).rows[0].n).to.equal(2);
  });

  it('the partitions job creates the days ahead', async () => {
    // The job's "today" is that of the moment it runs, somewhere between these two (which differ
    // only when the test runs across midnight UTC).
    const before = Math.floor(Date.now() / DAY) * DAY;
    const id = (await boss.send(JOB_QUEUES.partitions, {}))!;
    expect((await finished(boss, JOB_QUEUES.partitions, id)).state).to.equal('completed');
    const after = Math.floor(Date.now() / DAY) * DAY;
    const names = (await listPartitions(t.pool)).map((p) => p.name);
    const ahead = (today: number) => [0, 1, 2, 3].map((d) => `snapshots_${new Date(today + d * DAY).toISOString().slice(0, 10).replaceAll('-', '')}`);
    const made = (today: number) => ahead(today).every((n) => names.includes(n));
    expect(made(before) || made(after), `${ahead(before).join(', ')} in ${names.join(', ')}`).to.equal(true);
    const m1 = await t.pool.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'rollups_1m'::regclass`);
    expect(m1.rows[0].n).to.be.at.least(4);
  });

  it('runRetentionNow queues a retention run that drops expired partitions and records it', async () => {
    const forty = Date.now() - 40 * DAY;
    await ensurePartitions(t.pool, forty, 2);
    const old = new Date(forty).toISOString().slice(0, 10).replaceAll('-', '');
    expect((await listPartitions(t.pool)).map((p) => p.name)).to.include(`snapshots_${old}`);
    const id = (await runRetentionNow(boss))!;
    expect((await finished(boss, JOB_QUEUES.retention, id)).state).to.equal('completed');
    expect((await listPartitions(t.pool)).map((p) => p.name)).to.not.include(`snapshots_${old}`);
    const runs = await t.pool.query(`SELECT tier, error, dropped_partitions FROM retention_runs ORDER BY id`);
    expect(runs.rows.map((r) => [r.tier, r.error])).to.deep.equal([['raw', null], ['1m', null], ['1h', null]]);
    expect(runs.rows[0].dropped_partitions).to.include(`snapshots_${old}`);
  });

  it('a failing job is recorded by pg-boss as failed, with the error', async () => {
    await t.pool.query(`DELETE FROM retention_policies WHERE tier = '1h'`);
    const id = (await boss.send(JOB_QUEUES.retention, {}, { retryLimit: 0 }))!;
    const job = await finished(boss, JOB_QUEUES.retention, id);
    expect(job.state).to.equal('failed');
    expect(JSON.stringify(job.output)).to.match(/retention failed: 1h/);
    await t.pool.query(`INSERT INTO retention_policies (tier, days) VALUES ('1h', 730)`);
    expect(errors).to.deep.equal([]);
  });
});
