/**
 * Walks every operation of the OpenAPI document as anonymous, as a viewer (session and API
 * token), as an administrator's viewer-role token, as a user who must change their password, and
 * as an administrator, and checks each answer against the operation's declared access. The set
 * of administrator operations is also pinned here, so a route declared with the wrong access
 * level fails even though the document and the server agree.
 */
import { expect } from 'chai';
import { ADMIN, call, createUser, login, startTestApi, type Session, type TestApi } from './helpers.js';

interface Op {
  method: string;
  path: string;
  key: string;
  role: 'admin' | 'viewer' | null;
  passwordChangeAllowed: boolean;
  hasBody: boolean;
}

const ADMIN_OPERATIONS = [
  'GET /api/v1/users',
  'POST /api/v1/users',
  'GET /api/v1/users/{id}',
  'PATCH /api/v1/users/{id}',
  'DELETE /api/v1/users/{id}',
  'PUT /api/v1/retention',
  'POST /api/v1/retention/run',
];

describe('access: every route of the OpenAPI document', function () {
  this.timeout(120_000);
  let t: TestApi;
  let ops: Op[];
  let admin: Session;
  let viewer: { id: number; password: string; username: string };
  let viewerToken: string;
  let adminViewerToken: string;

  before(async () => {
    // with the background jobs, so that POST /api/v1/retention/run has something to queue to
    t = await startTestApi({ start: { jobs: true } });
    admin = await login(t.url, ADMIN.username, ADMIN.password);
    const doc = (await call(t.url, 'GET', '/api/openapi.json')).body;
    ops = [];
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      for (const [method, op] of Object.entries(methods)) {
        const secured = (op.security as unknown[]).length > 0;
        ops.push({
          method: method.toUpperCase(),
          path,
          key: `${method.toUpperCase()} ${path}`,
          role: secured ? (op['x-required-role'] as 'admin' | 'viewer') : null,
          passwordChangeAllowed: op['x-password-change-allowed'] as boolean,
          hasBody: op.requestBody !== undefined,
        });
      }
    }
    const v = await createUser(t.url, admin.token, { username: 'walker', role: 'viewer' });
    viewer = v;
    viewerToken = (await call(t.url, 'POST', '/api/v1/tokens', { token: v.session.token, body: { name: 'walker token' } })).body.token;
    adminViewerToken = (await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token, body: { name: 'admin read-only', role: 'viewer' } })).body.token;
  });
  after(async () => {
    await t.close();
    await t.db.query(`DROP SCHEMA IF EXISTS "${t.schema}_boss" CASCADE`).catch(() => undefined);
  });

  /** A request for op: ids that do not exist (nothing is changed), an empty JSON body where one is expected. */
  function request(op: Op, headers: Record<string, string>) {
    const path = op.path.replace(/\{[^}]+\}/g, '999999');
    return call(t.url, op.method, path, { headers, body: op.hasBody ? {} : undefined });
  }

  it('the document lists the api\'s routes, and exactly these are administrator-only', () => {
    expect(ops.length).to.be.greaterThan(15);
    expect(ops.filter((o) => o.role === 'admin').map((o) => o.key).sort()).to.deep.equal([...ADMIN_OPERATIONS].sort());
    for (const o of ops) if (o.path.startsWith('/api/v1/') && !o.path.startsWith('/api/v1/auth/login') && !o.path.startsWith('/api/v1/auth/refresh')) expect(o.role, o.key).not.to.equal(null);
  });

  it('anonymous: every secured route answers 401; public ones never 401 for lack of a token', async () => {
    for (const op of ops) {
      const r = await request(op, {});
      expect(r.status, `${op.key}: ${r.text}`).to.be.below(500);
      if (op.role) {
        expect(r.status, `${op.key}: ${r.text}`).to.equal(401);
        expect(r.body.error.code, op.key).to.equal('UNAUTHENTICATED');
        expect(r.headers.get('www-authenticate'), op.key).to.match(/^Bearer/);
      } else if (op.key !== 'POST /api/v1/auth/refresh') {
        expect(r.status, `${op.key}: ${r.text}`).not.to.equal(401);
      }
    }
  });

  for (const who of ['viewer session', 'viewer API token', 'administrator\'s viewer-role token'] as const) {
    it(`${who}: administrator routes answer 403, the others are allowed`, async () => {
      for (const op of ops) {
        let token: string;
        if (who === 'viewer session') token = (await login(t.url, viewer.username, viewer.password)).token;
        else if (who === 'viewer API token') token = viewerToken;
        else token = adminViewerToken;
        const r = await request(op, { authorization: `Bearer ${token}` });
        expect(r.status, `${op.key}: ${r.text}`).to.be.below(500);
        if (op.role === 'admin') {
          expect(r.status, `${op.key}: ${r.text}`).to.equal(403);
          expect(r.body.error.code, op.key).to.equal('FORBIDDEN');
        } else {
          expect(r.status, `${op.key}: ${r.text}`).not.to.equal(403);
          if (op.role) expect(r.status, `${op.key}: ${r.text}`).not.to.equal(401);
        }
      }
    });
  }

  it('a user who must change their password: 403 PASSWORD_CHANGE_REQUIRED everywhere but password, me and logout', async () => {
    const u = await createUser(t.url, admin.token, { username: 'must-change', role: 'admin', mustChangePassword: true });
    const allowed: string[] = [];
    for (const op of ops) {
      const token = (await login(t.url, u.username, u.password)).token;
      const r = await request(op, { authorization: `Bearer ${token}` });
      if (!op.role) continue;
      if (op.passwordChangeAllowed) {
        allowed.push(op.key);
        expect(r.status, `${op.key}: ${r.text}`).not.to.be.oneOf([401, 403]);
      } else {
        expect(r.status, `${op.key}: ${r.text}`).to.equal(403);
        expect(r.body.error.code, op.key).to.equal('PASSWORD_CHANGE_REQUIRED');
      }
    }
    expect(allowed.sort()).to.deep.equal(['GET /api/v1/me', 'POST /api/v1/auth/logout', 'POST /api/v1/auth/password']);
  });

  it('administrator: no route answers 401 or 403', async () => {
    for (const op of ops) {
      if (op.key === 'POST /api/v1/auth/logout') continue;
      const r = await request(op, { authorization: `Bearer ${admin.token}` });
      expect(r.status, `${op.key}: ${r.text}`).to.be.below(500);
      if (op.role) expect(r.status, `${op.key}: ${r.text}`).not.to.be.oneOf([401, 403]);
    }
  });
});
