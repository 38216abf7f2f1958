/**
 * SQL-injection strings in every string parameter of the users, tokens, retention and auth
 * routes (path, query and body; the table is checked against the OpenAPI document so a new string
 * parameter cannot be left out). Each answer is a 4xx (or, for fields that are plain data such as
 * a token name or a password, the normal answer with the string stored as given), never a 500,
 * and afterwards the database is exactly as it was.
 */
import { expect } from 'chai';
import { ADMIN, call, login, startTestApi, type Session, type TestApi } from './helpers.js';

const INJECTIONS = [
  "' OR '1'='1",
  "' OR 1=1 --",
  "'; DROP TABLE users; --",
  "admin'--",
  '1; DELETE FROM api_tokens',
  '1 OR 1=1',
  '" OR ""="',
  "') UNION SELECT password_hash FROM users --",
  "'; SELECT pg_sleep(5); --",
  '$1',
  "%' OR username LIKE '%",
  "\\'; TRUNCATE retention_policies; --",
  '1)) OR ((1=1',
  "1' AND (SELECT count(*) FROM pg_user) > 0 AND '1'='1",
];

type Where = 'path' | 'query' | 'body';

interface Case {
  method: string;
  /** OpenAPI path. */
  path: string;
  where: Where;
  name: string;
  /** statuses that are correct for this field (data fields answer normally). */
  ok: number[];
  /** the rest of a valid body. */
  base?: Record<string, unknown>;
  token?: 'admin' | 'none';
  /** values of the other path parameters ({id}: 2). */
  params?: Record<string, string>;
  /** the rest of a valid query string, before the injected parameter. */
  query?: string;
}

