/**
 * GET /api/v1/status over HTTP against a real PostgreSQL with snapshots written by the store's
 * insertSnapshots: ages against the server's clock, the stale flag, collectors and perf reasons
 * from the newest snapshot, storage that grows with inserts (exact counts, and the estimates of
 * large tiers), the last retention run, the schedule pg-boss keeps, and who may read it.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { insertSnapshots, runRollups, type Snapshot } from '@perfwatch/store';
import { fixtureSnapshot, simulate } from '../../store/test/synth.js';
import { nextCronRun, storageStatus } from '../src/routes/status.js';
import { ADMIN, call, createUser, expectErrorShape, login, startTestApi, type TestApi } from './helpers.js';

interface HostRow {
  name: string;
  lastSeen: string | null;
  ageSeconds: number | null;
  stale: boolean;
  staleAfterSeconds: number;
  intervalSeconds: number | null;
  collectors: { name: string; ok: boolean; seconds: number; error?: string }[];
  perf: { events: string[]; unavailable: Record<string, string> } | null;
}

interface Storage {
  tier: string;
  rows: number;
  rowsEstimated: boolean;
  bytes: number;
  partitions: number;
  days: number;
}

const PERF = {
  ev: ['cpu-cycles', 'instructions', 'task-clock', 'context-switches'],
  c: { '0': [null, null, 5.0, 120], '1': [null, null, 5.0, 97] },
  r: { '0': [null, null, 1, 1], '1': [null, null, 1, 1] },
  un: { 'cpu-cycles': 'not supported', instructions: 'not supported' },
};

describe('GET /api/v1/status', function () {
  this.timeout(60_000);
  let t: TestApi;
  let admin: string;
  let viewer: string;

  const status = async (token = admin) => {
    const r = await call(t.url, 'GET', '/api/v1/status', { token });
    expect(r.status, r.text).to.equal(200);
    return r.body as { version: string; revision: string; now: string; database: { sizeBytes: number; serverVersion: string }; hosts: HostRow[]; storage: Storage[]; retention: { enabled: boolean; cron: string | null; nextRunAt: string | null; lastRun: any } };
  };
  const host = (body: { hosts: HostRow[] }, name: string) => {
    const h = body.hosts.find((x) => x.name === name);
    expect(h, `host ${name} in ${JSON.stringify(body.hosts.map((x) => x.name))}`).to.not.equal(undefined);
    return h!;
  };
  const tier = (body: { storage: Storage[] }, name: string) => body.storage.find((x) => x.tier === name)!;

  before(async () => {
    t = await startTestApi();
    admin = (await login(t.url, ADMIN.username, ADMIN.password)).token;
    viewer = (await createUser(t.url, admin, { username: 'vera', role: 'viewer' })).session.token;
  });
  after(() => t.close());

  it('answers versions, the database and empty history on a new installation', async () => {
    const b = await status();
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(b.version).to.equal(pkg.version);
    expect(b.revision).to.be.a('string');
    const db = (await t.db.query(`SELECT pg_database_size(current_database()) AS size, current_setting('server_version') AS v`)).rows[0];
    expect(b.database.serverVersion).to.equal(db.v);
    expect(b.database.serverVersion).to.match(/^1[5-9]/);
    // The same database, a moment apart: within a few MB of each other (other tests write to it).
    expect(b.database.sizeBytes).to.be.greaterThan(1_000_000);
    expect(Math.abs(b.database.sizeBytes - Number(db.size))).to.be.below(64 * 1024 * 1024);
    expect(Number.isNaN(Date.parse(b.now))).to.equal(false);
    expect(b.hosts).to.deep.equal([]);
    expect(b.storage.map((s) => s.tier)).to.deep.equal(['raw', '1m', '1h']);
    for (const s of b.storage) {
      expect(s.rows, s.tier).to.equal(0);
      expect(s.rowsEstimated, s.tier).to.equal(false);
      // The migrations create yesterday's, today's and tomorrow's partitions (1h: this month and the next).
      expect(s.partitions, s.tier).to.be.at.least(2);
    }
    expect(b.storage.map((s) => s.days)).to.deep.equal([30, 90, 730]);
    expect(b.retention).to.deep.equal({ enabled: true, cron: null, nextRunAt: null, lastRun: null });
  });

  it('reports each host: age, interval, stale flag, collectors and perf reasons of its newest snapshot', async () => {
    const now = Date.now();
    // fresh: three snapshots at 5 s, the newest just written; one collector failed in it; perf without a PMU.
    const fresh = simulate(fixtureSnapshot('small'), 'fresh', now - 10_000, 3);
    const newest = fresh[2]!;
    newest.col.diskstats = { ok: false, s: 0.0021, err: '/proc/diskstats line 3: expected at least 14 fields' };
    (newest as Snapshot).perf = JSON.parse(JSON.stringify(PERF));
    // stale: its newest snapshot is 10 minutes old (3 x 5 s is 15 s).
    const stale = simulate(fixtureSnapshot('small'), 'stale', now - 600_000, 2);
    // no-iv: snapshots without an interval field, 60 s apart, the newest 100 s old: 3 x 60 s not reached.
    const noIv = simulate(fixtureSnapshot('small'), 'no-iv', now - 160_000, 2, { intervalMs: 60_000 }).map((s) => {
      const x = { ...s } as Partial<Snapshot>;
      delete x.iv;
      return x as Snapshot;
    });
    await insertSnapshots(t.db, [...fresh, ...stale, ...noIv]);
    // a host registered by hand that never wrote
    await t.db.query(`INSERT INTO hosts (name) VALUES ('never-wrote')`);

    const b = await status();
    expect(b.hosts.map((h) => h.name)).to.deep.equal(['fresh', 'never-wrote', 'no-iv', 'stale']);
    const serverNow = Date.parse(b.now);

    const f = host(b, 'fresh');
    expect(f.lastSeen).to.equal(new Date(newest.ts).toISOString());
    expect(f.ageSeconds).to.be.closeTo((serverNow - newest.ts) / 1000, 0.002);
    expect(f.intervalSeconds).to.equal(5);
    expect(f.staleAfterSeconds).to.equal(15);
    expect(f.stale).to.equal(f.ageSeconds! > 15);
    expect(f.collectors.map((c) => c.name)).to.deep.equal(Object.keys(newest.col).sort());
    const disk = f.collectors.find((c) => c.name === 'diskstats')!;
    expect(disk).to.deep.equal({ name: 'diskstats', ok: false, seconds: 0.0021, error: '/proc/diskstats line 3: expected at least 14 fields' });
    const cpu = f.collectors.find((c) => c.name === 'cpu')!;
    expect(cpu.ok).to.equal(true);
    expect(cpu.seconds).to.equal(newest.col.cpu!.s);
    expect(cpu).to.not.have.property('error');
    expect(f.perf).to.deep.equal({ events: PERF.ev, unavailable: PERF.un });

    const s = host(b, 'stale');
    expect(s.stale).to.equal(true);
    expect(s.ageSeconds).to.be.closeTo((serverNow - stale[1]!.ts) / 1000, 0.002);
    expect(s.ageSeconds).to.be.greaterThan(590);
    expect(s.perf).to.equal(null);
    expect(s.collectors.every((c) => c.ok)).to.equal(true);

    const n = host(b, 'no-iv');
    expect(n.intervalSeconds).to.equal(60);
    expect(n.staleAfterSeconds).to.equal(180);
    expect(n.stale).to.equal(false);
    expect(n.ageSeconds).to.be.closeTo((serverNow - noIv[1]!.ts) / 1000, 0.002);

    const never = host(b, 'never-wrote');
    expect(never).to.include({ lastSeen: null, ageSeconds: null, stale: true, intervalSeconds: null, perf: null });
    expect(never.collectors).to.deep.equal([]);

    // A newer snapshot of the stale host makes it fresh, and its age follows.
    const back = simulate(fixtureSnapshot('small'), 'stale', Date.now(), 1, { seed: 9 });
    await insertSnapshots(t.db, back);
    const b2 = await status();
    const s2 = host(b2, 'stale');
    expect(s2.lastSeen).to.equal(new Date(back[0]!.ts).toISOString());
    expect(s2.ageSeconds).to.be.closeTo((Date.parse(b2.now) - back[0]!.ts) / 1000, 0.002);
    expect(s2.stale).to.equal(s2.ageSeconds! > 15);
  });

  it('counts rows and bytes per tier, and both grow with inserts', async () => {
    const before = await status();
    const raw0 = tier(before, 'raw');
    const exact = async (table: string) => Number((await t.db.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    expect(raw0.rows).to.equal(await exact('snapshots'));
    expect(raw0.rows).to.be.greaterThan(0);

    // 40 minutes of one more host at 5 s, three hours ago, then rollups: raw, 1m and 1h rows appear.
    const start = Date.now() - 3 * 3_600_000;
    await insertSnapshots(t.db, simulate(fixtureSnapshot('small'), 'grower', Math.floor(start / 3_600_000) * 3_600_000, 480, { seed: 3 }));
    await runRollups(t.db, { tier: '1m' });
    await runRollups(t.db, { tier: '1h' });

    const after = await status();
    const raw1 = tier(after, 'raw');
    expect(raw1.rows).to.equal(raw0.rows + 480);
    expect(raw1.rows).to.equal(await exact('snapshots'));
    expect(raw1.bytes).to.be.greaterThan(raw0.bytes);
    const m1 = tier(after, '1m');
    expect(m1.rows).to.equal(await exact('rollups_1m'));
    expect(m1.rows).to.be.greaterThan(tier(before, '1m').rows);
    expect(m1.bytes).to.be.greaterThan(0);
    const partBytes = Number(
      (await t.db.query(`SELECT sum(pg_total_relation_size(relid)) AS b FROM pg_partition_tree('rollups_1m') WHERE isleaf`)).rows[0].b,
    );
    expect(m1.bytes).to.equal(partBytes);
    for (const s of after.storage) expect(s.rowsEstimated, s.tier).to.equal(false);
  });

  it('answers PostgreSQL’s estimates for large tiers (exact once analysed)', async () => {
    await t.db.query('ANALYZE snapshots; ANALYZE rollups_1m; ANALYZE rollups_1h');
    const est = await storageStatus(t.db, 0);
    const counted = await storageStatus(t.db);
    for (const tr of ['raw', '1m', '1h']) {
      const e = est.find((x) => x.tier === tr)!;
      const c = counted.find((x) => x.tier === tr)!;
      expect(e.rowsEstimated, tr).to.equal(true);
      expect(c.rowsEstimated, tr).to.equal(false);
      // ANALYZE reads every row of tables this small: the estimate is the count.
      expect(e.rows, tr).to.equal(c.rows);
    }
  });

  it('reports the newest retention run of each tier together', async () => {
    await t.db.query(
      `INSERT INTO retention_runs (tier, started_at, finished_at, duration_seconds, dropped_partitions, error) VALUES
         ('raw', now() - interval '2 days', now() - interval '2 days', 0.5, '{snapshots_20200101}', NULL),
         ('raw', now() - interval '60 seconds', now() - interval '59 seconds', 1.0, '{snapshots_20250101,snapshots_20250102}', NULL),
         ('1m', now() - interval '59 seconds', now() - interval '58 seconds', 0.25, '{}', 'could not obtain lock on relation "rollups_1m"'),
         ('1h', now() - interval '58 seconds', now() - interval '57 seconds', 0.25, '{rollups_1h_202401}', NULL)`,
    );
    const r = (await status()).retention.lastRun;
    expect(r.tiers.map((x: { tier: string }) => x.tier)).to.deep.equal(['raw', '1m', '1h']);
    expect(r.droppedPartitions).to.deep.equal(['snapshots_20250101', 'snapshots_20250102', 'rollups_1h_202401']);
    expect(r.error).to.equal('1m: could not obtain lock on relation "rollups_1m"');
    expect(r.durationSeconds).to.equal(1.5);
    const db = (await t.db.query(`SELECT min(started_at) AS s, max(finished_at) AS f FROM retention_runs WHERE started_at > now() - interval '1 day'`)).rows[0];
    expect(r.startedAt).to.equal(db.s.toISOString());
    expect(r.finishedAt).to.equal(db.f.toISOString());

    // A run in progress (no end yet): not finished, no duration.
    await t.db.query(`INSERT INTO retention_runs (tier) VALUES ('raw')`);
    const r2 = (await status()).retention.lastRun;
    expect(r2.finishedAt).to.equal(null);
    expect(r2.durationSeconds).to.equal(null);
  });

  it('viewers and API tokens may read it; anonymous callers and unknown parameters may not', async () => {
    const v = await status(viewer);
    expect(v.hosts.length).to.be.greaterThan(0);
    const token = (await call(t.url, 'POST', '/api/v1/tokens', { token: viewer, body: { name: 'status reader' } })).body.token as string;
    expect((await call(t.url, 'GET', '/api/v1/status', { token })).status).to.equal(200);
    expectErrorShape(await call(t.url, 'GET', '/api/v1/status'), 401, 'UNAUTHENTICATED');
    const bad = await call(t.url, 'GET', '/api/v1/status?host=x%27%3B%20DROP%20TABLE%20hosts--', { token: admin });
    expectErrorShape(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.error.message).to.include('query.host');
    const doc = (await call(t.url, 'GET', '/api/openapi.json')).body;
    expect(doc.paths['/api/v1/status'].get['x-required-role']).to.equal('viewer');
  });

  describe('with the background jobs', () => {
    it('gives the next run of the retention schedule pg-boss keeps', async () => {
      const j = await startTestApi({ start: { jobs: true } });
      try {
        const tok = (await login(j.url, ADMIN.username, ADMIN.password)).token;
        const b = (await call(j.url, 'GET', '/api/v1/status', { token: tok })).body;
        const row = (await j.db.query(`SELECT cron, timezone FROM "${j.schema}_boss".schedule WHERE name = 'perfwatch-retention'`)).rows[0];
        expect(row.timezone).to.equal('UTC');
        expect(b.retention.enabled).to.equal(true);
        expect(b.retention.cron).to.equal(row.cron);
        // The store's default: daily at 03:17 UTC, the first one after the server's now.
        expect(row.cron).to.equal('17 3 * * *');
        const now = Date.parse(b.now);
        const next = Date.parse(b.retention.nextRunAt);
        const d = new Date(next);
        expect([d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]).to.deep.equal([3, 17, 0]);
        expect(next).to.be.greaterThan(now);
        expect(next - now).to.be.at.most(86_400_000);
      } finally {
        await j.close();
      }
    });

    it('has no next run with RETENTION_CLEANUP_ENABLED=false', async () => {
      const j = await startTestApi({ env: { RETENTION_CLEANUP_ENABLED: 'false' }, start: { jobs: true } });
      try {
        const tok = (await login(j.url, ADMIN.username, ADMIN.password)).token;
        const b = (await call(j.url, 'GET', '/api/v1/status', { token: tok })).body;
        expect(b.retention).to.include({ enabled: false, cron: null, nextRunAt: null });
      } finally {
        await j.close();
      }
    });
  });
});

describe('nextCronRun', () => {
  const at = (iso: string) => Date.parse(iso);
  const cases: [string, string, string | undefined][] = [
    ['17 3 * * *', '2026-11-26T01:10:00Z', '2026-11-26T03:17:00.000Z'],
    ['17 3 * * *', '2026-11-26T03:17:00Z', '2026-11-27T03:17:00.000Z'],
    ['17 3 * * *', '2026-12-31T04:00:00Z', '2027-01-01T03:17:00.000Z'],
    ['* * * * *', '2026-11-26T01:10:30Z', '2026-11-26T01:11:00.000Z'],
    ['7 * * * *', '2026-11-26T01:10:00Z', '2026-11-26T02:07:00.000Z'],
    ['*/15 * * * *', '2026-11-26T01:10:00Z', '2026-11-26T01:15:00.000Z'],
    ['0 0 29 2 *', '2026-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    // day of month or day of week when both are given (cron's rule): the 1st, or a Monday.
    ['0 12 1 * MON', '2026-11-26T00:00:00Z', '2026-11-30T12:00:00.000Z'],
    ['0 12 * * 0', '2026-11-26T00:00:00Z', '2026-11-29T12:00:00.000Z'],
    ['0 12 * * 7', '2026-11-26T00:00:00Z', '2026-11-29T12:00:00.000Z'],
    ['30 9-17/4 * JAN-MAR 1-5', '2026-11-26T00:00:00Z', '2027-01-01T09:30:00.000Z'],
    ['5,35 1 * * *', '2026-11-26T01:10:00Z', '2026-11-26T01:35:00.000Z'],
    ['0 0 31 2 *', '2026-11-26T00:00:00Z', undefined],
    ['60 * * * *', '2026-11-26T00:00:00Z', undefined],
    ['* * *', '2026-11-26T00:00:00Z', undefined],
    ['x * * * *', '2026-11-26T00:00:00Z', undefined],
  ];
  for (const [expr, after, want] of cases) {
    it(`${expr} after ${after} -> ${want ?? 'none'}`, () => {
      const got = nextCronRun(expr, at(after));
      expect(got === undefined ? undefined : new Date(got).toISOString()).to.equal(want);
    });
  }
});
