/**
 * Api test helpers: an api started in-process on port 0 against its own schema of the test
 * PostgreSQL (store's helpers: the machine's PostgreSQL 15, else an embedded one), and a small
 * fetch wrapper. Tests use a low scrypt cost (PERFWATCH_SCRYPT_N=1024) except where the cost is
 * the subject.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import type pg from 'pg';
import { loadConfig, type ApiConfig } from '../src/config.js';
import type { Logger } from '../src/log.js';
import { startApi, type RunningApi, type StartOptions } from '../src/service.js';
import { afterRun, testSchema } from '../../store/test/helpers.js';

export { freePort, testServer, uniqueName } from '../../store/test/helpers.js';

/** The administrator every test api starts with: strong, so no forced password change. */
export const ADMIN = { username: 'admin', password: 'correct-horse-battery-staple' };

/** A pino logger writing JSON lines into an array. */
export function memoryLogger(level: pino.Level = 'debug'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level }, stream), lines };
}

export interface TestApi {
  url: string;
  api: RunningApi;
  config: ApiConfig;
  /** a pool on the api's schema, for looking at rows. */
  db: pg.Pool;
  schema: string;
  databaseUrl: string;
  /** lines the api announced on "stdout" (the generated admin password). */
  announced: string[];
  logLines: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface TestApiOptions {
  /** environment on top of the test defaults; a key set to undefined removes a default. */
  env?: Record<string, string | undefined>;
  /** reuse this schema (a restart) instead of a fresh one. */
  schema?: { url: string; schema: string; pool: pg.Pool };
  start?: StartOptions;
}

export async function startTestApi(opts: TestApiOptions = {}): Promise<TestApi> {
  const t = opts.schema ?? (await testSchema({ prefix: 'api' }));
  const env: Record<string, string | undefined> = {
    DATABASE_URL: t.url,
    PERFWATCH_DB_SCHEMA: t.schema,
    PERFWATCH_API_PORT: '0',
    PERFWATCH_API_HOST: '127.0.0.1',
    PERFWATCH_SCRYPT_N: '1024',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    ...opts.env,
  };
  const config = loadConfig(env);
  const { log, lines } = memoryLogger();
  const announced: string[] = [];
  const api = await startApi(config, log, { announce: (l) => announced.push(l), processMetrics: false, shutdownGraceMs: 1000, ...opts.start });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await api.close();
  };
  afterRun(close);
  return { url: api.url, api, config, db: t.pool, schema: t.schema, databaseUrl: t.url, announced, logLines: lines, close };
}

export interface Res<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** sent as is (no JSON encoding). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

/** One HTTP request; the body is parsed as JSON when it is JSON. */
export async function call<T = any>(base: string, method: string, path: string, opts: CallOptions = {}): Promise<Res<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | Buffer | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const r = await fetch(`${base}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await r.text();
  let parsed: unknown = text;
  if ((r.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status: r.status, headers: r.headers, body: parsed as T, text };
}

export interface Session {
  token: string;
  refreshToken: string;
  expiresAt: string;
  mustChangePassword: boolean;
}

export async function login(base: string, username: string, password: string): Promise<Session> {
  const r = await call<Session>(base, 'POST', '/api/v1/auth/login', { body: { username, password } });
  if (r.status !== 200) throw new Error(`login as ${username}: ${r.status} ${r.text}`);
  return r.body;
}

/** Creates a user (as the admin token) and logs them in. */
export async function createUser(
  base: string,
  adminToken: string,
  u: { username: string; password?: string; role: 'admin' | 'viewer'; mustChangePassword?: boolean },
): Promise<{ id: number; username: string; password: string; session: Session }> {
  const password = u.password ?? `${u.username}-long-password-1`;
  const r = await call(base, 'POST', '/api/v1/users', { token: adminToken, body: { username: u.username, password, role: u.role, mustChangePassword: u.mustChangePassword ?? false } });
  if (r.status !== 201) throw new Error(`create user ${u.username}: ${r.status} ${r.text}`);
  return { id: r.body.id as number, username: u.username, password, session: await login(base, u.username, password) };
}

/** The error body every failure has. */
export function expectErrorShape(r: Res, status: number, code?: string): void {
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${r.text}`);
  const e = (r.body as { error?: { code?: unknown; message?: unknown } })?.error;
  if (!e || typeof e.code !== 'string' || typeof e.message !== 'string') throw new Error(`not an error body: ${r.text}`);
  if (code !== undefined && e.code !== code) throw new Error(`expected code ${code}, got ${e.code}: ${e.message}`);
  if (/\n\s+at /.test(r.text)) throw new Error(`stack trace in the response: ${r.text}`);
}
