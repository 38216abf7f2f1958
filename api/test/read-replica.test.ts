/**
 * DATABASE_READ_URL (#16): the api against a real primary and hot standby (PostgreSQL 15,
 * pg_basebackup -R, streaming replication, built by the test). With replay paused on the standby,
 * a host written to the primary is absent from every query route (so they read the standby),
 * while logins and writes (a new API token) still work (the primary); /api/v1/status and /metrics
 * report the standby, its lag in bytes and that replay is paused. Resumed, the host appears and
 * the lag goes back to 0. PromQL runs in a query worker, whose pool is made from the read URL.
 */
import { expect } from 'chai';
import pg from 'pg';
import { closePool, createPool, insertSnapshots, type Pool } from '@perfwatch/store';
import { fakeSnapshot } from '../../store/test/helpers.js';
import { replicationUnavailable, startPrimaryAndStandby, type ReplicatedPair } from '../../store/test/replication.js';
import { ADMIN, call, login, startTestApi, type TestApi } from './helpers.js';

/** Polls until fn returns something other than undefined (bounded by mocha's timeout). */
async function until<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('reads from a hot standby (DATABASE_READ_URL)', function () {
  this.timeout(180_000);
  let pair: ReplicatedPair;
  let t: TestApi;
  let primary: Pool;
  let standby: pg.Client;
  let token: string;
  const NOW = Date.now();
  const gapHosts = async () => {
    const r = await call(t.url, 'GET', `/api/v1/annotations?from=${new Date(NOW - 3_600_000).toISOString()}&to=${new Date(NOW).toISOString()}&kind=gap&minGapSeconds=60`, { token });
    expect(r.status, r.text).to.equal(200);
    return (r.body.annotations as { host?: string }[]).map((a) => a.host);
  };
  const hostNames = async () => ((await call(t.url, 'GET', '/api/v1/hosts', { token })).body.hosts as { name: string }[]).map((h) => h.name).sort();

  before(async function () {
    const why = replicationUnavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    pair = await startPrimaryAndStandby();
    primary = createPool({ databaseUrl: pair.primaryUrl, schema: 'perfwatch' });
    // The api migrates the primary; its read pool and query worker use the standby.
    t = await startTestApi({
      schema: { url: pair.primaryUrl, schema: 'perfwatch', pool: primary },
      // Queries always in the worker (no first try in the api's thread): its pool is the one to see on the standby.
      env: { DATABASE_READ_URL: pair.standbyUrl, PERFWATCH_DB_SCHEMA: 'perfwatch', PERFWATCH_QUERY_WORKERS: '1', PERFWATCH_QUERY_IN_THREAD_MS: '0' },
    });
    token = (await login(t.url, ADMIN.username, ADMIN.password)).token;
    standby = new pg.Client({ connectionString: pair.standbyUrl });
    await standby.connect();
    await insertSnapshots(primary, [fakeSnapshot('before-pause', NOW - 10_000), fakeSnapshot('before-pause', NOW - 5_000, 1)]);
  });

  after(async () => {
    await standby?.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
    await standby?.end().catch(() => undefined);
    await t?.close();
    if (primary) await closePool(primary);
    await pair?.stop();
  });

  it('the query routes, PromQL and status answer from the standby once it has replayed', async () => {
    await until(async () => ((await hostNames()).includes('before-pause') ? true : undefined));
    const status = await until(async () => {
      const r = await call(t.url, 'GET', '/api/v1/status', { token });
      expect(r.status, r.text).to.equal(200);
      return r.body.replica?.lagBytes === 0 ? r.body : undefined;
    });
    expect(status.replica).to.deep.equal({ standby: true, lagSeconds: 0, lagBytes: 0, replayPaused: false });
    expect(status.hosts.map((h: { name: string }) => h.name)).to.deep.equal(['before-pause']);
    const q = await call(t.url, 'GET', `/prometheus/api/v1/query?query=${encodeURIComponent('count by (host) (perfwatch_load_average_1m)')}&time=${(NOW - 5_000) / 1000}`, { token });
    expect(q.status, q.text).to.equal(200);
    expect(q.body.data.result.map((r: { metric: { host: string } }) => r.metric.host)).to.deep.equal(['before-pause']);
    // The api's read pool and its query worker are connected to the standby.
    const apps = await standby.query<{ a: string }>(`SELECT DISTINCT application_name AS a FROM pg_stat_activity WHERE application_name LIKE 'perfwatch-api%' ORDER BY 1`);
    expect(apps.rows.map((r) => r.a)).to.deep.equal(['perfwatch-api-query', 'perfwatch-api-read']);
  });

  it('with replay paused: a new host is not seen by any query route, writes still work, the lag shows', async () => {
    await standby.query('SELECT pg_wal_replay_pause()');
    await until(async () => ((await standby.query<{ p: string }>('SELECT pg_get_wal_replay_pause_state() AS p')).rows[0]!.p === 'paused' ? true : undefined));
    // 50 minutes between its two snapshots: a gap annotation, once the standby has it.
    await insertSnapshots(primary, [fakeSnapshot('after-pause', NOW - 3_000_000), fakeSnapshot('after-pause', NOW - 4_000, 1)]);

    // The primary has it; the api's reads do not.
    const onPrimary = await primary.query<{ name: string }>('SELECT name FROM hosts ORDER BY name');
    expect(onPrimary.rows.map((r) => r.name)).to.deep.equal(['after-pause', 'before-pause']);
    expect(await hostNames()).to.deep.equal(['before-pause']);
    const status = await call(t.url, 'GET', '/api/v1/status', { token });
    expect(status.body.hosts.map((h: { name: string }) => h.name)).to.deep.equal(['before-pause']);
    expect(status.body.replica.standby).to.equal(true);
    expect(status.body.replica.replayPaused).to.equal(true);
    expect(status.body.replica.lagBytes).to.be.greaterThan(0);
    expect(status.body.replica.lagSeconds).to.be.at.least(0);
    const q = await call(t.url, 'GET', `/prometheus/api/v1/query?query=${encodeURIComponent('count by (host) (perfwatch_load_average_1m)')}&time=${(NOW - 4_000) / 1000}`, { token });
    expect(q.body.data.result.map((r: { metric: { host: string } }) => r.metric.host)).to.deep.equal(['before-pause']);
    expect(await gapHosts()).to.not.include('after-pause');

    // Logins and writes go to the primary: a token is created and works at once.
    const created = await call(t.url, 'POST', '/api/v1/tokens', { token, body: { name: 'while-paused', role: 'viewer' } });
    expect(created.status, created.text).to.equal(201);
    const me = await call(t.url, 'GET', '/api/v1/hosts', { token: created.body.token });
    expect(me.status, me.text).to.equal(200);

    const metrics = await call(t.url, 'GET', '/metrics');
    const bytes = Number(/^perfwatch_api_db_replica_lag_bytes (\S+)$/m.exec(metrics.text)?.[1]);
    expect(bytes).to.be.greaterThan(0);
    expect(metrics.text).to.match(/^perfwatch_api_db_replica_lag_seconds \S+$/m);
  });

  it('resumed: the host appears on every query route and the lag is 0 again', async () => {
    await standby.query('SELECT pg_wal_replay_resume()');
    await until(async () => ((await hostNames()).includes('after-pause') ? true : undefined));
    expect(await gapHosts()).to.include('after-pause');
    const status = await until(async () => {
      const r = await call(t.url, 'GET', '/api/v1/status', { token });
      return r.body.replica?.lagBytes === 0 ? r.body : undefined;
    });
    expect(status.replica).to.deep.include({ standby: true, lagSeconds: 0, replayPaused: false });
    // WAL the primary writes meanwhile (a checkpoint) may show for a moment: until it is replayed.
    await until(async () => (/^perfwatch_api_db_replica_lag_bytes 0$/m.test((await call(t.url, 'GET', '/metrics')).text) ? true : undefined));
  });
});
