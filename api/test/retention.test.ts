import { expect } from 'chai';
import { ADMIN, call, createUser, expectErrorShape, login, startTestApi, type Session, type TestApi } from './helpers.js';

describe('retention', function () {
  this.timeout(60_000);
  let t: TestApi;
  let admin: Session;
  let viewer: Session;
  before(async () => {
    t = await startTestApi();
    admin = await login(t.url, ADMIN.username, ADMIN.password);
    viewer = (await createUser(t.url, admin.token, { username: 'reader', role: 'viewer' })).session;
  });
  after(() => t.close());

  const days = (body: { tiers: { tier: string; days: number }[] }) => Object.fromEntries(body.tiers.map((x) => [x.tier, x.days]));

  it('anyone signed in reads the days per tier, with their allowed ranges', async () => {
    const r = await call(t.url, 'GET', '/api/v1/retention', { token: viewer.token });
    expect(r.status).to.equal(200);
    expect(days(r.body)).to.deep.equal({ raw: 30, '1m': 90, '1h': 730 });
    expect(r.body.tiers[0]).to.include({ tier: 'raw', minDays: 1, maxDays: 3650 });
  });

  it('administrators set some tiers; the others keep their value; the table changes', async () => {
    const r = await call(t.url, 'PUT', '/api/v1/retention', { token: admin.token, body: { raw: 14, '1h': 1000 } });
    expect(r.status, r.text).to.equal(200);
    expect(days(r.body)).to.deep.equal({ raw: 14, '1m': 90, '1h': 1000 });
    const rows = await t.db.query(`SELECT tier, days FROM retention_policies ORDER BY tier`);
    expect(Object.fromEntries(rows.rows.map((x) => [x.tier, x.days]))).to.deep.equal({ raw: 14, '1m': 90, '1h': 1000 });
  });

  it('viewers may not change it', async () => {
    expectErrorShape(await call(t.url, 'PUT', '/api/v1/retention', { token: viewer.token, body: { raw: 1 } }), 403, 'FORBIDDEN');
    expect(days((await call(t.url, 'GET', '/api/v1/retention', { token: viewer.token })).body).raw).to.equal(14);
  });

  it('validates ranges, types, tiers and order, naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ raw: 0 }, 'body.raw: must be at least 1 day'],
      [{ raw: 3651 }, 'body.raw: must be at most 3650 days'],
      [{ '1h': 36501 }, 'body.1h: must be at most 36500 days'],
      [{ raw: 1.5 }, 'body.raw: must be a whole number of days'],
      [{ raw: '30' }, 'body.raw: Invalid input: expected number, received string'],
      [{ raw: -5 }, 'body.raw: must be at least 1 day'],
      [{ '5m': 10 }, 'body.5m: unknown field "5m" (and 1 more problem)'],
      [{}, 'body: give the days of at least one tier: raw, 1m, 1h'],
      [{ '1m': 10 }, 'body.1m: raw (14 days) must not be kept longer than 1m (10 days)'],
      [{ '1h': 60 }, 'body.1h: 1m (90 days) must not be kept longer than 1h (60 days)'],
    ];
    for (const [body, message] of cases) {
      const r = await call(t.url, 'PUT', '/api/v1/retention', { token: admin.token, body });
      expectErrorShape(r, 400, 'VALIDATION_FAILED');
      expect(r.body.error.message, JSON.stringify(body)).to.equal(message);
    }
    expect(days((await call(t.url, 'GET', '/api/v1/retention', { token: admin.token })).body)).to.deep.equal({ raw: 14, '1m': 90, '1h': 1000 });
  });

  describe('runs', () => {
    before(async () => {
      await t.db.query(
        `INSERT INTO retention_runs (tier, started_at, finished_at, duration_seconds, dropped_partitions, error)
         SELECT CASE i % 3 WHEN 0 THEN 'raw' WHEN 1 THEN '1m' ELSE '1h' END,
                now() - make_interval(hours => 60 - i), now() - make_interval(hours => 60 - i) + interval '2 seconds', 2.0,
                ARRAY['snapshots_2026010' || (i % 10)], CASE WHEN i = 7 THEN 'lock timeout' END
           FROM generate_series(1, 60) i`,
      );
    });

    it('lists the history newest first, paginated', async () => {
      const first = await call(t.url, 'GET', '/api/v1/retention/runs?limit=25', { token: viewer.token });
      expect(first.status).to.equal(200);
      expect(first.body.runs).to.have.length(25);
      const ids: number[] = first.body.runs.map((r: { id: number }) => r.id);
      expect(ids).to.deep.equal([...ids].sort((a, b) => b - a));
      expect(first.body.runs[0]).to.have.keys('id', 'tier', 'startedAt', 'finishedAt', 'durationSeconds', 'droppedPartitions', 'error');
      expect(first.body.nextBefore).to.equal(ids.at(-1));
      const second = await call(t.url, 'GET', `/api/v1/retention/runs?limit=25&before=${first.body.nextBefore}`, { token: viewer.token });
      const third = await call(t.url, 'GET', `/api/v1/retention/runs?limit=25&before=${second.body.nextBefore}`, { token: viewer.token });
      expect(third.body.runs).to.have.length(10);
      expect(third.body.nextBefore).to.equal(null);
      const all = [...ids, ...second.body.runs.map((r: { id: number }) => r.id), ...third.body.runs.map((r: { id: number }) => r.id)];
      expect(new Set(all).size).to.equal(60);
      expect(third.body.runs.find((r: { error: string | null }) => r.error)?.error).to.equal('lock timeout');
      expect((await call(t.url, 'GET', '/api/v1/retention/runs', { token: viewer.token })).body.runs).to.have.length(50);
    });

    it('validates limit and before', async () => {
      for (const q of ['limit=0', 'limit=501', 'limit=abc', 'before=0', 'before=-1', 'limit=1&limit=2', 'page=2']) {
        expectErrorShape(await call(t.url, 'GET', `/api/v1/retention/runs?${q}`, { token: viewer.token }), 400, 'VALIDATION_FAILED');
      }
    });
  });
});