describe('SQL injection strings in every string parameter', function () {
  this.timeout(120_000);
  let t: TestApi;
  let admin: Session;
  let before_: { users: number; retention: string; tables: string[] };

  const snapshot = async () => ({
    users: (await t.db.query('SELECT count(*)::int AS n FROM users')).rows[0].n as number,
    retention: JSON.stringify((await t.db.query('SELECT tier, days FROM retention_policies ORDER BY tier')).rows),
    tables: (await t.db.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [t.schema])).rows.map((r) => r.t),
  });

  before(async () => {
    t = await startTestApi({ env: { PERFWATCH_LOGIN_MAX_PER_IP: '100000', PERFWATCH_LOGIN_MAX_PER_USER: '1000' } });
    admin = await login(t.url, ADMIN.username, ADMIN.password);
    await call(t.url, 'POST', '/api/v1/users', { token: admin.token, body: { username: 'target', password: 'target-password-1', role: 'viewer' } });
    before_ = await snapshot();
  });
  after(() => t.close());

  const CASES: Case[] = [
    { method: 'GET', path: '/api/v1/users/{id}', where: 'path', name: 'id', ok: [400] },
    { method: 'PATCH', path: '/api/v1/users/{id}', where: 'path', name: 'id', ok: [400], base: { role: 'viewer' } },
    { method: 'DELETE', path: '/api/v1/users/{id}', where: 'path', name: 'id', ok: [400] },
    { method: 'DELETE', path: '/api/v1/tokens/{id}', where: 'path', name: 'id', ok: [400] },
    { method: 'GET', path: '/api/v1/tokens', where: 'query', name: 'all', ok: [400] },
    { method: 'GET', path: '/api/v1/tokens', where: 'query', name: 'userId', ok: [400] },
    { method: 'GET', path: '/api/v1/retention/runs', where: 'query', name: 'limit', ok: [400] },
    { method: 'GET', path: '/api/v1/retention/runs', where: 'query', name: 'before', ok: [400] },
    { method: 'POST', path: '/api/v1/users', where: 'body', name: 'username', ok: [400], base: { password: 'a-valid-password-1', role: 'viewer' } },
    { method: 'POST', path: '/api/v1/users', where: 'body', name: 'role', ok: [400], base: { username: 'inj-role', password: 'a-valid-password-1' } },
    // A password is data: hashed, never part of SQL. Long enough ones are accepted.
    { method: 'POST', path: '/api/v1/users', where: 'body', name: 'password', ok: [201, 400], base: { role: 'viewer' } },
    { method: 'PATCH', path: '/api/v1/users/{id}', where: 'body', name: 'role', ok: [400] },
    { method: 'PATCH', path: '/api/v1/users/{id}', where: 'body', name: 'password', ok: [200, 400] },
    // A token name is free text: stored exactly as given.
    { method: 'POST', path: '/api/v1/tokens', where: 'body', name: 'name', ok: [201] },
    { method: 'POST', path: '/api/v1/tokens', where: 'body', name: 'role', ok: [400], base: { name: 'n' } },
    { method: 'POST', path: '/api/v1/tokens', where: 'body', name: 'expiresAt', ok: [400], base: { name: 'n' } },
    { method: 'PUT', path: '/api/v1/retention', where: 'body', name: 'raw', ok: [400] },
    { method: 'PUT', path: '/api/v1/retention', where: 'body', name: '1m', ok: [400] },
    { method: 'PUT', path: '/api/v1/retention', where: 'body', name: '1h', ok: [400] },
    // Wrong credentials, whatever they contain: the one 401 of every failed login.
    { method: 'POST', path: '/api/v1/auth/login', where: 'body', name: 'username', ok: [401], base: { password: 'whatever-password' }, token: 'none' },
    { method: 'POST', path: '/api/v1/auth/login', where: 'body', name: 'password', ok: [401], base: { username: 'admin' }, token: 'none' },
    { method: 'POST', path: '/api/v1/auth/refresh', where: 'body', name: 'refreshToken', ok: [400], token: 'none' },
    { method: 'POST', path: '/api/v1/auth/password', where: 'body', name: 'currentPassword', ok: [400], base: { newPassword: 'never-set-password-1' } },
    { method: 'POST', path: '/api/v1/auth/password', where: 'body', name: 'newPassword', ok: [400], base: { currentPassword: 'not-the-current-one' } },
    // Metrics and history: metric and host names are data (looked up, never SQL); times, numbers,
    // label names, kinds and cursors have a syntax, so anything else is refused.
    ...(() => {
      const values = '/api/v1/metrics/{name}/labels/{label}/values';
      const ofHost = { name: 'perfwatch_load_average_1m', label: 'host' };
      const targets = [{ refId: 'A', metric: 'perfwatch_load_average_1m' }];
      const range = `from=${Date.now() - 3_600_000}&to=${Date.now()}`;
      const cases: Case[] = [
        { method: 'GET', path: values, where: 'path', name: 'name', ok: [404], params: { label: 'cpu' } },
        { method: 'GET', path: values, where: 'path', name: 'label', ok: [400], params: { name: 'perfwatch_cpu_seconds_total' } },
        { method: 'GET', path: values, where: 'query', name: 'host', ok: [200], params: ofHost },
        { method: 'GET', path: values, where: 'query', name: 'from', ok: [400], params: ofHost },
        { method: 'GET', path: values, where: 'query', name: 'to', ok: [400], params: ofHost },
        { method: 'POST', path: '/api/v1/query', where: 'body', name: 'from', ok: [400], base: { to: Date.now(), targets } },
        { method: 'POST', path: '/api/v1/query', where: 'body', name: 'to', ok: [400], base: { from: Date.now() - 3_600_000, targets } },
        { method: 'POST', path: '/api/v1/query', where: 'body', name: 'maxDataPoints', ok: [400], base: { from: Date.now() - 3_600_000, to: Date.now(), targets } },
        { method: 'POST', path: '/api/v1/query', where: 'body', name: 'intervalMs', ok: [400], base: { from: Date.now() - 3_600_000, to: Date.now(), targets } },
        { method: 'GET', path: '/api/v1/snapshots', where: 'query', name: 'host', ok: [200] },
        { method: 'GET', path: '/api/v1/snapshots', where: 'query', name: 'from', ok: [400], query: 'host=h' },
        { method: 'GET', path: '/api/v1/snapshots', where: 'query', name: 'to', ok: [400], query: 'host=h' },
        { method: 'GET', path: '/api/v1/snapshots', where: 'query', name: 'limit', ok: [400], query: 'host=h' },
        { method: 'GET', path: '/api/v1/snapshots', where: 'query', name: 'cursor', ok: [400], query: 'host=h' },
        { method: 'GET', path: '/api/v1/snapshots/latest', where: 'query', name: 'host', ok: [404] },
        { method: 'GET', path: '/api/v1/annotations', where: 'query', name: 'from', ok: [400], query: `to=${Date.now()}` },
        { method: 'GET', path: '/api/v1/annotations', where: 'query', name: 'to', ok: [400], query: `from=${Date.now() - 3_600_000}` },
        { method: 'GET', path: '/api/v1/annotations', where: 'query', name: 'host', ok: [200], query: range },
        { method: 'GET', path: '/api/v1/annotations', where: 'query', name: 'kind', ok: [400], query: range },
        { method: 'GET', path: '/api/v1/annotations', where: 'query', name: 'minGapSeconds', ok: [400], query: range },
      ];
      return cases;
    })(),
  ];

  it('covers every string parameter the OpenAPI document declares', async () => {
    const doc = (await call(t.url, 'GET', '/api/openapi.json')).body;
    const declared: string[] = [];
    const isStringish = (s: Record<string, unknown>) => s.type === 'string' || s.type === 'integer' || s.type === 'number' || Array.isArray(s.anyOf);
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      if (!path.startsWith('/api/v1/')) continue;
      for (const [method, op] of Object.entries(methods)) {
        for (const p of op.parameters ?? []) declared.push(`${method.toUpperCase()} ${path} ${p.in} ${p.name}`);
        const props = op.requestBody?.content['application/json'].schema.properties ?? {};
        for (const [name, s] of Object.entries(props as Record<string, Record<string, unknown>>)) if (isStringish(s)) declared.push(`${method.toUpperCase()} ${path} body ${name}`);
      }
    }
    const covered = new Set(CASES.map((c) => `${c.method} ${c.path} ${c.where} ${c.name}`));
    expect(declared.filter((d) => !covered.has(d)), 'parameters without an injection case').to.deep.equal([]);
  });

  it('answers each with a 4xx (or the normal answer for data fields), never a 500, quickly', async () => {
    let n = 0;
    for (const c of CASES) {
      for (const inj of INJECTIONS) {
        n++;
        let path = c.path.replace(/\{(\w+)\}/g, (_, p: string) => (c.where === 'path' && p === c.name ? encodeURIComponent(inj) : (c.params?.[p] ?? '2')));
        let body: Record<string, unknown> | undefined;
        if (c.where === 'query') path += `?${c.query ? `${c.query}&` : ''}${c.name}=${encodeURIComponent(inj)}`;
        if (c.where === 'body') body = { ...c.base, [c.name]: inj };
        if (c.method === 'POST' && c.path === '/api/v1/users' && c.name === 'password') body!.username = `inj-pw-${n}`;
        if (c.where !== 'body' && ['PATCH', 'POST', 'PUT'].includes(c.method)) body = c.base ?? {};
        const started = Date.now();
        const r = await call(t.url, c.method, path, { token: c.token === 'none' ? undefined : admin.token, body });
        const what = `${c.method} ${path} ${c.where}.${c.name} = ${JSON.stringify(inj)}`;
        expect(r.status, `${what}: ${r.text}`).to.be.oneOf(c.ok);
        // pg_sleep(5) would take 5 s: any answer sooner proves it did not run, however loaded the machine.
        expect(Date.now() - started, `${what}: pg_sleep must not run`).to.be.below(5000);
        if (c.where === 'body' && c.path === '/api/v1/tokens' && c.name === 'name') expect(r.body.name, what).to.equal(inj.trim());
      }
    }
  });

  // Issue #19: PostgreSQL's text cannot hold U+0000, and a login's user name, a snapshots host,
  // label values' hosts, a query's hosts or a Prometheus match[] with it answered 500.
  it('U+0000 in any parameter: 400 naming it, before any route (never a 500)', async () => {
    const NUL = 'a\u0000b';
    for (const c of CASES) {
      let path = c.path.replace(/\{(\w+)\}/g, (_, p: string) => (c.where === 'path' && p === c.name ? encodeURIComponent(NUL) : (c.params?.[p] ?? '2')));
      let body: Record<string, unknown> | undefined;
      if (c.where === 'query') path += `?${c.query ? `${c.query}&` : ''}${c.name}=${encodeURIComponent(NUL)}`;
      if (c.where === 'body') body = { ...c.base, [c.name]: NUL };
      if (c.where !== 'body' && ['PATCH', 'POST', 'PUT'].includes(c.method)) body = c.base ?? {};
      const r = await call(t.url, c.method, path, { token: c.token === 'none' ? undefined : admin.token, body });
      const field = c.where === 'path' ? 'path' : `${c.where}.${c.name}`;
      expect(r.status, `${c.method} ${path} ${field}: ${r.text}`).to.equal(400);
      expect(r.body.error, `${c.method} ${path}`).to.deep.equal({ code: 'VALIDATION_FAILED', field, message: `${field}: must not contain the character U+0000 (NUL)` });
    }
  });

  it('U+0000 deep in a body, in a key, and in Prometheus parameters (its envelope): 400', async () => {
    const now = Date.now();
    const query = await call(t.url, 'POST', '/api/v1/query', {
      token: admin.token,
      body: { from: now - 3_600_000, to: now, targets: [{ refId: 'A', metric: 'perfwatch_load_average_1m', hosts: ['ok', 'x\u0000'] }] },
    });
    expect(query.status, query.text).to.equal(400);
    expect(query.body.error.field).to.equal('body.targets.0.hosts.1');
    const matcher = await call(t.url, 'POST', '/api/v1/query', {
      token: admin.token,
      body: { from: now - 3_600_000, to: now, targets: [{ refId: 'A', metric: 'perfwatch_cpu_seconds_total', matchers: [{ label: 'mode', op: '=', value: '\u0000' }] }] },
    });
    expect(matcher.body.error.field).to.equal('body.targets.0.matchers.0.value');
    const key = await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token, body: { name: 'n', 'x\u0000': 1 } });
    expect(key.status).to.equal(400);
    expect(key.body.error.field).to.equal('body.x\\0');

    const tokenRes = await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token, body: { name: 'prometheus nul' } });
    const bearer = tokenRes.body.token as string;
    const match = encodeURIComponent('perfwatch_load_average_1m{host="a\u0000b"}');
    const get = await call(t.url, 'GET', `/prometheus/api/v1/series?match[]=${match}`, { token: bearer });
    expect(get.status, get.text).to.equal(400);
    expect(get.body).to.deep.equal({ status: 'error', errorType: 'bad_data', error: 'match[]: must not contain the character U+0000 (NUL)' });
    const post = await call(t.url, 'POST', '/prometheus/api/v1/series', { token: bearer, raw: `match[]=${match}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(post.status, post.text).to.equal(400);
    expect(post.body).to.deep.equal({ status: 'error', errorType: 'bad_data', error: 'match[]: must not contain the character U+0000 (NUL)' });
    const values = await call(t.url, 'GET', `/prometheus/api/v1/label/host/values?match[]=${match}`, { token: bearer });
    expect(values.status, values.text).to.equal(400);
    // Without U+0000 the same routes answer normally.
    expect((await call(t.url, 'GET', `/prometheus/api/v1/series?match[]=${encodeURIComponent('perfwatch_load_average_1m{host="ab"}')}`, { token: bearer })).status).to.equal(200);
  });

  it('in credentials and headers: 401, nothing more', async () => {
    for (const inj of INJECTIONS) {
      const attempts: Record<string, string>[] = [{ authorization: `Bearer ${inj}` }, { authorization: `Bearer pw_${inj}` }, { cookie: `pw_session=${encodeURIComponent(inj)}` }];
      for (const headers of attempts) {
        const r = await call(t.url, 'GET', '/api/v1/me', { headers });
        expect(r.status, JSON.stringify(headers)).to.equal(401);
      }
    }
  });

  it('left the database as it was', async () => {
    const after = await snapshot();
    expect(after.tables).to.deep.equal(before_.tables);
    expect(after.retention).to.equal(before_.retention);
    // Only the users the password cases created on purpose were added.
    const created = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE username LIKE 'inj-pw-%'`);
    expect(after.users).to.equal(before_.users + created.rows[0]!.n);
    expect((await login(t.url, ADMIN.username, ADMIN.password)).token).to.be.a('string');
    const admins = await t.db.query(`SELECT username FROM users WHERE role = 'admin'`);
    expect(admins.rows.map((r) => r.username)).to.deep.equal(['admin']);
    // Token names were stored verbatim (parameters, not SQL).
    const names = await t.db.query<{ name: string }>('SELECT name FROM api_tokens');
    expect(names.rows.map((r) => r.name)).to.include.members(INJECTIONS.map((s) => s.trim()));
  });
});
