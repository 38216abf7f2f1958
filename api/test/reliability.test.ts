/**
 * Reliability (issue #5): the api process (main.ts, as npm start runs it) against a PostgreSQL of
 * its own that the test stops and starts again, then freezes (SIGSTOP) and thaws, under light
 * load; and a failing background job that is retried and shows in the retention runs.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import type PgBoss from 'pg-boss';
import { createPool, insertSnapshots, JOB_QUEUES, startEmbeddedPostgres, type EmbeddedPostgres, type Pool } from '@perfwatch/store';
import { fakeSnapshot, freePort, tempDir } from '../../store/test/helpers.js';
import { ADMIN, call, login, startTestApi, type TestApi } from './helpers.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const T0 = Date.UTC(2030, 4, 1, 10, 0, 0);
/** The longest anything awaited here may take before the test fails instead of hanging. */
const GUARD_MS = 30_000;

/** The postmaster of a data directory and its children (backends, background workers). */
function postgresPids(dataDir: string): number[] {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const end = Date.now() + GUARD_MS;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** One request that must be answered (no hang): aborted, and so failed, past GUARD_MS. */
async function get(url: string, token?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(GUARD_MS) });
  const text = await r.text();
  return { status: r.status, body: text.startsWith('{') ? JSON.parse(text) : text, headers: r.headers };
}

/** The slowest answer the load may get while the database restarts or hangs (issue #20). */
const SLOWEST_MS = 10_000;

