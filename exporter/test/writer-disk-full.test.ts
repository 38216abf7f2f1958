/**
 * The exporter's data directory on a full disk (a tmpfs this test mounts, so it needs root), with
 * a real PostgreSQL stopped and started again (issue #20, part 1): a batch the spool cannot take
 * goes to the database directly when it answers, a snapshot is lost only when both refuse it, the
 * counters say exactly how many, and once the database is back nothing more is lost.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createPool, insertSnapshots, migrate, startEmbeddedPostgres, type EmbeddedPostgres, type Pool, type Snapshot } from '@perfwatch/store';
import { freePort, recordingLogger, tempDir } from '../../store/test/helpers.js';
import { Spool, SpoolAppendError } from '../src/spool.js';
import { SnapshotWriter } from '../src/writer.js';

const T0 = Date.UTC(2033, 0, 1);
const HOST = 'diskfull';
const PAGE = 4096;

/** About 2 KB, deterministic per sequence number. */
function snapshotOf(seq: number): Snapshot {
  const vm: Record<string, number> = {};
  for (let k = 0; k < 80; k++) vm[`counter_${k}`] = seq * 1000 + k;
  return { v: 1, host: HOST, ts: T0 + seq * 5_000, iv: 5, col: { vmstat: { ok: true, s: 0.001 } }, vm };
}
const seqOf = (s: { ts: number }) => (s.ts - T0) / 5_000;

interface Rec {
  i: number;
  pad: string;
}
const rec = (i: number, size: number): Rec => ({ i, pad: 'z'.repeat(size) });

/** Mounts a tmpfs of `bytes` at dir; undefined (with the reason) where that is not possible. */
function mountTmpfs(dir: string, bytes: number): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    return `mount -t tmpfs failed: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || String(err)}`;
  }
  return undefined;
}

function umount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
}

