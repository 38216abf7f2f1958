import { expect } from 'chai';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import jwt from 'jsonwebtoken';
import { PasswordHasher } from '../src/auth/passwords.js';
import { BAD_CREDENTIALS } from '../src/auth/service.js';
import { housekeeping } from '../src/service.js';
import { ADMIN, call, createUser, expectErrorShape, login, startTestApi, type Res, type Session, type TestApi } from './helpers.js';

function b64(o: object): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

/** Set-Cookie headers by cookie name: { value, attributes (lower-case) }. */
function setCookies(h: Headers): Map<string, { value: string; attrs: string[] }> {
  const m = new Map<string, { value: string; attrs: string[] }>();
  for (const line of h.getSetCookie()) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const i = pair!.indexOf('=');
    m.set(pair!.slice(0, i), { value: pair!.slice(i + 1), attrs: attrs.map((a) => a.toLowerCase()) });
  }
  return m;
}

describe('auth', function () {
  this.timeout(60_000);
  let t: TestApi;
  let admin: Session;
  let secret: Buffer;

  before(async () => {
    // A high per-IP limit: these tests fail many logins from 127.0.0.1 on purpose.
    t = await startTestApi({ env: { PERFWATCH_LOGIN_MAX_PER_IP: '1000' } });
    admin = await login(t.url, ADMIN.username, ADMIN.password);
    const r = await t.db.query<{ value: string }>(`SELECT value FROM api_settings WHERE key = 'jwt_secret'`);
    secret = Buffer.from(r.rows[0]!.value, 'base64');
  });
  after(() => t.close());

  describe('login', () => {
    it('answers a 15-minute HS256 access token, a refresh token and mustChangePassword', async () => {
      const r = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'admin', password: ADMIN.password } });
      expect(r.status).to.equal(200);
      expect(r.body).to.have.keys('token', 'expiresAt', 'mustChangePassword', 'refreshToken', 'refreshExpiresAt');
      expect(r.body.mustChangePassword).to.equal(false);
      const ttl = Date.parse(r.body.expiresAt) - Date.now();
      expect(ttl).to.be.within(14 * 60_000, 15 * 60_000 + 1000);
      const decoded = jwt.decode(r.body.token, { complete: true })!;
      expect(decoded.header.alg).to.equal('HS256');
      expect(decoded.payload).to.include({ sub: '1', role: 'admin', iss: 'perfwatch', aud: 'perfwatch-api' });
      expect(r.body.refreshToken).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(setCookies(r.headers).size, 'token mode sets no cookies').to.equal(0);
    });

    it('takes the user name regardless of case', async () => {
      expect((await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'ADMIN', password: ADMIN.password } })).status).to.equal(200);
    });

    it('answers unknown users and wrong passwords alike', async () => {
      const wrong = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'not the password' } });
      const unknown = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'nobody-here', password: 'not the password' } });
      for (const r of [wrong, unknown]) {
        expectErrorShape(r, 401, 'INVALID_CREDENTIALS');
        expect(r.body.error.message).to.equal(BAD_CREDENTIALS);
        expect(r.headers.get('www-authenticate')).to.equal('Bearer realm="perfwatch"');
      }
      expect(wrong.text).to.equal(unknown.text);
      await t.db.query('DELETE FROM auth_login_failures');
    });

    it('validates the body and names the missing field', async () => {
      const r = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'admin' } });
      expectErrorShape(r, 400, 'VALIDATION_FAILED');
      expect(r.body.error.message).to.match(/^body\.password: is required/);
      expect(r.body.error.field).to.equal('body.password');
    });
  });

  describe('brute force', () => {
    it('answers 429 with Retry-After after 5 failures for one user in the window, even to the right password', async () => {
      const u = await createUser(t.url, admin.token, { username: 'locky', role: 'viewer' });
      for (let i = 0; i < 5; i++) {
        expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'locky', password: `wrong-${i}` } }), 401, 'INVALID_CREDENTIALS');
      }
      const r = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'locky', password: u.password } });
      expectErrorShape(r, 429, 'TOO_MANY_REQUESTS');
      const retry = Number(r.headers.get('retry-after'));
      expect(retry).to.be.within(290, 300);
      // Other users are not affected (the per-IP limit is high here).
      expect((await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'admin', password: ADMIN.password } })).status).to.equal(200);
      // Once the failures leave the 5-minute window, the user may log in again.
      await t.db.query(`UPDATE auth_login_failures SET at = at - interval '301 seconds' WHERE username = 'locky'`);
      expect((await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'locky', password: u.password } })).status).to.equal(200);
    });

    it('Retry-After counts down to when enough failures leave the window', async () => {
      await t.db.query(`INSERT INTO auth_login_failures (username, client_ip, at) SELECT 'slow', '127.0.0.1', now() - make_interval(secs => 200 - i) FROM generate_series(1, 5) i`);
      const r = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'slow', password: 'whatever-it-is' } });
      expectErrorShape(r, 429);
      // The oldest of the 5 is 199 s old: it leaves the 300 s window in ~101 s.
      expect(Number(r.headers.get('retry-after'))).to.be.within(100, 102);
    });

    it('counts unknown user names too, so throttling does not reveal which exist', async () => {
      for (let i = 0; i < 5; i++) await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'ghost', password: `wrong-${i}` } });
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'ghost', password: 'wrong' } }), 429);
    });

    it('a successful login clears the user\'s failures', async () => {
      const u = await createUser(t.url, admin.token, { username: 'forgetful', role: 'viewer' });
      for (let i = 0; i < 4; i++) await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'forgetful', password: 'wrong' } });
      await login(t.url, 'forgetful', u.password);
      for (let i = 0; i < 4; i++) await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'forgetful', password: 'wrong' } });
      expect((await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'forgetful', password: u.password } })).status).to.equal(200);
    });

    it('keeps the counters in the database, shared by every replica, and prunes them after the window', async () => {
      const r = await t.db.query<{ username: string; client_ip: string }>(`SELECT username, client_ip FROM auth_login_failures WHERE username = 'ghost'`);
      expect(r.rows).to.have.length(5);
      expect(r.rows[0]!.client_ip).to.match(/127\.0\.0\.1/);
      await t.db.query(`UPDATE auth_login_failures SET at = at - interval '301 seconds' WHERE username = 'ghost'`);
      await t.db.query(`INSERT INTO auth_revoked_tokens (jti, expires_at) VALUES (gen_random_uuid(), now() - interval '1 second'), (gen_random_uuid(), now() + interval '1 hour')`);
      await housekeeping(t.api.pool, t.config);
      expect((await t.db.query(`SELECT 1 FROM auth_login_failures WHERE username = 'ghost'`)).rowCount).to.equal(0);
      expect((await t.db.query(`SELECT 1 FROM auth_revoked_tokens WHERE expires_at < now()`)).rowCount).to.equal(0);
      expect((await t.db.query(`SELECT 1 FROM auth_revoked_tokens`)).rowCount).to.be.greaterThan(0);
    });
  });

  describe('access tokens (JWT)', () => {
    let viewer: { id: number; session: Session };
    let claims: jwt.JwtPayload;
    before(async () => {
      viewer = await createUser(t.url, admin.token, { username: 'jwt-viewer', role: 'viewer' });
      claims = jwt.decode(viewer.session.token) as jwt.JwtPayload;
    });
    const me = (token: string) => call(t.url, 'GET', '/api/v1/me', { token });

    it('accepts a token signed with the key, HS256 and the expected claims (the control)', async () => {
      const token = jwt.sign({ ...claims, jti: randomUUID() }, secret, { algorithm: 'HS256' });
      expect((await me(token)).status).to.equal(200);
    });

    it('refuses alg "none"', async () => {
      for (const alg of ['none', 'None', 'NONE']) {
        const token = `${b64({ alg, typ: 'JWT' })}.${b64({ ...claims, role: 'admin' })}.`;
        const r = await me(token);
        expectErrorShape(r, 401, 'INVALID_TOKEN');
      }
    });

    it('refuses other algorithms even with the right key: HS512, HS384', async () => {
      for (const algorithm of ['HS512', 'HS384'] as const) {
        expectErrorShape(await me(jwt.sign({ ...claims }, secret, { algorithm })), 401, 'INVALID_TOKEN');
      }
    });

    it('refuses RS256 (a key pair of the attacker)', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      expectErrorShape(await me(jwt.sign({ ...claims }, privateKey, { algorithm: 'RS256' })), 401, 'INVALID_TOKEN');
    });

    it('refuses a bad signature and a tampered payload', async () => {
      const [h, p, s] = viewer.session.token.split('.') as [string, string, string];
      const flipped = `${h}.${p}.${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`;
      expectErrorShape(await me(flipped), 401, 'INVALID_TOKEN');
      const promoted = `${h}.${b64({ ...claims, role: 'admin', sub: '1' })}.${s}`;
      expectErrorShape(await me(promoted), 401, 'INVALID_TOKEN');
      expectErrorShape(await me(jwt.sign({ ...claims }, 'another secret of enough length!!', { algorithm: 'HS256' })), 401, 'INVALID_TOKEN');
    });

    it('refuses an expired token with TOKEN_EXPIRED', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = jwt.sign({ ...claims, iat: now - 1000, exp: now - 60 }, secret, { algorithm: 'HS256' });
      const r = await me(token);
      expectErrorShape(r, 401, 'TOKEN_EXPIRED');
      expect(r.headers.get('www-authenticate')).to.match(/error="invalid_token"/);
    });

    it('refuses a token of another issuer or audience, and garbage', async () => {
      expectErrorShape(await me(jwt.sign({ ...claims, aud: 'grafana' }, secret, { algorithm: 'HS256' })), 401);
      expectErrorShape(await me(jwt.sign({ ...claims, iss: 'someone' }, secret, { algorithm: 'HS256' })), 401);
      expectErrorShape(await me('not-a-token'), 401, 'INVALID_TOKEN');
      expectErrorShape(await call(t.url, 'GET', '/api/v1/me', { headers: { authorization: `Basic ${Buffer.from('admin:x').toString('base64')}` } }), 401, 'INVALID_TOKEN');
      expectErrorShape(await call(t.url, 'GET', '/api/v1/me'), 401, 'UNAUTHENTICATED');
    });

    it('reads the role from the database, not from the token', async () => {
      // A forged role claim would need the key; but a real token must also lose rights at once.
      await t.db.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [viewer.id]);
      expect((await call(t.url, 'GET', '/api/v1/users', { token: viewer.session.token })).status).to.equal(200);
      await t.db.query(`UPDATE users SET role = 'viewer' WHERE id = $1`, [viewer.id]);
      expectErrorShape(await call(t.url, 'GET', '/api/v1/users', { token: viewer.session.token }), 403, 'FORBIDDEN');
    });
  });

  describe('refresh', () => {
    it('rotates: a new access and refresh token; the old refresh token is refused', async () => {
      const s = await login(t.url, 'admin', ADMIN.password);
      const r1 = await call(t.url, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: s.refreshToken } });
      expect(r1.status, r1.text).to.equal(200);
      expect(r1.body.refreshToken).to.be.a('string').and.not.equal(s.refreshToken);
      expect(r1.body.token).not.to.equal(s.token);
      expect((await call(t.url, 'GET', '/api/v1/me', { token: r1.body.token })).status).to.equal(200);
      const again = await call(t.url, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: s.refreshToken } });
      expectErrorShape(again, 401, 'INVALID_TOKEN');
    });

    it('a reused refresh token revokes its whole session (theft detection)', async () => {
      const s = await login(t.url, 'admin', ADMIN.password);
      const r1 = await call(t.url, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: s.refreshToken } });
      // The attacker replays the stolen, already used token ...
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: s.refreshToken } }), 401);
      // ... and the legitimate holder's newer tokens die with the session.
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: r1.body.refreshToken } }), 401);
      expectErrorShape(await call(t.url, 'GET', '/api/v1/me', { token: r1.body.token }), 401, 'INVALID_TOKEN');
      const row = await t.db.query(`SELECT revoked_reason FROM auth_sessions WHERE revoked_reason = 'refresh token reused'`);
      expect(row.rowCount).to.be.greaterThan(0);
    });

    it('refuses unknown and expired refresh tokens; 400 for a malformed one', async () => {
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: 'A'.repeat(43) } }), 401, 'INVALID_TOKEN');
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: 'short' } }), 400, 'VALIDATION_FAILED');
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/refresh'), 401, 'UNAUTHENTICATED');
      const s = await login(t.url, 'admin', ADMIN.password);
      await t.db.query(`UPDATE auth_refresh_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`);
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: s.refreshToken } }), 401, 'TOKEN_EXPIRED');
    });

    it('stores refresh tokens only as hashes', async () => {
      const s = await login(t.url, 'admin', ADMIN.password);
      const dump = await t.db.query<{ j: string }>(`SELECT row_to_json(r)::text AS j FROM auth_refresh_tokens r`);
      for (const row of dump.rows) expect(row.j).not.to.include(s.refreshToken);
      const hex = (await import('node:crypto')).createHash('sha256').update(s.refreshToken).digest();
      expect((await t.db.query('SELECT 1 FROM auth_refresh_tokens WHERE token_hash = $1', [hex])).rowCount).to.equal(1);
    });
  });

  describe('logout', () => {
    it('revokes the access token at once, and the session\'s refresh token', async () => {
      const s = await login(t.url, 'admin', ADMIN.password);
      const other = await login(t.url, 'admin', ADMIN.password);
      expect((await call(t.url, 'POST', '/api/v1/auth/logout', { token: s.token })).status).to.equal(204);
      expectErrorShape(await call(t.url, 'GET', '/api/v1/me', { token: s.token }), 401, 'INVALID_TOKEN');
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: s.refreshToken } }), 401);
      const jti = (jwt.decode(s.token) as jwt.JwtPayload).jti;
      expect((await t.db.query('SELECT 1 FROM auth_revoked_tokens WHERE jti = $1', [jti])).rowCount).to.equal(1);
      // Another session of the same user is untouched.
      expect((await call(t.url, 'GET', '/api/v1/me', { token: other.token })).status).to.equal(200);
    });

    it('is not for API tokens (they are revoked with DELETE /api/v1/tokens/{id})', async () => {
      const tok = await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token, body: { name: 'script' } });
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/logout', { token: tok.body.token }), 400, 'NOT_A_SESSION');
    });
  });

  describe('admin UI session (cookies)', () => {
    it('sets httpOnly, SameSite=Strict cookies and keeps both tokens out of the body', async () => {
      const r = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'admin', password: ADMIN.password, cookie: true } });
      expect(r.status).to.equal(200);
      // Issue #19: the access token in the body, where page script reads it, undid httpOnly.
      expect(r.body).to.have.keys('expiresAt', 'mustChangePassword', 'refreshExpiresAt');
      const c = setCookies(r.headers);
      const session = c.get('pw_session')!;
      const refresh = c.get('pw_refresh')!;
      for (const k of [session, refresh]) {
        expect(k.attrs).to.include('httponly');
        expect(k.attrs).to.include('samesite=strict');
        // Plain HTTP here: Secure only over TLS (PERFWATCH_COOKIE_SECURE=auto).
        expect(k.attrs).not.to.include('secure');
      }
      expect(session.attrs).to.include('path=/api');
      expect(refresh.attrs).to.include('path=/api/v1/auth');
      expect(jwt.decode(session.value)).to.include({ sub: '1', aud: 'perfwatch-api' });
      expect(r.text).not.to.include(session.value);

      const cookie = (s: string, f: string) => ({ cookie: `pw_session=${s}; pw_refresh=${f}` });
      const me = await call(t.url, 'GET', '/api/v1/me', { headers: cookie(session.value, refresh.value) });
      expect(me.status).to.equal(200);
      expect(me.body.authenticatedWith).to.equal('session');

      const rr = await call(t.url, 'POST', '/api/v1/auth/refresh', { headers: { cookie: `pw_refresh=${refresh.value}` } });
      expect(rr.status, rr.text).to.equal(200);
      const c2 = setCookies(rr.headers);
      expect(c2.get('pw_refresh')!.value).not.to.equal(refresh.value);
      expect(rr.body).to.have.keys('expiresAt', 'mustChangePassword', 'refreshExpiresAt');
      expect(rr.text).not.to.include(c2.get('pw_session')!.value);

      const out = await call(t.url, 'POST', '/api/v1/auth/logout', { headers: cookie(c2.get('pw_session')!.value, c2.get('pw_refresh')!.value) });
      expect(out.status).to.equal(204);
      const cleared = setCookies(out.headers);
      expect(cleared.get('pw_session')!.value).to.equal('');
      expect(cleared.get('pw_refresh')!.value).to.equal('');
      expectErrorShape(await call(t.url, 'GET', '/api/v1/me', { headers: cookie(c2.get('pw_session')!.value, '') }), 401);
      // The rotated-away refresh cookie (and, after logout, the newest one) are refused.
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/refresh', { headers: { cookie: `pw_refresh=${refresh.value}` } }), 401);
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/refresh', { headers: { cookie: `pw_refresh=${c2.get('pw_refresh')!.value}` } }), 401);
    });

    it('refuses a cookie-authenticated change from another site (CSRF)', async () => {
      const r = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'admin', password: ADMIN.password, cookie: true } });
      const session = setCookies(r.headers).get('pw_session')!.value;
      const post = await call(t.url, 'POST', '/api/v1/tokens', {
        body: { name: 'csrf' },
        headers: { cookie: `pw_session=${session}`, origin: 'https://evil.example' },
      });
      expectErrorShape(post, 403, 'ORIGIN_NOT_ALLOWED');
      const form = await call(t.url, 'POST', '/api/v1/tokens', { raw: 'name=csrf', headers: { cookie: `pw_session=${session}`, 'content-type': 'application/x-www-form-urlencoded' } });
      expectErrorShape(form, 415, 'UNSUPPORTED_MEDIA_TYPE');
      const rows = await t.db.query(`SELECT 1 FROM api_tokens WHERE name = 'csrf'`);
      expect(rows.rowCount).to.equal(0);
    });
  });

  describe('password change', () => {
    it('needs the current password, applies the policy, and revokes the other sessions', async () => {
      const u = await createUser(t.url, admin.token, { username: 'changer', role: 'viewer' });
      const other = await login(t.url, 'changer', u.password);
      const pw = (body: object) => call(t.url, 'POST', '/api/v1/auth/password', { token: u.session.token, body });

      const wrong = await pw({ currentPassword: 'not it at all', newPassword: 'a brand new password' });
      expectErrorShape(wrong, 400, 'WRONG_PASSWORD');
      expect(wrong.body.error.field).to.equal('body.currentPassword');
      const short = await pw({ currentPassword: u.password, newPassword: 'short' });
      expectErrorShape(short, 400, 'VALIDATION_FAILED');
      expect(short.body.error.message).to.equal('body.newPassword: must be at least 12 characters');
      expectErrorShape(await pw({ currentPassword: u.password, newPassword: u.password }), 400, 'VALIDATION_FAILED');

      expect((await pw({ currentPassword: u.password, newPassword: 'a brand new password' })).status).to.equal(204);
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: 'changer', password: u.password } }), 401);
      await login(t.url, 'changer', 'a brand new password');
      expect((await call(t.url, 'GET', '/api/v1/me', { token: u.session.token })).status, 'this session stays').to.equal(200);
      expectErrorShape(await call(t.url, 'GET', '/api/v1/me', { token: other.token }), 401, 'INVALID_TOKEN');
    });
  });
});

