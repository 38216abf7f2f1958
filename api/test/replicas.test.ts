/**
 * Several api replicas against one database (#16): two api processes (api/src/main.ts, as a
 * deployment runs them) started at the same moment on one fresh schema, both running the
 * background jobs.
 *
 * - migrations: both start, the schema is migrated once (store's advisory lock);
 * - jobs: pg-boss's schedules exist once, and the every-minute rollups job is created once per
 *   minute whichever replica's clock fires, run by one of them;
 * - live stream: a client on each replica receives a snapshot written once (each replica LISTENs
 *   on the database);
 * - login throttle: failed logins spread over both replicas add up to one limit;
 * - revocation: an API token revoked on one replica and a session logged out on it are refused by
 *   the other at once.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket, type RawData } from 'ws';
import { insertSnapshots, JOB_QUEUES } from '@perfwatch/store';
import { fakeSnapshot, freePort, testSchema, type TestSchema } from '../../store/test/helpers.js';
import { ADMIN, call, login } from './helpers.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Replica {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts api/src/main.ts as its own process; resolves once it logs that it listens. */
async function startReplica(t: TestSchema, env: Record<string, string>): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--conditions=perfwatch-src', '--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      DATABASE_URL: t.url,
      PERFWATCH_DB_SCHEMA: t.schema,
      PERFWATCH_API_PORT: String(port),
      PERFWATCH_API_HOST: '127.0.0.1',
      PERFWATCH_UI_PORT: 'off',
      PERFWATCH_QUERY_WORKERS: '0',
      PERFWATCH_SCRYPT_N: '1024',
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      JWT_SECRET: 'replicas-test-secret-of-at-least-32-bytes!',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const look = () => {
      if (/api listening on/.test(out)) resolve();
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => reject(new Error(`api exited (${code}) before listening: ${out.slice(-2000)}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

type Msg = Record<string, any>;

/** A live client subscribed to every host; resolves with a function waiting for a host's snapshot. */
async function liveClient(url: string, token: string): Promise<{ ws: WebSocket; snapshotOf(host: string): Promise<Msg> }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/live`, { headers: { authorization: `Bearer ${token}` } });
  const messages: Msg[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d: RawData) => {
    messages.push(JSON.parse(String(d)) as Msg);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const find = (pred: (m: Msg) => boolean) =>
    new Promise<Msg>((resolve) => {
      const look = () => {
        const m = messages.find(pred);
        if (m) resolve(m);
        else waiters.push(look);
      };
      look();
    });
  ws.send(JSON.stringify({ type: 'subscribe', hosts: ['*'] }));
  await find((m) => m.type === 'subscribed');
  return { ws, snapshotOf: (host) => find((m) => m.type === 'snapshot' && m.host === host) };
}

describe('two api replicas on one database', function () {
  this.timeout(120_000);
  let t: TestSchema;
  let a: Replica;
  let b: Replica;
  let dbStart: Date;

  before(async () => {
    t = await testSchema({ prefix: 'repl2' });
    dbStart = (await t.pool.query<{ now: Date }>('SELECT now() AS now')).rows[0]!.now;
    // Started together: both find the schema empty, one migrates, the other waits for its lock.
    [a, b] = await Promise.all([startReplica(t, {}), startReplica(t, {})]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('both are ready on one schema, migrated once', async () => {
    for (const r of [a, b]) expect((await call(r.url, 'GET', '/ready')).status).to.equal(200);
    const m = await t.pool.query<{ version: number; n: number }>(`SELECT version, count(*)::int AS n FROM "${t.schema}".schema_migrations GROUP BY version ORDER BY version`);
    expect(m.rows.every((r) => r.n === 1)).to.equal(true);
    expect(m.rows.length).to.be.greaterThan(0);
  });

  it('each schedule exists once, and the every-minute rollups job is created once per minute and runs once', async () => {
    const boss = `"${t.schema}_boss"`;
    const sched = await t.pool.query<{ name: string; n: number }>(`SELECT name, count(*)::int AS n FROM ${boss}.schedule GROUP BY name ORDER BY name`);
    expect(sched.rows).to.deep.equal([JOB_QUEUES.partitions, JOB_QUEUES.retention, JOB_QUEUES.rollups].sort().map((name) => ({ name, n: 1 })));
    // pg-boss evaluates the crons at start: a rollups job for this minute, sent by one replica.
    let jobs: { state: string; created_on: Date }[] = [];
    for (;;) {
      jobs = (await t.pool.query(`SELECT state, created_on FROM ${boss}.job WHERE name = $1 ORDER BY created_on`, [JOB_QUEUES.rollups])).rows;
      if (jobs.some((j) => j.state === 'completed')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const now = (await t.pool.query<{ now: Date }>('SELECT now() AS now')).rows[0]!.now;
    // Minute boundaries since the replicas started: one job per minute at most, whoever sent it.
    const minutes = Math.floor(now.getTime() / 60_000) - Math.floor(dbStart.getTime() / 60_000) + 1;
    expect(jobs.length, JSON.stringify(jobs)).to.be.within(1, minutes);
    const slots = new Set(jobs.map((j) => Math.floor(j.created_on.getTime() / 60_000)));
    expect(slots.size, 'no two rollups jobs in one minute').to.equal(jobs.length);
  });

  it('the live stream reaches clients on both replicas', async () => {
    const token = (await login(a.url, ADMIN.username, ADMIN.password)).token;
    const clients = await Promise.all([liveClient(a.url, token), liveClient(b.url, token)]);
    try {
      const s = fakeSnapshot('replicated-live', Date.now() - 1_000, 3);
      await insertSnapshots(t.pool, [s]);
      const [onA, onB] = await Promise.all(clients.map((c) => c.snapshotOf('replicated-live')));
      expect(onA!.data).to.deep.equal(s);
      expect(onB!.data).to.deep.equal(s);
    } finally {
      for (const c of clients) c.ws.terminate();
    }
  });

  it('failed logins on both replicas add up to one limit (PERFWATCH_LOGIN_MAX_PER_USER)', async () => {
    const admin = (await login(b.url, ADMIN.username, ADMIN.password)).token;
    const user = { username: 'throttled-user', password: 'throttled-user-long-password-1' };
    expect((await call(a.url, 'POST', '/api/v1/users', { token: admin, body: { ...user, role: 'viewer', mustChangePassword: false } })).status).to.equal(201);
    // The default limit is 5 per user name in the window: 3 wrong on a, 2 wrong on b.
    const wrong = (r: Replica) => call(r.url, 'POST', '/api/v1/auth/login', { body: { username: user.username, password: 'not-the-password' } });
    for (const r of [a, b, a, b, a]) expect((await wrong(r)).status).to.equal(401);
    // Now even the right password is throttled, on either replica.
    for (const r of [a, b]) {
      const res = await call(r.url, 'POST', '/api/v1/auth/login', { body: user });
      expect(res.status, res.text).to.equal(429);
    }
  });

  it('an API token revoked and a session logged out on one replica are refused by the other', async () => {
    const admin = await login(a.url, ADMIN.username, ADMIN.password);
    const created = await call(a.url, 'POST', '/api/v1/tokens', { token: admin.token, body: { name: 'replicated', role: 'viewer' } });
    expect(created.status, created.text).to.equal(201);
    expect((await call(b.url, 'GET', '/api/v1/hosts', { token: created.body.token })).status).to.equal(200);
    expect((await call(a.url, 'DELETE', `/api/v1/tokens/${created.body.id}`, { token: admin.token })).status).to.be.oneOf([200, 204]);
    expect((await call(b.url, 'GET', '/api/v1/hosts', { token: created.body.token })).status).to.equal(401);

    const session = await login(b.url, ADMIN.username, ADMIN.password);
    expect((await call(a.url, 'GET', '/api/v1/hosts', { token: session.token })).status).to.equal(200);
    expect((await call(b.url, 'POST', '/api/v1/auth/logout', { token: session.token })).status).to.be.oneOf([200, 204]);
    // The access token (a JWT, still unexpired) is checked against the session on every request.
    expect((await call(a.url, 'GET', '/api/v1/hosts', { token: session.token })).status).to.equal(401);
  });
});
