/**
 * Test helper: a real PostgreSQL primary and a hot standby fed by streaming replication, built from
 * Debian's PostgreSQL 15 server programs (/usr/lib/postgresql/15/bin: initdb, pg_ctl,
 * pg_basebackup -R) in a temp directory, on free ports of 127.0.0.1, trust auth. As root the
 * programs run as user postgres (they refuse root). Stopped and removed after the run, or by stop().
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterRun, freePort, tempDir } from './helpers.js';

export const PG15_BIN = '/usr/lib/postgresql/15/bin';

/** Why the pair cannot be built here; undefined when it can. */
export function replicationUnavailable(): string | undefined {
  for (const p of ['initdb', 'pg_ctl', 'pg_basebackup']) {
    if (!existsSync(join(PG15_BIN, p))) return `${PG15_BIN}/${p} is missing (Debian: apt-get install postgresql-15)`;
  }
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0) return 'running as root and there is no user postgres to run PostgreSQL as';
  return undefined;
}

export interface ReplicatedPair {
  primaryUrl: string;
  standbyUrl: string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], what: string): string {
  const root = process.getuid?.() === 0;
  const r = spawnSync(root ? 'runuser' : cmd, root ? ['-u', 'postgres', '--', cmd, ...args] : args, { encoding: 'utf8', timeout: 120_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}): ${out.trim().slice(-2000)}`);
  return out;
}

/** initdb, start the primary, pg_basebackup -R the standby from it, start the standby. */
export async function startPrimaryAndStandby(): Promise<ReplicatedPair> {
  const why = replicationUnavailable();
  if (why) throw new Error(why);
  const tmp = tempDir('perfwatch-repl-');
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    for (const d of ['', 'run']) {
      mkdirSync(join(tmp.dir, d), { recursive: true });
      chownSync(join(tmp.dir, d), uid, gid);
    }
  } else mkdirSync(join(tmp.dir, 'run'));
  const primary = join(tmp.dir, 'primary');
  const standby = join(tmp.dir, 'standby');
  const sockets = join(tmp.dir, 'run');
  const started: string[] = [];
  const stop = async () => {
    for (const dir of started.splice(0).reverse()) {
      try {
        run(join(PG15_BIN, 'pg_ctl'), ['-D', dir, '-m', 'immediate', '-w', 'stop'], `stopping ${dir}`);
      } catch {
        // already stopped
      }
    }
    tmp.remove();
  };
  afterRun(stop);
  try {
    const pPort = await freePort();
    run(join(PG15_BIN, 'initdb'), ['-D', primary, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'], 'initdb');
    const opts = (port: number) => `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${sockets} -c fsync=off -c max_wal_senders=4 -c wal_level=replica -c hot_standby=on -c wal_receiver_status_interval=1`;
    run(join(PG15_BIN, 'pg_ctl'), ['-D', primary, '-l', join(tmp.dir, 'primary.log'), '-o', opts(pPort), '-w', '-t', '60', 'start'], 'starting the primary');
    started.push(primary);
    // -R writes primary_conninfo and standby.signal: the copy starts as a streaming standby.
    run(join(PG15_BIN, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(pPort), '-U', 'postgres', '-D', standby, '-R', '-X', 'stream', '-c', 'fast'], 'pg_basebackup');
    const sPort = await freePort();
    run(join(PG15_BIN, 'pg_ctl'), ['-D', standby, '-l', join(tmp.dir, 'standby.log'), '-o', opts(sPort), '-w', '-t', '60', 'start'], 'starting the standby');
    started.push(standby);
    return {
      primaryUrl: `postgres://postgres@127.0.0.1:${pPort}/postgres`,
      standbyUrl: `postgres://postgres@127.0.0.1:${sPort}/postgres`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