describe('auth: per-IP throttling and proxies', function () {
  this.timeout(60_000);
  let t: TestApi;
  before(async () => {
    t = await startTestApi({ env: { PERFWATCH_LOGIN_MAX_PER_IP: '3', PERFWATCH_LOGIN_MAX_PER_USER: '100', PERFWATCH_TRUST_PROXY: 'loopback' } });
  });
  after(() => t.close());

  it('answers 429 once one IP has failed PERFWATCH_LOGIN_MAX_PER_IP times, whatever the user name', async () => {
    const xff = { 'x-forwarded-for': '203.0.113.7' };
    for (const u of ['a1', 'a2', 'a3']) {
      expectErrorShape(await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: u, password: 'wrong' }, headers: xff }), 401);
    }
    const r = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: ADMIN.username, password: ADMIN.password }, headers: xff });
    expectErrorShape(r, 429, 'TOO_MANY_REQUESTS');
    expect(Number(r.headers.get('retry-after'))).to.be.within(1, 300);
    // Another client behind the same trusted proxy is not affected.
    const ok = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username: ADMIN.username, password: ADMIN.password }, headers: { 'x-forwarded-for': '198.51.100.9' } });
    expect(ok.status).to.equal(200);
  });
});

/**
 * Issue #19: the throttle counted failures recorded after the password check, so a burst of
 * parallel logins all passed it (20 parallel wrong passwords for one user with a limit of 5: 19
 * checked, the right password in the burst accepted; 45 from one address with a limit of 30: all
 * checked). Every password check is counted here by wrapping the hasher, and held until the
 * whole burst has either reached its check or been answered, so the burst is as concurrent as it
 * can be whatever the machine's load.
 */
