/** pg-boss in the api process: the store's jobs are registered and scheduled once started. */
import { expect } from 'chai';
import { JOB_QUEUES } from '@perfwatch/store';
import { ADMIN, startTestApi, type TestApi } from './helpers.js';

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

  it('POST /api/v1/retention/run queues a run that lands in /api/v1/retention/runs', async function () {
    this.timeout(60_000);
    const t = started[0]!;
    const login = await fetch(`${t.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    const { token } = (await login.json()) as { token: string };
    const auth = { authorization: `Bearer ${token}` };
    const r = await fetch(`${t.url}/api/v1/retention/run`, { method: 'POST', headers: auth });
    expect(r.status).to.equal(202);
    expect(((await r.json()) as { queued: boolean }).queued).to.equal(true);
    let runs: unknown[] = [];
    for (let i = 0; i < 60 && runs.length === 0; i++) {
      await new Promise((res) => setTimeout(res, 500));
      runs = ((await (await fetch(`${t.url}/api/v1/retention/runs`, { headers: auth })).json()) as { runs: unknown[] }).runs;
    }
    expect(runs.length).to.be.greaterThan(0);
  });

  it('RETENTION_CLEANUP_ENABLED=false leaves the retention schedule out', async () => {
    const t = await startTestApi({ start: { jobs: true }, env: { RETENTION_CLEANUP_ENABLED: 'false' } });
    started.push(t);
    const names = await schedules(t);
    expect(names).to.include(JOB_QUEUES.rollups);
    expect(names).to.not.include(JOB_QUEUES.retention);
  });

  it('PERFWATCH_API_JOBS=false starts no pg-boss, and run-now answers 503 JOBS_DISABLED', async () => {
    const t = await startTestApi({ start: { jobs: true }, env: { PERFWATCH_API_JOBS: 'false' } });
    started.push(t);
    expect(t.api.jobs).to.equal(undefined);
    const login = await fetch(`${t.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    const { token } = (await login.json()) as { token: string };
    const r = await fetch(`${t.url}/api/v1/retention/run`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(r.status).to.equal(503);
    expect(((await r.json()) as { error: { code: string } }).error.code).to.equal('JOBS_DISABLED');
  });
});
