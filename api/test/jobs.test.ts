/** pg-boss in the api process: the store's jobs are registered and scheduled once started. */
import { expect } from 'chai';
import { JOB_QUEUES } from '@perfwatch/store';
import { startTestApi, type TestApi } from './helpers.js';

async function schedules(t: TestApi): Promise<string[]> {
  const r = await t.db.query(`SELECT name FROM "${t.schema}_boss".schedule ORDER BY name`);
  return r.rows.map((row: { name: string }) => row.name);
}

describe('api background jobs', () => {
  const started: TestApi[] = [];
  after(async () => {
    for (const t of started) {
      await t.close();
      await t.db.query(`DROP SCHEMA IF EXISTS "${t.schema}_boss" CASCADE`).catch(() => undefined);
    }
  });

  it('starts pg-boss in <schema>_boss and schedules rollups, partitions and retention', async () => {
    const t = await startTestApi({ start: { jobs: true } });
    started.push(t);
    expect(t.api.jobs).to.not.equal(undefined);
    expect(await schedules(t)).to.include.members([JOB_QUEUES.rollups, JOB_QUEUES.partitions, JOB_QUEUES.retention]);
  });

  it('RETENTION_CLEANUP_ENABLED=false leaves the retention schedule out', async () => {
    const t = await startTestApi({ start: { jobs: true }, env: { RETENTION_CLEANUP_ENABLED: 'false' } });
    started.push(t);
    const names = await schedules(t);
    expect(names).to.include(JOB_QUEUES.rollups);
    expect(names).to.not.include(JOB_QUEUES.retention);
  });

  it('PERFWATCH_API_JOBS=false starts no pg-boss', async () => {
    const t = await startTestApi({ start: { jobs: true }, env: { PERFWATCH_API_JOBS: 'false' } });
    started.push(t);
    expect(t.api.jobs).to.equal(undefined);
  });
});