describe('reliability: PostgreSQL stopped and started again under load', function () {
  this.timeout(180_000);
  let pgServer: EmbeddedPostgres | undefined;
  let dataDir: { dir: string; remove(): void };
  let port: number;
  let child: ChildProcess | undefined;
  let out = '';
  let db: Pool | undefined;

  before(async () => {
    dataDir = tempDir('perfwatch-reliability-');
    port = await freePort();
    pgServer = await startEmbeddedPostgres({ dataDir: join(dataDir.dir, 'pg'), port });
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await db?.end().catch(() => undefined);
    await pgServer?.stop().catch(() => undefined);
    dataDir.remove();
  });

  it('the api stays up, answers 503 while the database is down or hung, and recovers by itself; the live stream resumes on the same connection', async function () {
    const env: Record<string, string | undefined> = {
      ...process.env,
      DATABASE_URL: pgServer!.url,
      PERFWATCH_DB_SCHEMA: 'perfwatch',
      // port 0, and the address read from the api's log: a port found free beforehand may be
      // taken by another process by the time the api listens.
      PERFWATCH_API_PORT: '0',
      PERFWATCH_API_HOST: '127.0.0.1',
      PERFWATCH_UI_PORT: 'off',
      PERFWATCH_SCRYPT_N: '1024',
      PERFWATCH_LOG_LEVEL: 'info',
      PERFWATCH_DB_CONNECT_TIMEOUT_SECONDS: '1',
      PERFWATCH_DB_STATEMENT_TIMEOUT_SECONDS: '2',
      // Few connections, so that requests queue for one while the database hangs.
      PERFWATCH_API_DB_POOL_MAX: '3',
      PERFWATCH_LIVE_PING_SECONDS: '1',
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
    };
    delete env.NODE_ENV;
    child = spawn(process.execPath, ['--conditions=perfwatch-src', '--import', 'tsx', MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const listening = Date.now() + GUARD_MS;
    let base: string | undefined;
    while (!(base = /"msg":"api listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(out)?.[1])) {
      if (Date.now() > listening || child.exitCode !== null) throw new Error(`the api did not say where it listens:\n${out}`);
      await sleep(50);
    }

    await until('the api to be ready', async () => ((await get(`${base}/ready`)).status === 200 ? true : undefined));
    const token = (await login(base, ADMIN.username, ADMIN.password)).token;
    db = createPool({ databaseUrl: pgServer!.url, schema: 'perfwatch', connectTimeoutMs: 1000, statementTimeoutMs: 2000 });

    // A live client, subscribed, that must never have to reconnect.
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/live`, { headers: { authorization: `Bearer ${token}` } });
    const messages: any[] = [];
    let closedCode: number | undefined;
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    ws.on('close', (code) => (closedCode = code));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'subscribe', hosts: ['rel'] }));
    await until('the subscription', async () => (messages.some((m) => m.type === 'subscribed') ? true : undefined), 20);
    let ts = T0;
    await insertSnapshots(db, [fakeSnapshot('rel', ts)]);
    await until('the first snapshot', async () => (messages.some((m) => m.type === 'snapshot' && m.ts === T0) ? true : undefined), 20);

    // Light load all along: 4 clients asking /api/v1/me back to back, a snapshot every 200 ms.
    let loading = true;
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let slowestMs = 0;
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (loading) {
          const started = performance.now();
          try {
            const r = await get(`${base}/api/v1/me`, token);
            slowestMs = Math.max(slowestMs, performance.now() - started);
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            if (r.status !== 200 && !(r.status === 503 && r.body?.error?.code === 'DB_UNAVAILABLE')) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
            if (r.status === 503 && !(Number(r.headers.get('retry-after')) > 0)) failures.push(`503 without Retry-After: ${JSON.stringify(r.body)}`);
          } catch (err) {
            failures.push(`no answer: ${(err as Error).message}`);
          }
          await sleep(20);
        }
      }),
    );
    const writer = (async () => {
      while (loading) {
        await insertSnapshots(db!, [fakeSnapshot('rel', (ts += 1000))]).catch(() => undefined);
        await sleep(200);
      }
    })();

    try {
      await sleep(500);
      await pgServer!.stop();
      pgServer = undefined;

      const notReady = await until('/ready to answer 503', async () => {
        const r = await get(`${base}/ready`);
        return r.status === 503 ? r : undefined;
      });
      expect(notReady.body.error.code).to.equal('DB_UNAVAILABLE');
      expect(notReady.body.error.message).to.be.a('string').and.not.equal('');
      // Requests that need the database are answered 503, not left hanging (get() aborts a hang).
      const me = await get(`${base}/api/v1/me`, token);
      expect(me.status).to.equal(503);
      expect(me.body.error.code).to.equal('DB_UNAVAILABLE');
      expect((await get(`${base}/health`)).status).to.equal(200);
      expect(child.exitCode, out).to.equal(null);
      await sleep(2000);

      pgServer = await startEmbeddedPostgres({ dataDir: join(dataDir.dir, 'pg'), port });
      await until('/ready to answer 200 again', async () => ((await get(`${base}/ready`)).status === 200 ? true : undefined));
      expect((await get(`${base}/api/v1/me`, token)).status).to.equal(200);

      // The live stream resumes on the same connection: a snapshot written now arrives.
      const after = ts + 100_000;
      await until('a snapshot written after the restart', async () => {
        await insertSnapshots(db!, [fakeSnapshot('rel', (ts = Math.max(ts, after) + 1000))]).catch(() => undefined);
        return messages.some((m) => m.type === 'snapshot' && m.ts >= after) ? true : undefined;
      }, 500);
      expect(closedCode).to.equal(undefined);
      expect(ws.readyState).to.equal(WebSocket.OPEN);

      // Now a database that hangs instead of refusing (SIGSTOP: connections open, nothing
      // answers). Queries in flight are cut off by the client-side timeout, requests waiting for
      // a connection by the pool checkout timeout: every request is answered 503, none hangs.
      const pids = postgresPids(join(dataDir.dir, 'pg'));
      expect(pids.length).to.be.greaterThan(0);
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      try {
        const burst = await Promise.all(Array.from({ length: 10 }, () => get(`${base}/api/v1/me`, token)));
        expect(burst.map((r) => r.status)).to.deep.equal(Array(10).fill(503));
        expect(new Set(burst.map((r) => r.body.error.code))).to.deep.equal(new Set(['DB_UNAVAILABLE']));
        expect((await get(`${base}/ready`)).status).to.equal(503);
        expect(child.exitCode, out).to.equal(null);
      } finally {
        for (const pid of pids) process.kill(pid, 'SIGCONT');
      }
      await until('/ready to answer 200 after the hang', async () => ((await get(`${base}/ready`)).status === 200 ? true : undefined));
      const afterHang = ts + 100_000;
      await until('a snapshot written after the hang', async () => {
        await insertSnapshots(db!, [fakeSnapshot('rel', (ts = Math.max(ts, afterHang) + 1000))]).catch(() => undefined);
        return messages.some((m) => m.type === 'snapshot' && m.ts >= afterHang) ? true : undefined;
      }, 500);
      expect(closedCode).to.equal(undefined);
    } finally {
      loading = false;
      await load;
      await writer;
      ws.terminate();
    }
    expect(failures, failures.slice(0, 5).join('\n')).to.deep.equal([]);
    expect(statuses.get(200)).to.be.greaterThan(0);
    expect(statuses.get(503), JSON.stringify([...statuses])).to.be.greaterThan(0);
    expect(slowestMs, 'slowest answer under load, ms').to.be.below(SLOWEST_MS);
    this.test!.title += ` [${[...statuses].map(([s, n]) => `${n}x ${s}`).join(', ')}; slowest ${Math.round(slowestMs)} ms]`;
    expect(child.exitCode, out).to.equal(null);
    expect(out).to.not.match(/unhandled rejection|uncaught/i);
    expect(out).to.match(/live stream: LISTEN re-established/);

    child.kill('SIGTERM');
    expect(await exited, out).to.equal(0);
  });
});

describe('reliability: background jobs', function () {
  this.timeout(120_000);
  let t: TestApi;

  before(async () => {
    t = await startTestApi({ start: { jobs: true } });
  });
  after(async () => {
    await t.close();
    await t.db.query(`DROP SCHEMA IF EXISTS "${t.schema}_boss" CASCADE`).catch(() => undefined);
  });

  it('is retried by pg-boss, and its failure is visible in /api/v1/retention/runs', async () => {
    const boss = t.api.jobs!.boss as PgBoss;
    const token = (await login(t.url, ADMIN.username, ADMIN.password)).token;
    // Without its policy the 1h tier's retention fails (as in store/test/jobs.test.ts).
    await t.db.query(`DELETE FROM retention_policies WHERE tier = '1h'`);
    const id = (await boss.send(JOB_QUEUES.retention, { reason: 'test' }, { retryLimit: 5, retryDelay: 1 }))!;
    expect(id).to.be.a('string');
    await until('the first attempt to fail', async () => ((await boss.getJobById(JOB_QUEUES.retention, id))?.state === 'retry' ? true : undefined), 50);
    await t.db.query(`INSERT INTO retention_policies (tier, days) VALUES ('1h', 730)`);
    const job = await until('the job to finish', async () => {
      const j = await boss.getJobById(JOB_QUEUES.retention, id);
      return j && ['completed', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
    }, 200);
    expect(job.state).to.equal('completed');
    expect(job.retryCount).to.be.at.least(1);

    const runs = await call(t.url, 'GET', '/api/v1/retention/runs', { token });
    expect(runs.status).to.equal(200);
    const oneH = (runs.body.runs as { tier: string; error: string | null }[]).filter((r) => r.tier === '1h');
    expect(oneH.some((r) => typeof r.error === 'string' && r.error.length > 0), JSON.stringify(oneH)).to.equal(true);
    expect(oneH.some((r) => r.error === null), JSON.stringify(oneH)).to.equal(true);
  });

  it('/metrics: the depth of every pg-boss queue, a job waiting counted', async () => {
    const boss = t.api.jobs!.boss as PgBoss;
    const depth = async () => {
      const text = (await call(t.url, 'GET', '/metrics')).text;
      return Object.fromEntries([...text.matchAll(/^perfwatch_api_jobs_queued\{queue="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
    };
    const before = await depth();
    expect(Object.keys(before).sort()).to.deep.equal(Object.values(JOB_QUEUES).sort());
    // A partitions run for in an hour: waiting in the queue until then.
    expect(await boss.send(JOB_QUEUES.partitions, {}, { startAfter: 3600 })).to.be.a('string');
    expect((await depth())[JOB_QUEUES.partitions]).to.equal(before[JOB_QUEUES.partitions]! + 1);
  });
});
