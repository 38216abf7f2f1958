import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { ADMIN, call, expectErrorShape, login, startTestApi } from './helpers.js';
import { testSchema } from '../../store/test/helpers.js';

describe('first start', function () {
  this.timeout(60_000);

  it('generates the admin password, prints it once, and forces a change before anything else', async () => {
    const t = await startTestApi({ env: { ADMIN_PASSWORD: undefined } });
    try {
      const line = t.announced.find((l) => l.includes('generated password'));
      expect(line, t.announced.join('\n')).to.match(/created administrator "admin" with the generated password: [A-Za-z0-9_-]{24}$/);
      const password = line!.split(': ').at(-1)!;
      expect(t.announced.join('\n')).to.match(/shown only this once/);
      // Never in the structured log.
      expect(JSON.stringify(t.logLines)).not.to.include(password);

      const s = await login(t.url, 'admin', password);
      expect(s.mustChangePassword).to.equal(true);
      for (const [method, path] of [
        ['GET', '/api/v1/users'],
        ['GET', '/api/v1/tokens'],
        ['POST', '/api/v1/tokens'],
        ['GET', '/api/v1/retention'],
      ] as const) {
        const r = await call(t.url, method, path, { token: s.token, body: method === 'POST' ? { name: 'x' } : undefined });
        expectErrorShape(r, 403, 'PASSWORD_CHANGE_REQUIRED');
        expect(r.body.error.message).to.match(/POST \/api\/v1\/auth\/password/);
      }
      const me = await call(t.url, 'GET', '/api/v1/me', { token: s.token });
      expect(me.status).to.equal(200);
      expect(me.body.mustChangePassword).to.equal(true);

      const changed = await call(t.url, 'POST', '/api/v1/auth/password', { token: s.token, body: { currentPassword: password, newPassword: 'my own strong password' } });
      expect(changed.status, changed.text).to.equal(204);
      expect((await call(t.url, 'GET', '/api/v1/users', { token: s.token })).status).to.equal(200);
      expect((await login(t.url, 'admin', 'my own strong password')).mustChangePassword).to.equal(false);

      // A restart finds the user and prints nothing.
      const again = await startTestApi({ env: { ADMIN_PASSWORD: undefined }, schema: { url: t.databaseUrl, schema: t.schema, pool: t.db } });
      expect(again.announced).to.deep.equal([]);
      expect((await t.db.query('SELECT count(*)::int AS n FROM users')).rows[0].n).to.equal(1);
      await again.close();
    } finally {
      await t.close();
    }
  });

  it('recreates the administrator after a lost one was deleted with SQL, and only then', async () => {
    const t = await startTestApi();
    try {
      const admin = await login(t.url, ADMIN.username, ADMIN.password);
      await call(t.url, 'POST', '/api/v1/users', { token: admin.token, body: { username: 'someone', password: 'someone-password-1', role: 'viewer' } });
      await t.db.query(`DELETE FROM users WHERE username = 'admin'`);
      const again = await startTestApi({ env: { ADMIN_PASSWORD: undefined }, schema: { url: t.databaseUrl, schema: t.schema, pool: t.db } });
      const line = again.announced.find((l) => l.includes('generated password'));
      expect(line).to.be.a('string');
      const s = await login(again.url, 'admin', line!.split(': ').at(-1)!);
      expect(s.mustChangePassword).to.equal(true);
      await again.close();
      // A viewer holding the name is not turned into an administrator: the log says what to do.
      await t.db.query(`DELETE FROM users WHERE username = 'admin'`);
      await t.db.query(`UPDATE users SET username = 'admin' WHERE username = 'someone'`);
      const third = await startTestApi({ env: { ADMIN_PASSWORD: undefined }, schema: { url: t.databaseUrl, schema: t.schema, pool: t.db } });
      expect(third.announced).to.deep.equal([]);
      expect(third.logLines.some((l) => l.level === 50 && /no enabled administrator/.test(String(l.msg)))).to.equal(true);
      expect((await t.db.query(`SELECT role FROM users WHERE username = 'admin'`)).rows).to.deep.equal([{ role: 'viewer' }]);
      await third.close();
    } finally {
      await t.close();
    }
  });

  it('forces a change of the old default admin123', async () => {
    const t = await startTestApi({ env: { ADMIN_PASSWORD: 'admin123' } });
    try {
      expect(t.announced).to.deep.equal([]);
      const s = await login(t.url, 'admin', 'admin123');
      expect(s.mustChangePassword).to.equal(true);
      expectErrorShape(await call(t.url, 'GET', '/api/v1/users', { token: s.token }), 403, 'PASSWORD_CHANGE_REQUIRED');
      expect(t.logLines.some((l) => /must change it at first login/.test(String(l.msg)))).to.equal(true);
    } finally {
      await t.close();
    }
  });

  it('does not force a change of a strong password set by the operator', async () => {
    const t = await startTestApi();
    try {
      const s = await login(t.url, ADMIN.username, ADMIN.password);
      expect(s.mustChangePassword).to.equal(false);
      expect((await call(t.url, 'GET', '/api/v1/users', { token: s.token })).status).to.equal(200);
    } finally {
      await t.close();
    }
  });

  it('keeps a generated JWT key in the database: tokens survive a restart and work on every replica', async () => {
    const schema = await testSchema({ prefix: 'api' });
    const a = await startTestApi({ schema });
    const s = await login(a.url, ADMIN.username, ADMIN.password);
    await a.close();
    const b = await startTestApi({ schema });
    const c = await startTestApi({ schema });
    try {
      for (const x of [b, c]) expect((await call(x.url, 'GET', '/api/v1/me', { token: s.token })).status).to.equal(200);
      const row = await schema.pool.query<{ value: string }>(`SELECT value FROM api_settings WHERE key = 'jwt_secret'`);
      expect(row.rows).to.have.length(1);
      expect(Buffer.from(row.rows[0]!.value, 'base64')).to.have.length(32);
    } finally {
      await b.close();
      await c.close();
    }
  });

  it('signs with JWT_SECRET when it is set, and stores no key then', async () => {
    const secret = 'an operator secret of at least 32 bytes!';
    const t = await startTestApi({ env: { JWT_SECRET: secret } });
    try {
      const s = await login(t.url, ADMIN.username, ADMIN.password);
      expect(() => jwt.verify(s.token, secret, { algorithms: ['HS256'] })).not.to.throw();
      expect((await t.db.query(`SELECT 1 FROM api_settings WHERE key = 'jwt_secret'`)).rowCount).to.equal(0);
    } finally {
      await t.close();
    }
  });

  it('two replicas starting together create the administrator once', async () => {
    const schema = await testSchema({ prefix: 'api' });
    const [a, b] = await Promise.all([startTestApi({ schema, env: { ADMIN_PASSWORD: undefined } }), startTestApi({ schema, env: { ADMIN_PASSWORD: undefined } })]);
    try {
      expect((await schema.pool.query('SELECT count(*)::int AS n FROM users')).rows[0].n).to.equal(1);
      const printed = [a, b].filter((x) => x.announced.some((l) => l.includes('generated password')));
      expect(printed, 'exactly one replica prints a password').to.have.length(1);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
