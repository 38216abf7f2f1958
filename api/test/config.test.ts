import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, INSECURE_JWT_SECRET, loadConfig, OWASP_SCRYPT_N } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const DB = { DATABASE_URL: 'postgres://perfwatch@127.0.0.1:5432/perfwatch' };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('api config', () => {
  it('gives documented defaults when only DATABASE_URL is set', () => {
    const c = loadConfig(DB);
    expect(c.port).to.equal(8000);
    expect(c.listenHost).to.equal('0.0.0.0');
    expect(c.production).to.equal(false);
    expect(c.dbSchema).to.equal('perfwatch');
    expect(c.dbMigrate).to.equal(true);
    expect(c.dbPoolMax).to.equal(10);
    expect(c.jwtSecret).to.equal(undefined);
    expect(c.jwtTtlSeconds).to.equal(900);
    expect(c.refreshTtlSeconds).to.equal(604_800);
    expect(c.adminUsername).to.equal('admin');
    expect(c.adminPassword).to.equal(undefined);
    expect(c.passwordMinLength).to.equal(12);
    expect(c.scryptN).to.equal(OWASP_SCRYPT_N).and.to.equal(2 ** 17);
    expect(c.corsOrigins).to.deep.equal(['http://localhost:3000']);
    expect(c.trustProxy).to.equal(false);
    expect(c.cookieSecure).to.equal('auto');
    expect(c.bodyLimitBytes).to.equal(102_400);
    expect(c.loginWindowSeconds).to.equal(300);
    expect(c.loginMaxPerUser).to.equal(5);
    expect(c.loginMaxPerIp).to.equal(30);
    expect(c.warnings).to.deep.equal([]);
  });

  it('reads every variable it documents', () => {
    const c = loadConfig({
      ...DB,
      PERFWATCH_API_PORT: '8100',
      PERFWATCH_API_HOST: '127.0.0.1',
      NODE_ENV: 'production',
      PERFWATCH_DB_SCHEMA: 'pw2',
      PERFWATCH_API_DB_MIGRATE: 'false',
      PERFWATCH_API_DB_POOL_MAX: '20',
      PERFWATCH_DB_CONNECT_TIMEOUT_SECONDS: '2',
      PERFWATCH_DB_STATEMENT_TIMEOUT_SECONDS: '10',
      PERFWATCH_LOG_LEVEL: 'debug',
      JWT_SECRET: 'x'.repeat(40),
      PERFWATCH_JWT_TTL_SECONDS: '600',
      PERFWATCH_REFRESH_TTL_SECONDS: '3600',
      ADMIN_USERNAME: 'root@example.com',
      ADMIN_PASSWORD: 'a very long operator password',
      PERFWATCH_PASSWORD_MIN_LENGTH: '16',
      PERFWATCH_SCRYPT_N: String(2 ** 18),
      PERFWATCH_CORS_ORIGINS: 'https://ui.example.com, http://localhost:3000/',
      PERFWATCH_TRUST_PROXY: 'loopback, 10.0.0.0/8',
      PERFWATCH_COOKIE_SECURE: 'true',
      PERFWATCH_API_BODY_LIMIT_BYTES: '4096',
      PERFWATCH_LOGIN_WINDOW_SECONDS: '60',
      PERFWATCH_LOGIN_MAX_PER_USER: '3',
      PERFWATCH_LOGIN_MAX_PER_IP: '10',
    });
    expect(c).to.deep.include({
      port: 8100,
      listenHost: '127.0.0.1',
      production: true,
      dbSchema: 'pw2',
      dbMigrate: false,
      dbPoolMax: 20,
      dbConnectTimeoutSeconds: 2,
      dbStatementTimeoutSeconds: 10,
      logLevel: 'debug',
      jwtSecret: 'x'.repeat(40),
      jwtTtlSeconds: 600,
      refreshTtlSeconds: 3600,
      adminUsername: 'root@example.com',
      adminPassword: 'a very long operator password',
      passwordMinLength: 16,
      scryptN: 2 ** 18,
      cookieSecure: 'true',
      bodyLimitBytes: 4096,
      loginWindowSeconds: 60,
      loginMaxPerUser: 3,
      loginMaxPerIp: 10,
    });
    expect(c.corsOrigins).to.deep.equal(['https://ui.example.com', 'http://localhost:3000']);
    expect(c.trustProxy).to.deep.equal(['loopback', '10.0.0.0/8']);
    expect(c.warnings).to.deep.equal([]);
  });

  it('refuses to start without DATABASE_URL, saying what npm start does and what to set', () => {
    const e = configError({});
    expect(e.variable).to.equal('DATABASE_URL');
    expect(e.message).to.equal(
      'DATABASE_URL is not set: npm start sets it to the embedded PostgreSQL; set it to postgres://user:password@host:5432/database otherwise',
    );
    expect(configError({ DATABASE_URL: 'not a url' }).message).to.match(/DATABASE_URL is not a URL/);
    const mysql = configError({ DATABASE_URL: 'mysql://u:secret@h/db' });
    expect(mysql.message).to.match(/protocol "mysql:"/);
    expect(mysql.message, 'the URL may hold a password: never echoed').not.to.include('secret');
  });

  describe('JWT_SECRET', () => {
    for (const [what, secret] of [
      ['the old default', INSECURE_JWT_SECRET],
      ['shorter than 32 bytes', 'short-secret-31-bytes-long-xxxxx'.slice(0, 31)],
    ] as const) {
      it(`${what}: refused with NODE_ENV=production`, () => {
        const e = configError({ ...DB, NODE_ENV: 'production', JWT_SECRET: secret });
        expect(e.variable).to.equal('JWT_SECRET');
        expect(e.message).to.match(/refused with NODE_ENV=production/);
        expect(e.message).to.match(/openssl rand/);
      });
      it(`${what}: a loud warning otherwise`, () => {
        const c = loadConfig({ ...DB, JWT_SECRET: secret });
        expect(c.jwtSecret).to.equal(secret);
        expect(c.warnings).to.have.length(1);
        expect(c.warnings[0]).to.match(/^JWT_SECRET .*anyone who knows it can sign tokens/);
      });
    }

    it('32 bytes or more is accepted in production', () => {
      const c = loadConfig({ ...DB, NODE_ENV: 'production', JWT_SECRET: 'k'.repeat(32) });
      expect(c.warnings).to.deep.equal([]);
    });
  });

  describe('scrypt cost', () => {
    it('must be a power of two within 2^10..2^20', () => {
      expect(configError({ ...DB, PERFWATCH_SCRYPT_N: '100000' }).message).to.match(/PERFWATCH_SCRYPT_N: "100000" is not a power of two/);
      expect(configError({ ...DB, PERFWATCH_SCRYPT_N: '512' }).message).to.match(/from 1024 to 1048576/);
    });
    it('below OWASP is refused in production and warned about otherwise', () => {
      expect(configError({ ...DB, NODE_ENV: 'production', PERFWATCH_SCRYPT_N: '1024' }).message).to.match(/below OWASP's 131072/);
      expect(loadConfig({ ...DB, PERFWATCH_SCRYPT_N: '1024' }).warnings[0]).to.match(/PERFWATCH_SCRYPT_N=1024 is below OWASP/);
    });
  });

  describe('PERFWATCH_CORS_ORIGINS', () => {
    it('refuses "*": the api answers with credentials', () => {
      expect(configError({ ...DB, PERFWATCH_CORS_ORIGINS: '*' }).message).to.match(/"\*" is not allowed/);
      expect(configError({ ...DB, PERFWATCH_CORS_ORIGINS: 'http://a.example, *' }).message).to.match(/"\*" is not allowed/);
    });
    it('takes origins only (no paths, http or https)', () => {
      expect(configError({ ...DB, PERFWATCH_CORS_ORIGINS: 'http://a.example/ui' }).message).to.match(/is not an origin/);
      expect(configError({ ...DB, PERFWATCH_CORS_ORIGINS: 'ftp://a.example' }).message).to.match(/is not an origin/);
      expect(configError({ ...DB, PERFWATCH_CORS_ORIGINS: 'localhost:3000' }).message).to.match(/is not an origin/);
    });
    it('"none" allows no cross-origin caller', () => {
      expect(loadConfig({ ...DB, PERFWATCH_CORS_ORIGINS: 'none' }).corsOrigins).to.deep.equal([]);
    });
  });

  it('PERFWATCH_TRUST_PROXY: off, on, hops, addresses', () => {
    expect(loadConfig({ ...DB, PERFWATCH_TRUST_PROXY: 'false' }).trustProxy).to.equal(false);
    expect(loadConfig({ ...DB, PERFWATCH_TRUST_PROXY: 'true' }).trustProxy).to.equal(true);
    expect(loadConfig({ ...DB, PERFWATCH_TRUST_PROXY: '2' }).trustProxy).to.equal(2);
    expect(loadConfig({ ...DB, PERFWATCH_TRUST_PROXY: '::1,192.168.1.10' }).trustProxy).to.deep.equal(['::1', '192.168.1.10']);
    expect(configError({ ...DB, PERFWATCH_TRUST_PROXY: '10.0.0.0/33' }).message).to.match(/PERFWATCH_TRUST_PROXY: "10.0.0.0\/33" is not an address/);
    expect(configError({ ...DB, PERFWATCH_TRUST_PROXY: 'proxy.local' }).message).to.match(/is not an address/);
  });

  it('names the variable and what it accepts for bad values', () => {
    expect(configError({ ...DB, PERFWATCH_API_PORT: 'http' }).message).to.equal('PERFWATCH_API_PORT: "http" is not a whole number from 0 to 65535 (default 8000)');
    expect(configError({ ...DB, ADMIN_USERNAME: 'bad name' }).message).to.match(/ADMIN_USERNAME: "bad name" is not a user name/);
    expect(configError({ ...DB, PERFWATCH_DB_SCHEMA: 'Bad-Schema' }).message).to.match(/PERFWATCH_DB_SCHEMA: "Bad-Schema" is not a usable schema name/);
    expect(configError({ ...DB, PERFWATCH_PASSWORD_MIN_LENGTH: '6' }).message).to.match(/from 8 to 256/);
    expect(configError({ ...DB, PERFWATCH_COOKIE_SECURE: 'maybe' }).message).to.match(/not one of auto, true, false/);
  });

  it('DEFAULTS are what loadConfig gives', () => {
    const c = loadConfig(DB);
    for (const [k, v] of Object.entries(DEFAULTS)) expect((c as unknown as Record<string, unknown>)[k], k).to.deep.equal(v);
  });

  it('main exits 2 with the message when DATABASE_URL is unset', function () {
    this.timeout(30_000);
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const r = spawnSync(process.execPath, ['--conditions=perfwatch-src', '--import', 'tsx', MAIN], { env, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/perfwatch-api: configuration error: DATABASE_URL is not set: npm start sets it to the embedded PostgreSQL/);
  });
});
