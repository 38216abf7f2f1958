/**
 * The live stream /api/v1/live over real WebSockets against an api on a real PostgreSQL: auth at
 * the upgrade, subscriptions, snapshots written with insertSnapshots (the exporter's path)
 * arriving with `derived`, error frames, slow clients, dead peers, the LISTEN connection lost and
 * re-established, and the stream's metrics.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket, type RawData } from 'ws';
import { insertSnapshots, type Snapshot } from '@perfwatch/store';
import { fakeSnapshot, tempDir } from '../../store/test/helpers.js';
import { ADMIN, call, createUser, login, startTestApi, type TestApi } from './helpers.js';

const T0 = Date.UTC(2030, 4, 1, 10, 0, 0);
const EXPORTER_MAIN = fileURLToPath(new URL('../../exporter/src/main.ts', import.meta.url));
/**
 * How long a test waits for something that must happen, before failing instead of hanging. Only
 * a guard, so generous: the end-to-end test's first snapshot waits for an exporter process to
 * start, which a loaded machine can make take over 10 s.
 */
const GUARD_MS = 30_000;

type Msg = Record<string, any>;

/** A client with every message it received, in order. */
interface Client {
  ws: WebSocket;
  messages: Msg[];
  /** the next message (after the ones already taken) matching pred. */
  next(pred?: (m: Msg) => boolean): Promise<Msg>;
  closed: Promise<{ code: number; reason: string }>;
}

function wsUrl(httpUrl: string, query = ''): string {
  return `${httpUrl.replace(/^http/, 'ws')}/api/v1/live${query}`;
}

function open(url: string, opts: { token?: string; headers?: Record<string, string>; autoPong?: boolean; query?: string } = {}): Promise<Client> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const ws = new WebSocket(wsUrl(url, opts.query), { headers, autoPong: opts.autoPong ?? true });
  const messages: Msg[] = [];
  let taken = 0;
  const waiters: (() => void)[] = [];
  ws.on('message', (data: RawData) => {
    messages.push(JSON.parse(String(data)) as Msg);
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const next = (pred: (m: Msg) => boolean = () => true) =>
    new Promise<Msg>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`no matching message within ${GUARD_MS} ms; got ${JSON.stringify(messages.slice(taken)).slice(0, 500)}`)), GUARD_MS);
      const look = () => {
        while (taken < messages.length) {
          const m = messages[taken++]!;
          if (pred(m)) {
            clearTimeout(guard);
            resolve(m);
            return;
          }
        }
        waiters.push(look);
      };
      look();
    });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, next, closed }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

/** The HTTP answer to an upgrade the server refuses. */
function refused(url: string, opts: { headers?: Record<string, string>; query?: string; path?: string } = {}): Promise<{ status: number; body: any }> {
  const target = opts.path ? `${url.replace(/^http/, 'ws')}${opts.path}` : wsUrl(url, opts.query);
  const ws = new WebSocket(target, { headers: opts.headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        ws.terminate();
      });
    });
  });
}

async function subscribe(c: Client, hosts: string[]): Promise<void> {
  c.ws.send(JSON.stringify({ type: 'subscribe', hosts }));
  const ack = await c.next((m) => m.type !== 'snapshot');
  expect(ack).to.deep.equal({ type: 'subscribed', hosts });
}

function closeAll(clients: Client[]): Promise<unknown> {
  return Promise.all(
    clients.splice(0).map((c) => {
      c.ws.terminate();
      return c.closed;
    }),
  );
}

