import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, StoreError, type EmbeddedPostgres } from '../src/index.js';
import { runTs } from './child.js';
import { freePort, recordingLogger, tempDir } from './helpers.js';

function alive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

async function waitGone(pid: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

describe('embedded PostgreSQL', function () {
  this.timeout(120_000);
  const tmp = tempDir('perfwatch-embedded-');
  const dataDir = join(tmp.dir, 'pg');
  let port: number;
  let running: EmbeddedPostgres | undefined;

  before(async () => {
    port = await freePort();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });
  after(() => tmp.remove());

  it('starts on a fresh data directory: initialises, creates the database, listens on 127.0.0.1 only', async () => {
    const log = recordingLogger();
    running = await startEmbeddedPostgres({ dataDir, port }, log);
    expect(running.version).to.match(/^17\./);
    expect(running.url).to.match(new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${port}/perfwatch$`));
    expect(existsSync(join(dataDir, 'PG_VERSION'))).to.equal(true);
    expect(statSync(join(dataDir, 'perfwatch.password')).mode & 0o777).to.equal(0o600);
    expect(existsSync(`${dataDir}.initdb`)).to.equal(false);
    expect(log.lines.some((l) => /initialising a new PostgreSQL cluster/.test(l.msg))).to.equal(true);
    const rows = await query<{ db: string; listen: string; sock: string; enc: string }>(
      running.url,
      `SELECT current_database() AS db, current_setting('listen_addresses') AS listen,
              current_setting('unix_socket_directories') AS sock, pg_encoding_to_char(encoding) AS enc
         FROM pg_database WHERE datname = current_database()`,
    );
    expect(rows[0]).to.deep.equal({ db: 'perfwatch', listen: '127.0.0.1', sock: '', enc: 'UTF8' });
    await query(running.url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)');
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    await running.stop();
    expect(running.running).to.equal(false);
    expect(alive(pid)).to.equal(false);
    expect(existsSync(join(dataDir, 'postmaster.pid'))).to.equal(false);
    running = undefined;
  });

  it('starts on an existing data directory and keeps its data', async () => {
    const log = recordingLogger();
    running = await startEmbeddedPostgres({ dataDir, port }, log);
    expect(log.lines.some((l) => /initialising/.test(l.msg))).to.equal(false);
    expect(await query(running.url, 'SELECT x FROM kept')).to.deep.equal([{ x: 42 }]);
  });

  it('after kill -9 of the process that started it: stops the orphaned server and starts again', async () => {
    const child = runTs('store/test/fixtures/start-embedded.ts', [dataDir, String(port)]);
    await child.waitFor(/^READY /);
    const orphan = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    child.proc.kill('SIGKILL');
    await child.exited;
    expect(alive(orphan), 'the server outlives its killed parent').to.equal(true);
    const log = recordingLogger();
    running = await startEmbeddedPostgres({ dataDir, port }, log);
    expect(alive(orphan)).to.equal(false);
    expect(log.lines.some((l) => /orphaned embedded PostgreSQL/.test(l.msg))).to.equal(true);
    expect(await query(running.url, 'SELECT x FROM kept')).to.deep.equal([{ x: 42 }]);
  });

  it('after kill -9 of the server itself (a stale postmaster.pid): recovers and starts', async () => {
    running = await startEmbeddedPostgres({ dataDir, port });
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    await running.exited;
    await running.stop();
    expect(existsSync(join(dataDir, 'postmaster.pid')), 'a killed postmaster leaves its pid file').to.equal(true);
    const log = recordingLogger();
    running = await startEmbeddedPostgres({ dataDir, port }, log);
    expect(log.lines.some((l) => /stale postmaster\.pid/.test(l.msg))).to.equal(true);
    expect(await query(running.url, 'SELECT x FROM kept')).to.deep.equal([{ x: 42 }]);
  });

  it('a postmaster.pid naming an unrelated live process is stale too', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      const pidFile = join(dataDir, 'postmaster.pid');
      writeFileSync(pidFile, `${sleeper.pid}\n${dataDir}\n0\n${port}\n\n127.0.0.1\n0 0\nready\n`);
      running = await startEmbeddedPostgres({ dataDir, port });
      expect(await query(running.url, 'SELECT x FROM kept')).to.deep.equal([{ x: 42 }]);
      expect(alive(sleeper.pid!)).to.equal(true);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('refuses to take over a server another live process runs', async () => {
    const child = runTs('store/test/fixtures/start-embedded.ts', [dataDir, String(port)]);
    try {
      await child.waitFor(/^READY /);
      const err = await startEmbeddedPostgres({ dataDir, port }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(StoreError);
      expect((err as StoreError).message).to.match(new RegExp(`already running for process ${child.proc.pid}`));
    } finally {
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      child.proc.kill('SIGKILL');
      await child.exited;
      process.kill(pid, 'SIGINT');
      await waitGone(pid);
    }
  });

  it('a port in use fails with a message naming the port', async () => {
    // The blocker takes a port of its own choosing (0): a port found free first could be taken by
    // another process before the blocker listens on it.
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const busy = (blocker.address() as AddressInfo).port;
    try {
      const err = await startEmbeddedPostgres({ dataDir, port: busy }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(StoreError);
      expect((err as StoreError).code).to.equal('EMBEDDED_FAILED');
      expect((err as StoreError).message).to.match(new RegExp(`Port ${busy} is in use`));
    } finally {
      blocker.close();
    }
  });

  it('refuses a non-empty directory that holds no cluster, and cleans up an initdb cut short', async () => {
    const other = join(tmp.dir, 'not-a-cluster');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'mine');
    const err = await startEmbeddedPostgres({ dataDir: other, port }).catch((e: unknown) => e);
    expect((err as StoreError).message).to.match(/not empty but holds no PostgreSQL cluster/);
    expect(readFileSync(join(other, 'notes.txt'), 'utf8')).to.equal('mine');

    const fresh = join(tmp.dir, 'fresh');
    mkdirSync(`${fresh}.initdb`);
    writeFileSync(join(`${fresh}.initdb`, 'PG_VERSION'), '17\n'); // what a killed initdb leaves
    running = await startEmbeddedPostgres({ dataDir: fresh, port });
    expect(existsSync(`${fresh}.initdb`)).to.equal(false);
    expect(await query(running.url, 'SELECT 1 AS one')).to.deep.equal([{ one: 1 }]);
  });
});