describe('auth: the login throttle under concurrent attempts (#19)', function () {
  this.timeout(120_000);
  const realVerify = PasswordHasher.prototype.verify;
  const realDummy = PasswordHasher.prototype.verifyDummy;
  let checks = 0;
  let gate: Promise<void> | undefined;
  let t: TestApi;
  let admin: Session;

  before(async () => {
    PasswordHasher.prototype.verify = async function (this: PasswordHasher, password: string, stored: string) {
      checks++;
      await gate;
      return realVerify.call(this, password, stored);
    };
    PasswordHasher.prototype.verifyDummy = async function (this: PasswordHasher, password: string) {
      checks++;
      await gate;
      return realDummy.call(this, password);
    };
    t = await startTestApi({ env: { PERFWATCH_LOGIN_MAX_PER_IP: '1000' } });
    admin = await login(t.url, ADMIN.username, ADMIN.password);
  });
  after(async () => {
    PasswordHasher.prototype.verify = realVerify;
    PasswordHasher.prototype.verifyDummy = realDummy;
    await t.close();
  });

  /** Fires n requests at once; answers them with the number of password checks they made. */
  async function burst(n: number, send: (i: number) => Promise<Res>, hold = true): Promise<{ answers: Res[]; checks: number }> {
    checks = 0;
    let release = () => {};
    if (hold) gate = new Promise<void>((r) => (release = r));
    let answered = 0;
    const pending = Array.from({ length: n }, (_, i) => send(i).then((r) => (answered++, r)));
    const deadline = Date.now() + 60_000;
    while (hold && checks + answered < n && Date.now() < deadline) await sleep(10);
    release();
    gate = undefined;
    const answers = await Promise.all(pending);
    return { answers, checks };
  }
  const statuses = (rs: Res[]) => rs.reduce<Record<number, number>>((m, r) => ((m[r.status] = (m[r.status] ?? 0) + 1), m), {});
  const loginAs = (url: string, username: string, password: string, headers?: Record<string, string>) =>
    call(url, 'POST', '/api/v1/auth/login', { body: { username, password }, headers });

  it('20 parallel wrong passwords for one user (limit 5): 5 checks, 15 answered 429; then the right password is 429 too', async () => {
    const u = await createUser(t.url, admin.token, { username: 'burst-1', role: 'viewer' });
    const { answers, checks: n } = await burst(20, (i) => loginAs(t.url, u.username, `wrong-password-${i}`), false);
    expect(statuses(answers)).to.deep.equal({ 401: 5, 429: 15 });
    expect(n).to.equal(5);
    expectErrorShape(await loginAs(t.url, u.username, u.password), 429, 'TOO_MANY_REQUESTS');
  });

  it('the right password inside a burst of wrong ones: at most 5 checks in all, whatever the order', async () => {
    const u = await createUser(t.url, admin.token, { username: 'burst-2', role: 'viewer' });
    const { answers, checks: n } = await burst(21, (i) => loginAs(t.url, u.username, i === 10 ? u.password : `wrong-password-${i}`));
    const s = statuses(answers);
    expect(n, JSON.stringify(s)).to.equal(5);
    expect((s[401] ?? 0) + (s[200] ?? 0), JSON.stringify(s)).to.equal(5);
    expect(s[429]).to.equal(16);
  });

  it('45 parallel failed logins from one address (limit 30): 30 checks, 15 answered 429', async () => {
    const ip = await startTestApi({ env: { PERFWATCH_LOGIN_MAX_PER_USER: '100' } });
    try {
      const { answers, checks: n } = await burst(45, (i) => loginAs(ip.url, `nobody-${i}`, 'not the password'));
      expect(statuses(answers)).to.deep.equal({ 401: 30, 429: 15 });
      expect(n).to.equal(30);
    } finally {
      await ip.close();
    }
  });

  it('holds across api replicas sharing the database: a burst split over two apis makes 5 checks', async () => {
    const u = await createUser(t.url, admin.token, { username: 'burst-3', role: 'viewer' });
    const replica = await startTestApi({ schema: { url: t.databaseUrl, schema: t.schema, pool: t.db }, env: { PERFWATCH_LOGIN_MAX_PER_IP: '1000' } });
    try {
      const { answers, checks: n } = await burst(20, (i) => loginAs(i % 2 ? replica.url : t.url, u.username, `wrong-password-${i}`));
      expect(statuses(answers)).to.deep.equal({ 401: 5, 429: 15 });
      expect(n).to.equal(5);
    } finally {
      await replica.close();
    }
  });

  it('a password change\'s current password counts as a check too', async () => {
    const u = await createUser(t.url, admin.token, { username: 'burst-4', role: 'viewer' });
    const { answers, checks: n } = await burst(12, (i) =>
      call(t.url, 'POST', '/api/v1/auth/password', { token: u.session.token, body: { currentPassword: `wrong-password-${i}`, newPassword: 'a brand new passphrase' } }),
    );
    expect(statuses(answers)).to.deep.equal({ 400: 5, 429: 7 });
    expect(n).to.equal(5);
  });
});

