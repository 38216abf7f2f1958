/**
 * Regression (#16): two processes starting the jobs at once on a fresh schema (two api replicas
 * started together) deadlocked in pg-boss's createQueue ("deadlock detected", the api failed to
 * start). registerJobs now creates the queues under an advisory lock.
 */
import { expect } from 'chai';
import { JOB_QUEUES, startJobs } from '../src/index.js';
import { testSchema } from './helpers.js';

describe('startJobs from two processes at once', function () {
  this.timeout(60_000);
  it('both start, and each queue exists once (three fresh schemas in a row)', async () => {
    for (let i = 0; i < 3; i++) {
      const t = await testSchema({ migrate: true, prefix: 'jobs2' });
      const started = await Promise.allSettled([startJobs(t.url, t.pool, { schema: t.schema }), startJobs(t.url, t.pool, { schema: t.schema })]);
      for (const s of started) if (s.status === 'fulfilled') await s.value.stop();
      expect(started.map((s) => (s.status === 'rejected' ? String(s.reason) : 'started'))).to.deep.equal(['started', 'started']);
      const q = await t.pool.query<{ name: string }>(`SELECT name FROM "${t.schema}_boss".queue WHERE name LIKE 'perfwatch-%' ORDER BY name`);
      expect(q.rows.map((r) => r.name)).to.deep.equal(Object.values(JOB_QUEUES).sort());
      await t.drop();
    }
  });
});
