import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, insertSnapshots, migrate, startEmbeddedPostgres, type InsertResult, type Pool, type Snapshot } from '@perfwatch/store';
import { deadPort, fakeSnapshot, freePort, recordingLogger, tempDir, testSchema, type TestSchema } from '../../store/test/helpers.js';
import { MetricsRenderer } from '../src/metrics.js';
import { Spool } from '../src/spool.js';
import { SnapshotWriter, startSnapshotWriter, writerFamilies, type WriterOptions } from '../src/writer.js';
import { parseExposition, promtoolCheck, quietLogger } from './helpers.js';

const T0 = Date.UTC(2030, 6, 1, 12);

/**
 * A TCP forwarder standing in for the database's address, on a port it holds from open() to
 * close(), so that no other process can take the port while the "database" is down: up()
 * forwards, down() cuts every connection and drops new ones.
 */
class Proxy {
  private forwarding = false;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => {
      client.on('error', () => undefined);
      if (!this.forwarding) {
        client.destroy();
        return;
      }
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
  }
  static async open(target: { host: string; port: number }): Promise<Proxy> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return new Proxy(server, target);
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  up(): void {
    this.forwarding = true;
  }
  down(): void {
    this.forwarding = false;
    for (const s of this.sockets) s.destroy();
  }
  async close(): Promise<void> {
    this.down();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

function targetOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 5432) };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function rowTimes(pool: Pool, host: string): Promise<number[]> {
  const r = await pool.query<{ ts: Date }>(`SELECT s.ts FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = $1 ORDER BY s.ts`, [host]);
  return r.rows.map((x) => x.ts.getTime());
}

const FAST: Partial<WriterOptions> = { flushIntervalMs: 20, retryInitialMs: 50, retryMaxMs: 200 };

