/**
 * Test helper: Debian's pgbouncer (`apt-get install pgbouncer`, which `npm test` installs) in
 * transaction pooling mode, on a free port of 127.0.0.1, in front of a PostgreSQL URL. Its config
 * lives in a temp directory; the process is this test run's child and is stopped after the run
 * (or by stop()). As root it runs as user postgres (pgbouncer refuses to run as root).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterRun, freePort, tempDir } from './helpers.js';

/** The pgbouncer binary, or undefined with the reason it cannot be used. */
export function pgbouncerBinary(): { path?: string; reason?: string } {
  const r = spawnSync('sh', ['-c', 'command -v pgbouncer || ls /usr/sbin/pgbouncer'], { encoding: 'utf8' });
  const path = r.stdout.trim().split('\n')[0];
  return path ? { path } : { reason: 'pgbouncer is not installed (Debian: apt-get install pgbouncer; npm test installs it)' };
}

export interface Pgbouncer {
  /** postgres:// URL of the target database through pgbouncer. */
  url: string;
  port: number;
  /** Runs a command on pgbouncer's admin console (SHOW POOLS, SHOW SERVERS, ...). */
  admin<T extends pg.QueryResultRow>(command: string): Promise<T[]>;
  /** What it printed (its log). */
  log(): string;
  stop(): Promise<void>;
}

export interface PgbouncerOptions {
  /** server connections per user and database (pgbouncer's default_pool_size). */
  poolSize?: number;
  /** client connections it accepts in all. */
  maxClientConn?: number;
  /** pool_mode (transaction). */
  poolMode?: 'transaction' | 'session' | 'statement';
}

/** Starts pgbouncer in front of targetUrl; throws when it does not come up (with its log). */
export async function startPgbouncer(targetUrl: string, opts: PgbouncerOptions = {}): Promise<Pgbouncer> {
  const bin = pgbouncerBinary();
  if (!bin.path) throw new Error(bin.reason);
  const t = new URL(targetUrl);
  const user = decodeURIComponent(t.username || 'postgres');
  const db = decodeURIComponent(t.pathname.slice(1) || 'postgres');
  const dir = tempDir('perfwatch-pgbouncer-');
  const server = [`host=${t.hostname}`, `port=${t.port || 5432}`, `dbname=${db}`, `user=${user}`];
  if (t.password) server.push(`password=${decodeURIComponent(t.password)}`);
  let lastError = '';
  // A port found free may be taken before pgbouncer binds it: a second port then.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    writeFileSync(
      join(dir.dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `${db} = ${server.join(' ')}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${join(dir.dir, 'users.txt')}`,
        `admin_users = ${user}`,
        `pool_mode = ${opts.poolMode ?? 'transaction'}`,
        `default_pool_size = ${opts.poolSize ?? 2}`,
        `max_client_conn = ${opts.maxClientConn ?? 200}`,
        'logfile =',
        'pidfile =',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    writeFileSync(join(dir.dir, 'users.txt'), `"${user}" ""\n`, { mode: 0o644 });
    const args = process.getuid?.() === 0 ? ['-u', 'postgres', join(dir.dir, 'pgbouncer.ini')] : [join(dir.dir, 'pgbouncer.ini')];
    const child: ChildProcess = spawn(bin.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let up = false;
    for (let i = 0; i < 100 && child.exitCode === null && !up; i++) {
      up = /listening on 127\.0\.0\.1:\d+/.test(output);
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    if (!up) {
      child.kill('SIGKILL');
      await exited;
      lastError = output;
      continue;
    }
    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= (async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        await exited;
        dir.remove();
      })());
    afterRun(stop);
    const url = `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
    return {
      url,
      port,
      async admin<T extends pg.QueryResultRow>(command: string) {
        const c = new pg.Client({ connectionString: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/pgbouncer` });
        c.on('error', () => undefined);
        await c.connect();
        try {
          return (await c.query<T>(command)).rows;
        } finally {
          await c.end().catch(() => undefined);
        }
      },
      log: () => output,
      stop,
    };
  }
  dir.remove();
  throw new Error(`pgbouncer did not start: ${lastError.trim() || 'no output'}`);
}