/** Waits until cond() holds, checking every 20 ms (for server-side state the client cannot see). */
async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + GUARD_MS;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('live stream /api/v1/live', function () {
  this.timeout(60_000);
  let t: TestApi;
  let token: string;
  const clients: Client[] = [];
  const connect = async (opts: Parameters<typeof open>[1] = {}) => {
    const c = await open(t.url, { token, ...opts });
    clients.push(c);
    return c;
  };

  before(async () => {
    t = await startTestApi({
      // Pings every second: the clients run in this process, and a healthy one misses its pong
      // (and is dropped as dead) when the event loop stalls for a whole interval; 0.2 s was within
      // reach of a garbage collection on a loaded machine.
      env: { PERFWATCH_LIVE_PING_SECONDS: '1', PERFWATCH_LIVE_MAX_CLIENTS_PER_USER: '6', PERFWATCH_LIVE_MAX_MESSAGE_BYTES: '4096', PERFWATCH_UI_PORT: '0' },
      start: { serveUi: true },
    });
    token = (await login(t.url, ADMIN.username, ADMIN.password)).token;
  });
  afterEach(() => closeAll(clients));
  after(() => t.close());

  describe('authentication at the upgrade', () => {
    it('no credential, a bad token, a malformed header: 401 with the error body, no upgrade', async () => {
      for (const [headers, code] of [
        [{}, 'UNAUTHENTICATED'],
        [{ authorization: 'Bearer not-a-token' }, 'INVALID_TOKEN'],
        [{ authorization: 'Bearer pw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 'INVALID_TOKEN'],
        [{ authorization: 'Basic YWRtaW46YWRtaW4=' }, 'INVALID_TOKEN'],
        [{ authorization: `Bearer ${token.slice(0, -4)}AAAA` }, 'INVALID_TOKEN'],
      ] as const) {
        const r = await refused(t.url, { headers });
        expect(r.status, JSON.stringify(headers)).to.equal(401);
        expect(r.body.error.code).to.equal(code);
        expect(r.body.error.message).to.be.a('string');
      }
    });

    it('a revoked API token and a logged-out session token: 401', async () => {
      const created = await call(t.url, 'POST', '/api/v1/tokens', { token, body: { name: 'live', role: 'viewer' } });
      expect(created.status).to.equal(201);
      const c = await connect({ token: created.body.token });
      expect(c.ws.readyState).to.equal(WebSocket.OPEN);
      expect((await call(t.url, 'DELETE', `/api/v1/tokens/${created.body.id}`, { token })).status).to.equal(204);
      expect((await refused(t.url, { headers: { authorization: `Bearer ${created.body.token}` } })).status).to.equal(401);
      // The open connection is closed too once its credential is checked again.
      expect(await c.closed).to.include({ code: 4001 });

      const s = await login(t.url, ADMIN.username, ADMIN.password);
      expect((await call(t.url, 'POST', '/api/v1/auth/logout', { token: s.token })).status).to.equal(204);
      expect((await refused(t.url, { headers: { authorization: `Bearer ${s.token}` } })).status).to.equal(401);
    });

    it('?access_token= and the session cookie work; the cookie from another site is refused (403)', async () => {
      const q = await connect({ token: '', query: `?access_token=${encodeURIComponent(token)}` });
      await subscribe(q, ['x']);
      const k = await connect({ token: '', headers: { cookie: `pw_session=${token}`, origin: 'http://localhost:3000' } });
      await subscribe(k, ['x']);
      const r = await refused(t.url, { headers: { cookie: `pw_session=${token}`, origin: 'https://evil.example' } });
      expect(r.status).to.equal(403);
      expect(r.body.error.code).to.equal('ORIGIN_NOT_ALLOWED');
    });

    it("the admin UI's port serves it too, with the session cookie of its own origin", async () => {
      const ui = t.api.uiUrl!;
      expect(ui).to.be.a('string').and.not.equal(t.url);
      const c = await open(ui, { headers: { cookie: `pw_session=${token}`, origin: ui } });
      clients.push(c);
      await subscribe(c, ['via-ui']);
      await insertSnapshots(t.db, [fakeSnapshot('via-ui', T0)]);
      expect(await c.next()).to.include({ type: 'snapshot', host: 'via-ui', ts: T0 });
      expect((await refused(ui)).status).to.equal(401);
    });

    it('a user who must change their password first: 403 PASSWORD_CHANGE_REQUIRED', async () => {
      const u = await createUser(t.url, token, { username: 'live-mustchange', role: 'viewer', mustChangePassword: true });
      const r = await refused(t.url, { headers: { authorization: `Bearer ${u.session.token}` } });
      expect(r.status).to.equal(403);
      expect(r.body.error.code).to.equal('PASSWORD_CHANGE_REQUIRED');
    });

    it('other paths are not upgraded (404); a user past PERFWATCH_LIVE_MAX_CLIENTS_PER_USER gets 429', async () => {
      const r = await refused(t.url, { path: '/api/v1/other', headers: { authorization: `Bearer ${token}` } });
      expect(r.status).to.equal(404);
      const u = await createUser(t.url, token, { username: 'live-limit', role: 'viewer' });
      for (let i = 0; i < 6; i++) await connect({ token: u.session.token });
      const over = await refused(t.url, { headers: { authorization: `Bearer ${u.session.token}` } });
      expect(over.status).to.equal(429);
      expect(over.body.error.code).to.equal('TOO_MANY_CONNECTIONS');
      // Another user is not affected.
      await connect();
    });
  });

  describe('snapshots', () => {
    it('a subscribed host\'s snapshot arrives after insertSnapshots, exactly as written', async () => {
      const c = await connect();
      await subscribe(c, ['live-a']);
      const s = fakeSnapshot('live-a', T0, 1);
      await insertSnapshots(t.db, [s]);
      const m = await c.next();
      expect(m.type).to.equal('snapshot');
      expect(m.host).to.equal('live-a');
      expect(m.ts).to.equal(T0);
      expect(m.data).to.deep.equal(s);
      expect(m.derived).to.have.keys('cpu_utilisation_ratio', 'instructions_per_cycle');
    });

    it('only subscribed hosts; "*" gets every host; a batch of several gives one message each, oldest first', async () => {
      const one = await connect();
      const all = await connect();
      await subscribe(one, ['only-a']);
      await subscribe(all, ['*']);
      await insertSnapshots(t.db, [fakeSnapshot('only-b', T0)]);
      await insertSnapshots(t.db, [fakeSnapshot('only-a', T0), fakeSnapshot('only-a', T0 + 5000)]);
      const m1 = await one.next();
      const m2 = await one.next();
      expect([m1.host, m1.ts, m2.host, m2.ts]).to.deep.equal(['only-a', T0, 'only-a', T0 + 5000]);
      // "*" gets all three; the two hosts are read at once, so only-b's may come before, between
      // or after only-a's (each host's own oldest first)
      const seen = [await all.next(), await all.next(), await all.next()].map((m) => `${m.host} ${m.ts}`);
      expect([...seen].sort()).to.deep.equal([`only-a ${T0}`, `only-a ${T0 + 5000}`, `only-b ${T0}`]);
      expect(seen.filter((x) => x.startsWith('only-a'))).to.deep.equal([`only-a ${T0}`, `only-a ${T0 + 5000}`]);
      // A new subscription replaces the old one.
      await subscribe(one, ['only-b']);
      await insertSnapshots(t.db, [fakeSnapshot('only-a', T0 + 10_000), fakeSnapshot('only-b', T0 + 10_000)]);
      expect(await one.next()).to.include({ host: 'only-b', ts: T0 + 10_000 });
      expect(one.messages.filter((m) => m.host === 'only-a')).to.have.length(2);
    });

    it('"*" starts at the newest snapshot of every host there is: all of a later batch arrives, nothing before', async () => {
      await insertSnapshots(t.db, [fakeSnapshot('wild-old', T0)]);
      const c = await connect();
      await subscribe(c, ['*']);
      await insertSnapshots(t.db, [fakeSnapshot('wild-old', T0 + 5000), fakeSnapshot('wild-old', T0 + 10_000)]);
      const got = [await c.next(), await c.next()];
      expect(got.map((m) => [m.host, m.ts])).to.deep.equal([
        ['wild-old', T0 + 5000],
        ['wild-old', T0 + 10_000],
      ]);
    });

    it('derived: cpu utilisation and IPC against the previous snapshot; null without one or without PMU counters', async () => {
      const c = await connect();
      await subscribe(c, ['derive']);
      const base = fakeSnapshot('derive', T0);
      // CPU modes: user nice system idle iowait irq softirq steal guest guest_nice
      const a: Snapshot = {
        ...base,
        cpu: { t: { '0': [100, 0, 50, 1000, 10, 0, 0, 0, 0, 0], '1': [200, 0, 60, 900, 0, 0, 0, 0, 0, 0] } },
        perf: { ev: ['cpu-cycles', 'instructions', 'task-clock'], c: { '0': [1000, 500, 1], '1': [2000, 4000, 1] }, r: { '0': [1, 1, 1], '1': [1, 1, 1] }, un: {} },
      } as Snapshot;
      const b: Snapshot = {
        ...a,
        ts: T0 + 5000,
        cpu: { t: { '0': [103, 0, 50, 1006, 11, 0, 0, 0, 0, 0], '1': [201, 0, 61, 908, 0, 0, 0, 0, 0, 0] } },
        perf: { ev: ['cpu-cycles', 'instructions', 'task-clock'], c: { '0': [3000, 3500, 6], '1': [4000, 6000, 6] }, r: { '0': [1, 1, 1], '1': [1, 1, 1] }, un: {} },
      } as Snapshot;
      // No PMU (as on these VMs): cycles and instructions are null.
      const cNoPmu: Snapshot = {
        ...b,
        ts: T0 + 10_000,
        cpu: { t: { '0': [104, 0, 50, 1015, 11, 0, 0, 0, 0, 0], '1': [202, 0, 61, 917, 0, 0, 0, 0, 0, 0] } },
        perf: { ev: ['cpu-cycles', 'instructions', 'task-clock'], c: { '0': [null, null, 11], '1': [null, null, 11] }, r: { '0': [null, null, 1], '1': [null, null, 1] }, un: { 'cpu-cycles': 'not supported', instructions: 'not supported' } },
      } as Snapshot;
      await insertSnapshots(t.db, [a]);
      expect((await c.next()).derived).to.deep.equal({ cpu_utilisation_ratio: null, instructions_per_cycle: null });
      await insertSnapshots(t.db, [b]);
      const mb = await c.next();
      // Δ: cpu0 user 3 idle 6 iowait 1 (10 s), cpu1 user 1 system 1 idle 8 (10 s): busy 5 of 20.
      const idle = 6 + 1 + 8;
      const total = 3 + 6 + 1 + 1 + 1 + 8;
      expect(mb.derived.cpu_utilisation_ratio).to.be.closeTo(1 - idle / total, 1e-12);
      // Δinstructions (3000 + 2000) / Δcycles (2000 + 2000).
      expect(mb.derived.instructions_per_cycle).to.be.closeTo(5000 / 4000, 1e-12);
      await insertSnapshots(t.db, [cNoPmu]);
      const mc = await c.next();
      expect(mc.derived.instructions_per_cycle).to.equal(null);
      expect(mc.derived.cpu_utilisation_ratio).to.be.closeTo(1 - (9 + 9) / (1 + 9 + 1 + 9), 1e-12);
    });
  });

  describe('messages from the client', () => {
    it('bad messages get an error frame and the connection stays usable', async () => {
      const c = await connect();
      const cases: [string | Buffer, string][] = [
        ['not json', 'INVALID_JSON'],
        ['[1,2]', 'INVALID_MESSAGE'],
        ['{"type":"dance"}', 'UNKNOWN_TYPE'],
        ['{"hosts":["a"]}', 'UNKNOWN_TYPE'],
        ['{"type":"subscribe","hosts":"a"}', 'VALIDATION_FAILED'],
        ['{"type":"subscribe","hosts":[1]}', 'VALIDATION_FAILED'],
        [`{"type":"subscribe","hosts":["${'x'.repeat(254)}"]}`, 'VALIDATION_FAILED'],
        [Buffer.from([1, 2, 3]), 'INVALID_MESSAGE'],
      ];
      for (const [text, code] of cases) {
        c.ws.send(text, { binary: Buffer.isBuffer(text) });
        const m = await c.next();
        expect(m, String(text)).to.include({ type: 'error', code });
        expect(m.message).to.be.a('string');
      }
      await subscribe(c, ['still-fine']);
      await insertSnapshots(t.db, [fakeSnapshot('still-fine', T0)]);
      expect(await c.next()).to.include({ type: 'snapshot', host: 'still-fine' });
    });

    it('a host name with U+0000 is VALIDATION_FAILED naming it, not an internal error (#19)', async () => {
      const c = await connect();
      c.ws.send('{"type":"subscribe","hosts":["fine","bad\\u0000host"]}');
      const m = await c.next();
      expect(m).to.include({ type: 'error', code: 'VALIDATION_FAILED' });
      expect(m.message).to.equal('hosts.1: must not contain the character U+0000 (NUL)');
      await subscribe(c, ['after-nul']);
    });

    it('a message over PERFWATCH_LIVE_MAX_MESSAGE_BYTES closes the connection (1009)', async () => {
      const c = await connect();
      c.ws.send(JSON.stringify({ type: 'subscribe', hosts: Array.from({ length: 100 }, (_, i) => `host-${i}-${'y'.repeat(40)}`) }));
      expect((await c.closed).code).to.equal(1009);
    });
  });

  describe('dead peers, the LISTEN connection and metrics', () => {
    it('a client that does not answer pings is terminated; one that does stays', async () => {
      const before = t.api.live.stats().dropped.dead;
      const dead = await connect({ autoPong: false });
      const alive = await connect();
      let pings = 0;
      alive.ws.on('ping', () => pings++);
      await dead.closed;
      expect(t.api.live.stats().dropped.dead).to.be.greaterThan(before);
      await until(() => pings >= 4, 'four pings');
      expect(alive.ws.readyState).to.equal(WebSocket.OPEN);
    });

    it('the LISTEN connection killed: re-established, and what was written meanwhile still arrives', async () => {
      const c = await connect();
      await subscribe(c, ['relisten']);
      const pid = t.api.live.stats().listenerPid;
      expect(pid).to.be.a('number');
      await t.db.query('SELECT pg_terminate_backend($1)', [pid]);
      await until(() => t.api.live.stats().listenerPid !== pid, 'the LISTEN connection to be gone');
      await insertSnapshots(t.db, [fakeSnapshot('relisten', T0)]);
      expect(await c.next()).to.include({ type: 'snapshot', host: 'relisten', ts: T0 });
      await until(() => t.api.live.stats().listening, 'LISTEN again');
      expect(t.api.live.stats().listenerPid).to.not.equal(pid);
      await insertSnapshots(t.db, [fakeSnapshot('relisten', T0 + 5000)]);
      expect(await c.next()).to.include({ type: 'snapshot', host: 'relisten', ts: T0 + 5000 });
    });

    it('the LISTEN connection is held only while there are clients (and a little after the last)', async () => {
      const c = await connect();
      await subscribe(c, ['linger']);
      const pid = t.api.live.stats().listenerPid;
      expect(pid).to.be.a('number');
      await closeAll(clients);
      await until(() => !t.api.live.stats().listening, 'the LISTEN connection to close');
      await until(async () => (await t.db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0, 'its backend to end');
      const again = await connect();
      await subscribe(again, ['linger']);
      expect(t.api.live.stats().listening).to.equal(true);
      await insertSnapshots(t.db, [fakeSnapshot('linger', T0)]);
      expect(await again.next()).to.include({ type: 'snapshot', host: 'linger', ts: T0 });
    });

    it('/metrics: live clients, messages sent, drops by reason, LISTEN state', async () => {
      const c = await connect();
      await subscribe(c, ['metrics-host']);
      await insertSnapshots(t.db, [fakeSnapshot('metrics-host', T0)]);
      await c.next();
      const r = await call(t.url, 'GET', '/metrics');
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(r.text)?.[1]);
      expect(value('perfwatch_api_live_clients')).to.equal(t.api.live.stats().clients);
      expect(value('perfwatch_api_live_messages_total')).to.equal(t.api.live.stats().sent);
      expect(value('perfwatch_api_live_messages_total')).to.be.greaterThan(0);
      expect(value('perfwatch_api_live_listening')).to.equal(1);
      expect(r.text).to.match(/^perfwatch_api_live_dropped_clients_total\{reason="slow"\} \d+$/m);
      expect(r.text).to.match(/^perfwatch_api_live_dropped_clients_total\{reason="dead"\} [1-9]\d*$/m);
    });
  });
});

describe('live stream: a client that stops reading', function () {
  this.timeout(120_000);
  let t: TestApi;

  before(async () => {
    t = await startTestApi({ env: { PERFWATCH_LIVE_MAX_BUFFER_BYTES: '65536' } });
  });
  after(() => t.close());

  it('is closed with 1013 and a reason once its unsent bytes pass the bound, and counted', async () => {
    const token = (await login(t.url, ADMIN.username, ADMIN.password)).token;
    const c = await open(t.url, { token });
    await subscribe(c, ['firehose']);
    // Stop reading: the kernel's socket buffers fill, then the server's send buffer grows.
    (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    // Snapshots of a 256-CPU host (about 25 KB of JSON each), 50 per batch.
    const cpus = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [String(i), [1e6 + i, 1, 5e5, 1e7, 2, 0, 1, 0, 0, 0]]));
    let ts = T0;
    for (let round = 0; t.api.live.stats().dropped.slow === 0; round++) {
      if (round > 400) throw new Error('the paused client was never dropped');
      const batch = Array.from({ length: 50 }, () => ({ ...fakeSnapshot('firehose', (ts += 1000)), cpu: { t: cpus } }) as Snapshot);
      await insertSnapshots(t.db, batch);
      await new Promise((r) => setTimeout(r, 10));
    }
    (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await c.closed;
    expect(closed.code).to.equal(1013);
    expect(closed.reason).to.match(/too slow/);
    expect(c.messages.length).to.be.greaterThan(0);
    const m = await call(t.url, 'GET', '/metrics');
    expect(m.text).to.match(/^perfwatch_api_live_dropped_clients_total\{reason="slow"\} 1$/m);
  });
});

describe('live stream end to end: the exporter process writing, a client receiving', function () {
  this.timeout(120_000);
  let t: TestApi;
  let exporter: ChildProcess | undefined;
  let data: { dir: string; remove(): void };

  before(async () => {
    t = await startTestApi();
    data = tempDir();
  });
  after(async () => {
    if (exporter && exporter.exitCode === null) {
      exporter.kill('SIGTERM');
      await new Promise((r) => exporter!.once('exit', r));
    }
    await t.close();
    data.remove();
  });

  it("every collection of the real exporter arrives, derived from this machine's /proc/stat", async () => {
    const token = (await login(t.url, ADMIN.username, ADMIN.password)).token;
    const c = await open(t.url, { token });
    await subscribe(c, ['e2e-live-host']);
    const env: Record<string, string | undefined> = {
      ...process.env,
      DATABASE_URL: t.databaseUrl,
      PERFWATCH_DB_SCHEMA: t.schema,
      PERFWATCH_EXPORTER_PORT: '0',
      PERFWATCH_EXPORTER_HOST: '127.0.0.1',
      PERFWATCH_HOSTNAME: 'e2e-live-host',
      PERFWATCH_INTERVAL_SECONDS: '1',
      PERFWATCH_COLLECTORS: 'cpu,meminfo,loadavg',
      PERFWATCH_DATA_DIR: data.dir,
      PERFWATCH_WRITER_FLUSH_SECONDS: '0.05',
      PERFWATCH_LOG_LEVEL: 'warn',
    };
    exporter = spawn(process.execPath, ['--conditions=perfwatch-src', '--import', 'tsx', EXPORTER_MAIN], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    exporter.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const snapshot = () => c.next((m) => m.type === 'snapshot').catch((e: Error) => Promise.reject(new Error(`${e.message}; exporter stderr: ${err}`)));
    const first = await snapshot();
    const second = await snapshot();
    c.ws.terminate();
    for (const m of [first, second]) {
      expect(m.host).to.equal('e2e-live-host');
      expect(m.data.host).to.equal('e2e-live-host');
      expect(m.ts).to.equal(m.data.ts);
    }
    expect(second.ts).to.be.greaterThan(first.ts);
    // The same formula, computed here from the two snapshots the client received.
    let idle = 0;
    let total = 0;
    for (const [cpu, now] of Object.entries(second.data.cpu.t as Record<string, number[]>)) {
      const before = (first.data.cpu.t as Record<string, number[]>)[cpu]!;
      now.forEach((v, i) => {
        const d = v - before[i]!;
        if (d < 0) return;
        total += d;
        if (i === 3 || i === 4) idle += d;
      });
    }
    expect(total).to.be.greaterThan(0);
    expect(second.derived.cpu_utilisation_ratio).to.be.closeTo(1 - idle / total, 1e-9);
    // No perf collector here: no IPC.
    expect(second.derived.instructions_per_cycle).to.equal(null);
  });
});
