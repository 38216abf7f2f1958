import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { createPool, latestVersion } from '@perfwatch/store';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ADMIN, call, expectErrorShape, login, memoryLogger, startTestApi, type Session, type TestApi } from './helpers.js';
import { expositionSamples } from '../../store/test/exposition.js';
import { deadPort, testSchema } from '../../store/test/helpers.js';

/** Starts createApp(deps) on port 0 and returns its URL and a close function. */
async function serve(app: ReturnType<typeof createApp>): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

function promtool(text: string): { status: number; output: string } | undefined {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

describe('http', function () {
  this.timeout(60_000);
  let t: TestApi;
  let admin: Session;
  before(async () => {
    t = await startTestApi({ start: { processMetrics: true } });
    admin = await login(t.url, ADMIN.username, ADMIN.password);
  });
  after(() => t.close());

  describe('errors', () => {
    it('unknown routes: 404 in the error shape', async () => {
      for (const [m, p] of [
        ['GET', '/nope'],
        ['GET', '/api/v1/nothing/here'],
        ['DELETE', '/api/v1/me'],
        ['POST', '/health'],
      ] as const) {
        const r = await call(t.url, m, p, { token: admin.token });
        expectErrorShape(r, 404, 'NOT_FOUND');
        expect(r.body.error.message).to.equal(`no route ${m} ${p}; see /api/openapi.json`);
      }
    });

    it('invalid JSON: 400; a non-JSON body: 415; a body over 100 KB: 413', async () => {
      const bad = await call(t.url, 'POST', '/api/v1/auth/login', { raw: '{"username": ', headers: { 'content-type': 'application/json' } });
      expectErrorShape(bad, 400, 'INVALID_JSON');
      const text = await call(t.url, 'POST', '/api/v1/auth/login', { raw: 'username=admin', headers: { 'content-type': 'text/plain' } });
      expectErrorShape(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
      const big = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'x'.repeat(101 * 1024) } });
      expectErrorShape(big, 413, 'PAYLOAD_TOO_LARGE');
      expect(big.body.error.message).to.equal('the body is larger than 102400 bytes');
      const authed = await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token, body: { name: 'n'.repeat(200 * 1024) } });
      expectErrorShape(authed, 413, 'PAYLOAD_TOO_LARGE');
      // Just under the limit is parsed (and then refused by validation, not by size).
      const under = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'x'.repeat(99 * 1024) } });
      expectErrorShape(under, 400, 'VALIDATION_FAILED');
    });

    // Issue #19: a 30 MB body was read to its end before the 413 (body-parser drains it first).
    it('a body over the limit by its Content-Length: 413 at once, and the rest is not read', async () => {
      const u = new URL(t.url);
      const total = 30 * 1024 * 1024;
      const sock = connect(Number(u.port), u.hostname);
      await once(sock, 'connect');
      let response = '';
      let sent = 0;
      let sentWhenAnswered = -1;
      let closed = false;
      sock.on('data', (d: Buffer) => {
        response += d.toString('latin1');
        if (sentWhenAnswered < 0) sentWhenAnswered = sent;
      });
      sock.on('error', () => undefined);
      sock.on('close', () => (closed = true));
      sock.write(`POST /api/v1/tokens HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${admin.token}\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`);
      const next = (ms: number) =>
        new Promise<string>((resolve) => {
          sock.once('drain', () => resolve('drained'));
          sock.once('close', () => resolve('closed'));
          setTimeout(() => resolve('stalled'), ms);
        });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const started = Date.now();
      while (sent < total && !closed && Date.now() - started < 30_000) {
        sent += chunk.length;
        // Until the server stops reading (the kernel's buffers fill) or closes the connection.
        if (!sock.write(chunk) && (await next(3000)) !== 'drained') break;
      }
      if (!closed) await next(5000);
      sock.destroy();
      expect(response, 'answered').to.match(/^HTTP\/1\.1 413 /);
      expect(sentWhenAnswered, 'answered before the body was sent').to.be.below(total / 4);
      expect(sent, 'the server stopped reading').to.be.below(total / 4);
      expect(response).to.match(/\r\nconnection: close\r\n/i);
      expect(response).to.include('"code":"PAYLOAD_TOO_LARGE"');
      // The api still answers.
      expect((await call(t.url, 'GET', '/health')).status).to.equal(200);
    });

    it('validation names the field: body, query and path', async () => {
      const body = await call(t.url, 'POST', '/api/v1/users', { token: admin.token, body: { username: 'ok-name', password: 'long enough password', role: 'superuser' } });
      expect(body.body.error).to.deep.include({ code: 'VALIDATION_FAILED', field: 'body.role' });
      expect(body.body.error.message).to.match(/^body\.role: /);
      const query = await call(t.url, 'GET', '/api/v1/retention/runs?limit=9999', { token: admin.token });
      expect(query.body.error).to.deep.include({ code: 'VALIDATION_FAILED', field: 'query.limit' });
      const path = await call(t.url, 'GET', '/api/v1/users/abc', { token: admin.token });
      expect(path.body.error).to.deep.include({ code: 'VALIDATION_FAILED', field: 'params.id', message: 'params.id: must be a positive whole number' });
      const notObject = await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token, body: ['name'] });
      expectErrorShape(notObject, 400, 'VALIDATION_FAILED');
      const missing = await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token });
      expect(missing.body.error.message).to.equal('body: is required (a JSON object)');
    });

    it('an internal error is a 500 naming the request id, without a stack; the log has the details', async () => {
      await t.db.query('ALTER TABLE retention_runs RENAME TO retention_runs_away');
      try {
        const r = await call(t.url, 'GET', '/api/v1/retention/runs', { token: admin.token });
        expectErrorShape(r, 500, 'INTERNAL_ERROR');
        const id = r.headers.get('x-request-id')!;
        expect(r.body.error.message).to.equal(`internal error; the api log has the details under request id ${id}`);
        expect(r.text).not.to.match(/retention_runs|SQLSTATE|\.ts:\d+/);
        const logged = t.logLines.find((l) => l.msg === 'request failed' && (l.req as { id?: string } | undefined)?.id === id);
        expect(JSON.stringify(logged)).to.match(/retention_runs/);
        // and the access line of the request, at level error
        const access = t.logLines.find((l) => l.msg === 'request errored' && (l.req as { id?: string } | undefined)?.id === id);
        expect(access).to.deep.include({ level: 50, res: { statusCode: 500 }, route: '/api/v1/retention/runs' });
        expect((access!.err as { message: string }).message).to.equal('failed with status code 500');
      } finally {
        await t.db.query('ALTER TABLE retention_runs_away RENAME TO retention_runs');
      }
    });
  });

  describe('headers', () => {
    it('helmet: CSP with frame-ancestors none, nosniff, frame denial, no-store; no HSTS over plain HTTP', async () => {
      for (const r of [await call(t.url, 'GET', '/health'), await call(t.url, 'GET', '/nope'), await call(t.url, 'GET', '/api/v1/me', { token: admin.token })]) {
        const csp = r.headers.get('content-security-policy')!;
        expect(csp).to.include("default-src 'none'");
        expect(csp).to.include("frame-ancestors 'none'");
        expect(r.headers.get('x-content-type-options')).to.equal('nosniff');
        expect(r.headers.get('x-frame-options')).to.equal('DENY');
        expect(r.headers.get('cache-control')).to.equal('no-store');
        expect(r.headers.get('x-powered-by')).to.equal(null);
        expect(r.headers.get('strict-transport-security')).to.equal(null);
      }
      // X-Forwarded-Proto from a proxy that is not trusted changes nothing.
      expect((await call(t.url, 'GET', '/health', { headers: { 'x-forwarded-proto': 'https' } })).headers.get('strict-transport-security')).to.equal(null);
    });

    it('x-request-id: generated, or the caller\'s when it is a plain token; logged with the request', async () => {
      const gen = await call(t.url, 'GET', '/health');
      expect(gen.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
      const given = await call(t.url, 'GET', '/nope?q=not-logged', { headers: { 'x-request-id': 'proxy-abc.123' } });
      expect(given.headers.get('x-request-id')).to.equal('proxy-abc.123');
      const hostile = await call(t.url, 'GET', '/health', { headers: { 'x-request-id': 'a b <script>' } });
      expect(hostile.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
      const line = t.logLines.find((l) => (l.req as { id?: string } | undefined)?.id === 'proxy-abc.123' && l.msg === 'request completed');
      expect(line).to.deep.include({ level: 30, route: 'unmatched', res: { statusCode: 404 } });
      // the request without its query string or headers
      expect(line!.req).to.deep.equal({ id: 'proxy-abc.123', method: 'GET', path: '/nope', remoteAddress: '127.0.0.1' });
      expect(line!.responseTime).to.be.a('number');
      expect(JSON.stringify(t.logLines)).to.not.include('not-logged');
    });

    it('request logs carry no credentials', async () => {
      const tok = await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token, body: { name: 'log check' } });
      await call(t.url, 'GET', '/api/v1/me', { token: tok.body.token });
      await call(t.url, 'GET', '/api/v1/me', { headers: { cookie: `pw_session=${admin.token}` } });
      const all = JSON.stringify(t.logLines);
      expect(all).not.to.include(tok.body.token);
      expect(all).not.to.include(admin.token);
      expect(all).not.to.include(ADMIN.password);
    });
  });

  describe('CORS', () => {
    const UI = 'http://localhost:3000';

    it('allows the admin UI origin with credentials, never *', async () => {
      const r = await call(t.url, 'GET', '/api/v1/me', { token: admin.token, headers: { origin: UI } });
      expect(r.status).to.equal(200);
      expect(r.headers.get('access-control-allow-origin')).to.equal(UI);
      expect(r.headers.get('access-control-allow-credentials')).to.equal('true');
      expect(r.headers.get('vary')).to.match(/Origin/);
      const pre = await call(t.url, 'OPTIONS', '/api/v1/tokens', { headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
      expect(pre.status).to.equal(204);
      expect(pre.headers.get('access-control-allow-origin')).to.equal(UI);
      expect(pre.headers.get('access-control-allow-methods')).to.include('POST');
      expect(pre.headers.get('access-control-allow-headers')).to.match(/Authorization/);
    });

    it('gives other origins nothing: no CORS headers, preflights and changes refused', async () => {
      const evil = 'https://evil.example';
      const r = await call(t.url, 'GET', '/api/v1/me', { token: admin.token, headers: { origin: evil } });
      expect(r.headers.get('access-control-allow-origin')).to.equal(null);
      expect(r.headers.get('access-control-allow-credentials')).to.equal(null);
      const pre = await call(t.url, 'OPTIONS', '/api/v1/tokens', { headers: { origin: evil, 'access-control-request-method': 'POST' } });
      expectErrorShape(pre, 403, 'ORIGIN_NOT_ALLOWED');
      expect(pre.headers.get('access-control-allow-origin')).to.equal(null);
      const post = await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token, body: { name: 'x' }, headers: { origin: evil } });
      expectErrorShape(post, 403, 'ORIGIN_NOT_ALLOWED');
      for (const o of ['null', 'http://localhost:3000.evil.example', 'http://localhost:30000']) {
        expect((await call(t.url, 'GET', '/health', { headers: { origin: o } })).headers.get('access-control-allow-origin')).to.equal(null);
      }
    });

    it('same-origin requests need no allowlist entry', async () => {
      const r = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: ADMIN.username, password: ADMIN.password }, headers: { origin: t.url } });
      expect(r.status).to.equal(200);
    });
  });

  describe('/health and /ready', () => {
    it('/ready: 200 with the schema version when the database is fine', async () => {
      const r = await call(t.url, 'GET', '/ready');
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.equal({ status: 'ready', schemaVersion: latestVersion() });
    });

    it('/ready: 503 DB_UNAVAILABLE when the database cannot be reached; /health stays 200; requests get 503, not a crash', async () => {
      const dead = await deadPort();
      const config = loadConfig({ DATABASE_URL: `postgres://postgres@127.0.0.1:${dead.port}/postgres`, PERFWATCH_SCRYPT_N: '1024', PERFWATCH_DB_CONNECT_TIMEOUT_SECONDS: '1' });
      const pool = createPool({ databaseUrl: config.databaseUrl, schema: 'perfwatch', connectTimeoutMs: 1000 });
      const { log } = memoryLogger();
      const down = await serve(createApp({ config, pool, log, jwtSecret: Buffer.alloc(32, 1) }));
      try {
        const r = await call(down.url, 'GET', '/ready');
        expectErrorShape(r, 503, 'DB_UNAVAILABLE');
        expect(r.body.error.message).to.equal('the database cannot be reached (see the api log)');
        expect((await call(down.url, 'GET', '/health')).status).to.equal(200);
        const l = await call(down.url, 'POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'whatever-it-is' } });
        expectErrorShape(l, 503, 'DB_UNAVAILABLE');
        expect(l.headers.get('retry-after')).to.equal('5');
      } finally {
        await down.close();
        await pool.end();
        await dead.close();
      }
    });

    it('/ready: 503 SCHEMA_MISMATCH when the schema is not at this code\'s version', async () => {
      const empty = await testSchema({ prefix: 'api' });
      const config = loadConfig({ DATABASE_URL: empty.url, PERFWATCH_DB_SCHEMA: empty.schema, PERFWATCH_SCRYPT_N: '1024' });
      const { log } = memoryLogger();
      const app = await serve(createApp({ config, pool: empty.pool, log, jwtSecret: Buffer.alloc(32, 1) }));
      try {
        const r = await call(app.url, 'GET', '/ready');
        expectErrorShape(r, 503, 'SCHEMA_MISMATCH');
        expect(r.body.error.message).to.match(/database schema is at version 0 but this PerfWatch needs \d+/);
      } finally {
        await app.close();
      }
    });

    it('survives its database connections being killed (pool \'error\' handled) and recovers', async () => {
      await call(t.url, 'GET', '/ready');
      // The backends of this api's pool only: every 'perfwatch-api' connection on the server would
      // include those of other test runs sharing it.
      const pool = t.api.pool;
      const clients = await Promise.all(Array.from({ length: Math.max(1, pool.idleCount) }, () => pool.connect()));
      const pids: number[] = [];
      for (const c of clients) {
        pids.push((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
        c.release();
      }
      const killed = await t.db.query<{ ok: boolean }>('SELECT pg_terminate_backend(pid) AS ok FROM unnest($1::int[]) AS pid', [pids]);
      expect(killed.rows.map((r) => r.ok)).to.deep.equal(pids.map(() => true));
      // The pool hears of each termination when its socket closes: poll rather than guess how long that takes.
      const end = Date.now() + 15_000;
      while ((await call(t.url, 'GET', '/ready')).status !== 200) {
        if (Date.now() > end) throw new Error('/ready did not answer 200 within 15 s of the connections being killed');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect((await call(t.url, 'GET', '/api/v1/me', { token: admin.token })).status).to.equal(200);
    });
  });

  describe('/metrics', () => {
    it('counts requests by route pattern and status, exposes the pool, and passes promtool', async () => {
      await call(t.url, 'GET', '/api/v1/users/424242', { token: admin.token });
      await call(t.url, 'GET', '/api/v1/users/434343', { token: admin.token });
      await call(t.url, 'GET', '/no/such/path/12345');
      const r = await call(t.url, 'GET', '/metrics');
      expect(r.status).to.equal(200);
      expect(r.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
      const text = r.text;
      // Asserted on the parsed samples: a regex over the whole text also sees sample values (byte
      // counts, CPU seconds, start times), whose digits can hold 12345 by chance.
      const samples = expositionSamples(text);
      const one = (name: string, labels: Record<string, string> = {}) => {
        const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
        expect(found, `${name}${JSON.stringify(labels)}`).to.have.length(1);
        return found[0]!.value;
      };
      expect(one('perfwatch_api_http_requests_total', { method: 'GET', route: '/api/v1/users/:id', status: '404' })).to.equal(2);
      expect(one('perfwatch_api_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).to.be.at.least(1);
      expect(one('perfwatch_api_http_request_duration_seconds_bucket', { le: '0.005', method: 'GET', route: '/health', status: '200' })).to.be.a('number');
      const http = samples.filter((s) => s.name.startsWith('perfwatch_api_http_'));
      const routes = new Set(http.map((s) => s.labels.route));
      expect([...routes]).to.include.members(['/api/v1/users/:id', 'unmatched']);
      for (const s of http) {
        expect(Object.keys(s.labels), s.name).to.include.members(['method', 'route', 'status']);
        for (const v of Object.values(s.labels)) expect(v, `raw URLs never become labels: ${s.name}${JSON.stringify(s.labels)}`).not.to.match(/424242|434343|12345/);
      }
      expect(one('perfwatch_api_db_pool_connections')).to.be.at.least(0);
      expect(one('perfwatch_api_db_pool_idle_connections')).to.be.at.least(0);
      expect(one('perfwatch_api_db_pool_waiting_requests')).to.be.at.least(0);
      expect(one('perfwatch_api_logins_total', { result: 'success' })).to.be.at.least(1);
      const build = samples.filter((s) => s.name === 'perfwatch_build_info');
      expect(build).to.have.length(1);
      expect(Object.keys(build[0]!.labels)).to.deep.equal(['version', 'revision', 'nodejs']);
      expect(build[0]!.labels.version).to.not.equal('');
      expect(build[0]!.labels.nodejs).to.not.equal('');
      expect(build[0]!.value).to.equal(1);
      expect(one('process_cpu_seconds_total')).to.be.a('number');
      const check = promtool(text);
      if (!check) {
        console.log('      promtool not installed (Debian package prometheus); skipped the lint');
        return;
      }
      expect(check.output.trim(), check.output).to.equal('');
      expect(check.status).to.equal(0);
    });
  });

  describe('OpenAPI document', () => {
    it('is OpenAPI 3.1 with a unique operationId, summary and responses for every operation', async () => {
      const r = await call(t.url, 'GET', '/api/openapi.json');
      expect(r.status).to.equal(200);
      expect(r.body.openapi).to.equal('3.1.0');
      const ids = new Set<string>();
      for (const [path, ops] of Object.entries(r.body.paths as Record<string, Record<string, Record<string, unknown>>>)) {
        for (const [method, op] of Object.entries(ops)) {
          expect(op.operationId, `${method} ${path}`).to.be.a('string');
          expect(ids.has(op.operationId as string), `duplicate ${op.operationId}`).to.equal(false);
          ids.add(op.operationId as string);
          expect(op.summary).to.be.a('string');
          expect(Object.keys(op.responses as object).length).to.be.greaterThan(0);
          expect(JSON.stringify(op)).not.to.include('"$schema"');
        }
      }
      // The validation schema and the document come from the same zod object.
      const pw = r.body.paths['/api/v1/auth/password'].post.requestBody.content['application/json'].schema;
      expect(pw.properties.newPassword.minLength).to.equal(12);
      expect(pw.additionalProperties).to.equal(false);
    });
  });
});

describe('http behind a TLS-terminating proxy', function () {
  this.timeout(60_000);
  let t: TestApi;
  before(async () => {
    t = await startTestApi({ env: { PERFWATCH_TRUST_PROXY: 'loopback' } });
  });
  after(() => t.close());

  it('sends HSTS and Secure cookies only when the trusted proxy says https', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    expect((await call(t.url, 'GET', '/health', { headers: https })).headers.get('strict-transport-security')).to.equal('max-age=31536000; includeSubDomains');
    expect((await call(t.url, 'GET', '/health')).headers.get('strict-transport-security')).to.equal(null);
    const r = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: ADMIN.username, password: ADMIN.password, cookie: true }, headers: https });
    for (const c of r.headers.getSetCookie()) expect(c.toLowerCase()).to.include('; secure');
  });
});