/** Writes a file of zeros until the filesystem refuses (or `bytes` are written); returns the size written. */
function fill(path: string, bytes = Number.MAX_SAFE_INTEGER): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(PAGE);
  let n = 0;
  try {
    while (n < bytes) {
      n += writeSync(fd, chunk, 0, Math.min(PAGE, bytes - n));
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return n;
}

function skip(ctx: Mocha.Context, why: string): never {
  ctx.test!.title += ` (skipped: ${why})`;
  ctx.skip();
}

async function drain<T>(spool: Spool<T>): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const b = await spool.read(1000);
    if (!b) return out;
    out.push(...b.records);
    await spool.ack(b);
  }
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a full disk under the spool (tmpfs mounted by the test)', function () {
  this.timeout(180_000);
  let tmp: { dir: string; remove(): void };
  let mnt: string;

  beforeEach(function () {
    tmp = tempDir('perfwatch-diskfull-');
    mnt = join(tmp.dir, 'data');
  });
  afterEach(() => {
    if (existsSync(mnt) && execFileSync('findmnt', ['-n', mnt], { encoding: 'utf8' }).trim()) umount(mnt);
    tmp.remove();
  });

  it('an append the disk cuts off half-way keeps exactly the records written whole, and says how many', async function () {
    const why = mountTmpfs(mnt, 16 * PAGE);
    if (why) skip(this, why);
    // 3 pages left for the segment: room for about 12 records of 1 KB out of the 20 appended.
    fill(join(mnt, 'filler'), 13 * PAGE);
    const dir = join(mnt, 'spool');
    const spool = await Spool.open<Rec>({ dir, maxBytes: 64 * 1024 * 1024 });
    const err = await spool.append(Array.from({ length: 20 }, (_, i) => rec(i, 1000))).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(SpoolAppendError);
    const { stored, code } = err as SpoolAppendError;
    expect(code).to.equal('ENOSPC');
    expect(stored, 'cut off half-way').to.be.within(1, 19);
    expect(spool.pending).to.equal(stored);
    expect(spool.stats().corruptTotal).to.equal(0);
    await spool.close();

    // What a restart finds: exactly those records, whole, nothing torn.
    const again = await Spool.open<Rec>({ dir, maxBytes: 64 * 1024 * 1024 });
    expect(again.pending).to.equal(stored);
    expect(again.stats().corruptTotal).to.equal(0);
    // Room again: appends go on in the same spool, after the kept records.
    rmSync(join(mnt, 'filler'));
    await again.append([rec(100, 1000)]);
    const out = await drain(again);
    expect(out.map((r) => r.i)).to.deep.equal([...Array.from({ length: stored }, (_, i) => i), 100]);
    await again.close();
    this.test!.title += ` [${stored} of 20 kept]`;
  });

  it('a cursor that cannot be saved backs off: one failed save and one log line per episode, nothing lost', async function () {
    const why = mountTmpfs(mnt, 16 * PAGE);
    if (why) skip(this, why);
    const dir = join(mnt, 'spool');
    const log = recordingLogger();
    // A backoff longer than the test: any second attempt would be a retry without backoff.
    const spool = await Spool.open<Rec>({ dir, maxBytes: 64 * 1024 * 1024, log, cursorRetryInitialMs: 600_000 });
    await spool.append(Array.from({ length: 40 }, (_, i) => rec(i, 100)));
    fill(join(mnt, 'filler'));
    const got: number[] = [];
    for (let k = 0; k < 10; k++) {
      const b = (await spool.read(3))!;
      got.push(...b.records.map((r) => r.i));
      await spool.ack(b);
    }
    expect(got).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
    expect(spool.stats().cursorSaveErrorsTotal).to.equal(1);
    expect(log.lines.filter((l) => /cursor cannot be saved/.test(l.msg))).to.have.length(1);
    rmSync(join(mnt, 'filler'));
    await spool.close(); // saves the cursor it could not save
    expect(log.lines.filter((l) => /cursor saved again/.test(l.msg))).to.have.length(1);
    const again = await Spool.open<Rec>({ dir, maxBytes: 64 * 1024 * 1024 });
    expect((await drain(again)).map((r) => r.i)).to.deep.equal(Array.from({ length: 10 }, (_, i) => 30 + i));
    await again.close();
  });

  it('database stopped while the disk is full, then started: lost only what both refused, counted exactly, 0 lost once it is back', async function () {
    const why = mountTmpfs(mnt, 128 * PAGE);
    if (why) skip(this, why);
    const port = await freePort();
    const pgDir = join(tmp.dir, 'pg');
    let pg: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir: pgDir, port });
    const pool: Pool = createPool({ databaseUrl: pg.url, schema: 'perfwatch', connectTimeoutMs: 500, statementTimeoutMs: 5_000 });
    const log = recordingLogger();
    // The spool's own bound is far above the disk's 512 KiB: the disk is what refuses.
    const spool = await Spool.open<Snapshot>({ dir: join(mnt, 'spool'), maxBytes: 64 * 1024 * 1024, log });
    const refusedByDb = new Set<number>();
    let attemptsWhileLosing = 0;
    const insert = async (p: Pool, batch: readonly Snapshot[]) => {
      try {
        return await insertSnapshots(p, batch);
      } catch (err) {
        for (const s of batch) refusedByDb.add(seqOf(s));
        if (writer.stats().droppedTotal.spool_error > 0) attemptsWhileLosing++;
        throw err;
      }
    };
    // The default backoff (1 s doubling to 30 s): the replay loop alone would notice the database late.
    const writer: SnapshotWriter = new SnapshotWriter(
      { pool, spool, log, insert, prepare: (p) => migrate(p).then(() => undefined) },
      { batchSize: 10, flushIntervalMs: 20, retryInitialMs: 1_000, retryMaxMs: 30_000 },
    );
    writer.start();
    let seq = 0;
    const feed = setInterval(() => writer.enqueue(snapshotOf(seq++)), 10);
    let backSeq = -1;
    try {
      await until(() => writer.stats().writtenTotal >= 20, 30_000, 'first writes');
      await pg.stop();
      // The spool fills the disk (about 250 snapshots), then snapshots are lost.
      await until(() => writer.stats().droppedTotal.spool_error >= 100, 60_000, '100 snapshots lost');
      const lostBeforeRestart = writer.stats().droppedTotal.spool_error;
      expect(readdirSync(mnt).length).to.be.greaterThan(0);
      pg = await startEmbeddedPostgres({ dataDir: pgDir, port });
      // From here on the database answers: nothing enqueued now may be lost.
      backSeq = seq;
      await until(() => seq >= backSeq + 200, 30_000, '200 snapshots after the restart');
      await until(() => writer.stats().mode === 'direct' && writer.stats().spooled === 0, 90_000, 'spool drained, writing directly');
      clearInterval(feed);
      await writer.flush();
      const expected = seq;

      const rows = await pool.query<{ ts: Date }>(`SELECT s.ts FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = $1`, [HOST]);
      const stored = new Set(rows.rows.map((r) => seqOf({ ts: r.ts.getTime() })));
      expect(stored.size, 'no duplicate rows').to.equal(rows.rowCount);
      const lost = Array.from({ length: expected }, (_, i) => i).filter((i) => !stored.has(i));
      const st = writer.stats();

      expect(lost.length, 'the scenario lost snapshots while both refused').to.be.at.least(lostBeforeRestart);
      expect(st.droppedTotal.spool_error, 'perfwatch_writer_dropped_total{reason="spool_error"}').to.equal(lost.length);
      expect(Object.entries(st.droppedTotal).filter(([r, n]) => r !== 'spool_error' && n > 0), 'no other drops').to.deep.equal([]);
      expect(lost.filter((s) => s >= backSeq), 'lost after the database was back').to.deep.equal([]);
      expect(lost.filter((s) => !refusedByDb.has(s)), 'lost without the database refusing them').to.deep.equal([]);
      expect(attemptsWhileLosing, 'database attempts while losing').to.be.greaterThan(0);

      // One line per episode, at its start and its end, with what was lost; not one per attempt.
      // (An episode may end early when a freed page of the tmpfs takes a record or two, and begin
      // again: each start has its end, and the ends add up to what is missing.)
      const msgs = (re: RegExp) => log.lines.filter((l) => re.test(l.msg));
      const lostOf = (lines: { obj: object }[]) => lines.reduce((n, l) => n + (l.obj as { lost: number }).lost, 0);
      const starts = msgs(/^snapshots lost/);
      const ends = msgs(/^snapshots stored again/);
      expect(starts.length, 'loss episodes started').to.be.at.least(1);
      expect(ends.length, 'loss episodes ended').to.equal(starts.length);
      expect(lostOf(ends), 'lost, as the end lines say').to.equal(lost.length);
      expect(starts.length * 5, 'loss lines, not one per attempt').to.be.at.most(attemptsWhileLosing);
      const refusals = msgs(/^the spool cannot be written/);
      const refusalEnds = msgs(/^(the spool can be written again|writing directly to the database again)/);
      expect(refusals.length, 'spool refusals started').to.be.at.least(1);
      expect(refusalEnds.length, 'spool refusals ended').to.equal(refusals.length);
      expect(lostOf(refusalEnds), 'lost, as the refusal end lines say').to.equal(lost.length);
      expect(refusals.length * 5, 'refusal lines, not one per attempt').to.be.at.most(attemptsWhileLosing);
      expect(msgs(/spool replay/), 'replay errors').to.deep.equal([]);
      expect(msgs(/cursor cannot be saved/).length, 'cursor failure lines').to.be.at.most(1);

      this.test!.title += ` [${expected} expected, ${stored.size} stored, ${lost.length} lost (all before the restart at #${backSeq}), ${attemptsWhileLosing} database attempts while losing, ${starts.length} loss episode(s)]`;
    } finally {
      clearInterval(feed);
      await writer.close();
      await spool.close();
      await pool.end();
      await pg.stop();
    }
  });
});