describe('SnapshotWriter', function () {
  this.timeout(60_000);
  let t: TestSchema;
  let dir: string;

  beforeEach(async () => {
    t = await testSchema({ migrate: true });
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-writer-'));
  });
  afterEach(async () => {
    await t.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function writerOn(pool: Pool, opts: Partial<WriterOptions> = {}, extra: { insert?: (p: Pool, b: readonly Snapshot[]) => Promise<InsertResult>; prepare?: (p: Pool) => Promise<void>; maxBytes?: number } = {}) {
    const spool = await Spool.open<Snapshot>({ dir: join(dir, 'spool'), maxBytes: extra.maxBytes ?? 64 * 1024 * 1024 });
    const log = recordingLogger();
    const writer = new SnapshotWriter({ pool, spool, log, insert: extra.insert, prepare: extra.prepare }, { ...FAST, ...opts });
    writer.start();
    return { writer, spool, log };
  }

  it('batches: 250 snapshots in 100-snapshot statements, one host row', async () => {
    const sizes: number[] = [];
    const { writer, spool } = await writerOn(t.pool, { batchSize: 100, flushIntervalMs: 60_000 }, {
      insert: (p, b) => {
        sizes.push(b.length);
        return insertSnapshots(p, b);
      },
    });
    for (let i = 0; i < 250; i++) writer.enqueue(fakeSnapshot('batch', T0 + i * 5_000, i));
    await writer.flush();
    expect(sizes).to.deep.equal([100, 100, 50]);
    expect(await rowTimes(t.pool, 'batch')).to.have.length(250);
    expect((await t.pool.query('SELECT count(*)::int AS n FROM hosts')).rows[0].n).to.equal(1);
    const st = writer.stats();
    expect(st).to.include({ queued: 0, spooled: 0, writtenTotal: 250, mode: 'direct' });
    expect(st.lastSuccessMs).to.be.a('number');
    await writer.close();
    await spool.close();
  });

  it('a lone snapshot is written within flushIntervalMs', async () => {
    const { writer, spool } = await writerOn(t.pool, { flushIntervalMs: 50 });
    await until(() => writer.stats().mode === 'direct', 5_000, 'direct mode');
    writer.enqueue(fakeSnapshot('lone', T0));
    await until(async () => (await rowTimes(t.pool, 'lone')).length === 1, 10_000, 'the row');
    await writer.close();
    await spool.close();
  });

  it('database unreachable, then back (a port that drops every connection, then forwards to the real server): spooled, replayed in order, 0 lost', async () => {
    const proxy = await Proxy.open(targetOf(t.url));
    const pool = createPool({ databaseUrl: viaPort(t.url, proxy.port), schema: t.schema, connectTimeoutMs: 500 });
    const { writer, spool, log } = await writerOn(pool, { batchSize: 10 }, { prepare: (p) => migrate(p).then(() => undefined) });
    try {
      for (let i = 0; i < 100; i++) writer.enqueue(fakeSnapshot('outage', T0 + i * 5_000, i));
      await until(() => writer.stats().spooled === 100, 10_000, '100 spooled');
      expect(writer.stats().mode).to.equal('spool');
      expect(writer.stats().writtenTotal).to.equal(0);
      proxy.up();
      // Snapshots keep coming while the spool drains; they must land after it, none lost.
      for (let i = 100; i < 150; i++) writer.enqueue(fakeSnapshot('outage', T0 + i * 5_000, i));
      await until(() => writer.stats().mode === 'direct' && writer.stats().spooled === 0, 20_000, 'drained');
      await writer.flush();
      expect(await rowTimes(t.pool, 'outage')).to.deep.equal(Array.from({ length: 150 }, (_, i) => T0 + i * 5_000));
      const st = writer.stats();
      expect(st.writtenTotal).to.equal(150);
      expect(Object.values(st.droppedTotal).reduce((a, b) => a + b, 0)).to.equal(0);
      expect(log.lines.some((l) => /spooling snapshots to disk|database not ready/.test(l.msg))).to.equal(true);
    } finally {
      await writer.close();
      await spool.close();
      await pool.end();
      await proxy.close();
    }
  });

  it('the database goes away mid-stream and returns: 0 lost, no duplicates', async () => {
    const proxy = await Proxy.open(targetOf(t.url));
    proxy.up();
    const pool = createPool({ databaseUrl: viaPort(t.url, proxy.port), schema: t.schema, connectTimeoutMs: 500, statementTimeoutMs: 2_000 });
    const { writer, spool } = await writerOn(pool, { batchSize: 5 });
    let feed: NodeJS.Timeout | undefined;
    try {
      let i = 0;
      feed = setInterval(() => {
        for (let k = 0; k < 3; k++, i++) writer.enqueue(fakeSnapshot('flaky', T0 + i * 5_000, i));
      }, 10);
      await until(() => writer.stats().writtenTotal > 30, 10_000, 'first writes');
      proxy.down();
      await until(() => writer.stats().spooled > 30, 10_000, 'spooling');
      proxy.up();
      await until(() => writer.stats().mode === 'direct', 20_000, 'back to direct');
      clearInterval(feed);
      await writer.flush();
      await until(() => writer.stats().spooled === 0 && writer.stats().queued === 0, 20_000, 'all written');
      expect(await rowTimes(t.pool, 'flaky')).to.deep.equal(Array.from({ length: i }, (_, k) => T0 + k * 5_000));
      expect(writer.stats().writeErrorsTotal).to.be.greaterThan(0);
    } finally {
      clearInterval(feed);
      await writer.close();
      await spool.close();
      await pool.end();
      await proxy.close();
    }
  });

  it('an embedded PostgreSQL stopped and started again: 0 lost', async function () {
    this.timeout(120_000);
    const tmp = tempDir('perfwatch-writer-pg-');
    const port = await freePort();
    let pg = await startEmbeddedPostgres({ dataDir: join(tmp.dir, 'pg'), port });
    const pool = createPool({ databaseUrl: pg.url, schema: 'perfwatch', connectTimeoutMs: 500, statementTimeoutMs: 2_000 });
    const { writer, spool } = await writerOn(pool, { batchSize: 5 }, { prepare: (p) => migrate(p).then(() => undefined) });
    let feed: NodeJS.Timeout | undefined;
    try {
      let i = 0;
      feed = setInterval(() => writer.enqueue(fakeSnapshot('emb', T0 + i * 5_000, i++)), 5);
      await until(() => writer.stats().writtenTotal > 20, 20_000, 'first writes');
      await pg.stop();
      await until(() => writer.stats().spooled > 20, 10_000, 'spooling');
      pg = await startEmbeddedPostgres({ dataDir: join(tmp.dir, 'pg'), port });
      await until(() => writer.stats().mode === 'direct', 30_000, 'back to direct');
      clearInterval(feed);
      await writer.flush();
      await until(() => writer.stats().spooled === 0 && writer.stats().queued === 0, 20_000, 'all written');
      expect(await rowTimes(pool, 'emb')).to.deep.equal(Array.from({ length: i }, (_, k) => T0 + k * 5_000));
    } finally {
      clearInterval(feed);
      await writer.close();
      await spool.close();
      await pool.end();
      await pg.stop();
      tmp.remove();
    }
  });

  it('the spool survives a restart: a new writer replays what the old one spooled', async () => {
    const unreachable = await deadPort();
    const dead = createPool({ databaseUrl: viaPort(t.url, unreachable.port), schema: t.schema, connectTimeoutMs: 300 });
    const first = await writerOn(dead, {}, { prepare: async () => undefined });
    for (let i = 0; i < 40; i++) first.writer.enqueue(fakeSnapshot('restart', T0 + i * 5_000, i));
    await first.writer.close();
    await first.spool.close();
    await dead.end();
    await unreachable.close();
    expect(first.writer.stats().spooled).to.equal(40);

    const second = await writerOn(t.pool);
    await until(() => second.writer.stats().mode === 'direct' && second.writer.stats().spooled === 0, 10_000, 'replayed');
    expect(await rowTimes(t.pool, 'restart')).to.have.length(40);
    await second.writer.close();
    await second.spool.close();
  });

  it('a snapshot the database refuses is dropped and counted; the rest of its batch is written', async () => {
    const { writer, spool, log } = await writerOn(t.pool, { batchSize: 10, flushIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) {
      const s = fakeSnapshot('poison', T0 + i * 5_000, i);
      if (i === 4) s.col = { cpu: { ok: false, s: 0, err: 'nul \u0000 here' } };
      writer.enqueue(s);
    }
    await writer.flush();
    expect(await rowTimes(t.pool, 'poison')).to.have.length(9);
    expect(writer.stats().droppedTotal.rejected).to.equal(1);
    expect(writer.stats().mode).to.equal('direct');
    expect(log.lines.some((l) => l.level === 'error' && /refuses it/.test(l.msg))).to.equal(true);
    await writer.close();
    await spool.close();
  });

  it('invalid snapshots are dropped at enqueue and counted', async () => {
    const { writer, spool } = await writerOn(t.pool);
    writer.enqueue({ ...fakeSnapshot('x', T0), host: '' });
    writer.enqueue({ ...fakeSnapshot('x', T0), ts: Number.NaN });
    expect(writer.stats().droppedTotal.invalid).to.equal(2);
    expect(writer.stats().queued).to.equal(0);
    await writer.close();
    await spool.close();
  });

  it('beyond the spool bound the oldest are dropped and counted', async () => {
    const unreachable = await deadPort();
    const dead = createPool({ databaseUrl: viaPort(t.url, unreachable.port), schema: t.schema, connectTimeoutMs: 300 });
    const { writer, spool } = await writerOn(dead, { batchSize: 10 }, { prepare: async () => undefined, maxBytes: 64 * 1024 });
    for (let i = 0; i < 400; i++) writer.enqueue(fakeSnapshot('full', T0 + i * 5_000, i));
    await writer.flush();
    await until(() => writer.stats().spooled + writer.stats().droppedTotal.spool_full === 400, 10_000, 'all spooled or dropped');
    const st = writer.stats();
    expect(st.spoolBytes).to.be.at.most(64 * 1024);
    expect(st.droppedTotal.spool_full).to.be.greaterThan(0);
    await writer.close();
    await spool.close();
    await dead.end();
    await unreachable.close();
  });

  it('close() spools what it cannot write, and later enqueues are counted as dropped', async () => {
    const unreachable = await deadPort();
    const dead = createPool({ databaseUrl: viaPort(t.url, unreachable.port), schema: t.schema, connectTimeoutMs: 300 });
    const { writer, spool } = await writerOn(dead, { flushIntervalMs: 60_000 }, { prepare: async () => undefined });
    await until(() => writer.stats().mode === 'direct', 5_000, 'direct');
    for (let i = 0; i < 7; i++) writer.enqueue(fakeSnapshot('closing', T0 + i * 5_000, i));
    await writer.close(2_000);
    writer.enqueue(fakeSnapshot('closing', T0 + 99_000));
    expect(writer.stats().droppedTotal.closed).to.equal(1);
    expect(spool.pending).to.equal(7);
    await spool.close();
    await dead.end();
    await unreachable.close();
  });

  it('perfwatch_writer_* metrics: values from the writer, lint-clean for promtool, in both formats', async () => {
    const { writer, spool } = await writerOn(t.pool, { flushIntervalMs: 60_000 });
    const renderer = new MetricsRenderer({ version: 'test', revision: '' }, { processMetrics: false });
    renderer.addStatic(writerFamilies(writer));
    for (let i = 0; i < 5; i++) writer.enqueue(fakeSnapshot('m', T0 + i * 5_000, i));
    await writer.flush();
    writer.enqueue({ ...fakeSnapshot('m', T0), host: '' });

    const text = (await renderer.render(undefined, false)).body;
    const m = parseExposition(text);
    expect(m.get('perfwatch_writer_written_total')).to.equal(5);
    expect(m.get('perfwatch_writer_queued_snapshots')).to.equal(0);
    expect(m.get('perfwatch_writer_spooled_snapshots')).to.equal(0);
    expect(m.get('perfwatch_writer_dropped_total{reason="invalid"}')).to.equal(1);
    expect(m.get('perfwatch_writer_dropped_total{reason="spool_full"}')).to.equal(0);
    expect(m.get('perfwatch_writer_write_duration_seconds_count')).to.equal(1);
    expect(m.get('perfwatch_writer_last_success_timestamp_seconds')).to.be.closeTo(Date.now() / 1000, 60);
    // Scraped twice, counters do not double.
    expect(parseExposition((await renderer.render(undefined, false)).body).get('perfwatch_writer_written_total')).to.equal(5);
    const lint = promtoolCheck(text);
    if (lint) expect(lint.output, lint.output).to.equal('');

    for (const om of [false, true]) {
      const body = (await renderer.render(undefined, om)).body;
      expect(parseExposition(body).get('perfwatch_writer_written_total'), om ? 'OpenMetrics' : 'text').to.equal(5);
    }
    await writer.close();
    await spool.close();
  });

  it('startSnapshotWriter: migrates, writes, closes everything', async () => {
    const running = await startSnapshotWriter(
      { store: { databaseUrl: t.url, schema: `${t.schema}_w` }, migrate: true, spoolDir: join(dir, 'spool2'), writer: FAST },
      quietLogger(),
    );
    try {
      await until(() => running.writer.stats().mode === 'direct', 10_000, 'direct');
      running.writer.enqueue(fakeSnapshot('started', T0));
      await running.writer.flush();
      const n = await t.pool.query(`SELECT count(*)::int AS n FROM "${t.schema}_w".snapshots`);
      expect(n.rows[0].n).to.equal(1);
    } finally {
      await running.close();
      await t.pool.query(`DROP SCHEMA IF EXISTS "${t.schema}_w" CASCADE`);
    }
  });
});