describe('auth: timing of unknown users and wrong passwords', function () {
  this.timeout(120_000);
  let t: TestApi;
  before(async () => {
    // A cost that dominates the request time (16 MiB, tens of ms), limits out of the way.
    t = await startTestApi({ env: { PERFWATCH_SCRYPT_N: String(2 ** 14), PERFWATCH_LOGIN_MAX_PER_USER: '1000', PERFWATCH_LOGIN_MAX_PER_IP: '1000' } });
  });
  after(() => t.close());

  /**
   * The CPU time of one failed login, ms: the api runs in this process, and scrypt in its thread
   * pool, so process.cpuUsage() counts the request's work. CPU time, not wall time: what the
   * machine's other load adds to a request is waiting, which CPU time leaves out, so the two kinds
   * of request compare by the work they do (the one hash that makes them take the same time).
   */
  async function cpuMs(username: string): Promise<number> {
    const started = process.cpuUsage();
    const r = await call(t.url, 'POST', '/api/v1/auth/login', { body: { username, password: 'definitely wrong' } });
    const used = process.cpuUsage(started);
    expect(r.status).to.equal(401);
    return (used.user + used.system) / 1000;
  }

  it('takes the same time: both hash once', async () => {
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 8; i++) {
      known.push(await cpuMs('admin'));
      unknown.push(await cpuMs(`nobody${i}`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const ratio = median(unknown) / median(known);
    expect(ratio, `unknown ${median(unknown).toFixed(1)} ms vs wrong password ${median(known).toFixed(1)} ms of CPU`).to.be.within(0.6, 1.6);
  });
});
