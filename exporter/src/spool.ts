/**
 * A bounded on-disk spool: where snapshots wait while the database is unreachable, surviving an
 * exporter restart, replayed oldest first.
 *
 * Layout: <dir>/<16-digit sequence>.seg append-only segment files, and <dir>/cursor.json, the
 * position of the oldest record not yet acknowledged. Each record is one line:
 *
 *     <crc32 of the JSON, 8 hex digits> <JSON>\n
 *
 * A line whose checksum does not match, or the unterminated tail of a write cut short by kill -9,
 * is skipped on read and counted as corrupt; it was never acknowledged to anyone, because append()
 * resolves only after the write and its fdatasync. After an open appends go to a fresh segment, so
 * a torn tail is never glued to a good record.
 *
 * A write the filesystem refuses part-way (ENOSPC on a full disk) keeps the records it wrote
 * whole: the torn one is truncated away, the rest is synced, and append() rejects with a
 * SpoolAppendError saying how many of its records are in the spool (`stored`), so the caller can
 * send exactly the others elsewhere. Only when even the truncation fails is the segment sealed
 * with its torn tail (skipped on read, as after a crash).
 *
 * Bound: the segment files together stay within maxBytes. An append that would pass it deletes
 * the oldest segments first, counting the records in them that were not yet acknowledged as
 * dropped. Segments are maxBytes / 16 at most, so one drop gives back at most ~6% of the spool.
 *
 * Durability: one fdatasync per append() call (the writer appends a batch at a time), plus an
 * fsync of the directory when a segment is created. The cursor is written with write + rename and
 * no fsync: losing it (power loss) only replays records again, and replay is idempotent. For the
 * same reason a cursor that cannot be saved (a full disk) fails nothing: acknowledgements go on in
 * memory, the save is retried with backoff (1 s doubling to 30 s), and one log line says when that
 * starts and one when it ends. A fully read segment is deleted before the cursor is saved, so that
 * a full disk gets room back first; a restart with the older cursor starts at the next segment.
 */
import { open, readdir, readFile, rename, rm, stat, writeFile, mkdir, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '@perfwatch/store';

export interface SpoolOptions {
  /** directory of the segment files (the exporter uses <data dir>/spool). */
  dir: string;
  /** bound on the segment files together, bytes. */
  maxBytes: number;
  /** a segment is closed and a new one begun past this size (default min(8 MiB, maxBytes / 16)). */
  segmentBytes?: number;
  log?: Logger;
  /** first delay before saving the cursor again after a failed save, ms; doubles up to cursorRetryMaxMs. */
  cursorRetryInitialMs?: number;
  cursorRetryMaxMs?: number;
}

/**
 * append() could not write all of its records. The first `stored` are taken care of: in the spool,
 * whole and synced (they will be read back), or, the oldest of an append larger than the whole
 * bound, counted as dropped. The others are not on disk at all.
 */
export class SpoolAppendError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly stored: number,
    readonly records: number,
    cause: unknown,
  ) {
    super(`spool append: ${stored} of ${records} record(s) written: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'SpoolAppendError';
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** 256 MiB: 24 h at 5 s intervals is 17,280 snapshots; see docs/storage.md for the sizes per host. */
export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;

export interface SpoolPosition {
  seq: number;
  offset: number;
}

export interface SpoolBatch<T> {
  records: T[];
  /** position just after the last record of the batch (and any corrupt lines skipped before it). */
  end: SpoolPosition;
}

export interface SpoolStats {
  /** records appended and not yet acknowledged. */
  pending: number;
  /** size of the segment files. */
  bytes: number;
  segments: number;
  /** records ever appended by this process. */
  appendedTotal: number;
  /** records deleted unacknowledged to stay within maxBytes (by this process). */
  droppedTotal: number;
  /** lines skipped because their checksum did not match or they were cut short. */
  corruptTotal: number;
  /** failed attempts to save the cursor (each retried later; none loses a record). */
  cursorSaveErrorsTotal: number;
}

interface Segment {
  seq: number;
  path: string;
  size: number;
  /** valid records after the cursor (all of them for segments after the cursor's). */
  pending: number;
}

const SEGMENT_RE = /^(\d{16})\.seg$/;
const NL = 0x0a;

function segName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.seg`;
}

function encode(record: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(record), 'utf8');
  const head = Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} `, 'latin1');
  return Buffer.concat([head, json, Buffer.from('\n')]);
}

/** The JSON of a line when its checksum matches, else undefined. */
function decode(line: Buffer): string | undefined {
  if (line.length < 10 || line[8] !== 0x20) return undefined;
  const want = Number.parseInt(line.subarray(0, 8).toString('latin1'), 16);
  const json = line.subarray(9);
  if (!Number.isFinite(want) || crc32(json) !== want) return undefined;
  return json.toString('utf8');
}

/** Counts the valid records and corrupt lines of a buffer (a torn unterminated tail is corrupt). */
function scan(buf: Buffer): { valid: number; corrupt: number } {
  let valid = 0;
  let corrupt = 0;
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(NL, start);
    if (nl < 0) {
      corrupt++;
      break;
    }
    // A matching checksum means the JSON is what JSON.stringify wrote: no need to parse it here.
    if (decode(buf.subarray(start, nl)) !== undefined) valid++;
    else corrupt++;
    start = nl + 1;
  }
  return { valid, corrupt };
}

export class Spool<T = unknown> {
  private segments: Segment[] = [];
  private cursor: SpoolPosition = { seq: 0, offset: 0 };
  /** the segment appends go to; undefined until the first append after open or after an error. */
  private active: { seg: Segment; fh: FileHandle } | undefined;
  private nextSeq = 1;
  private chain: Promise<unknown> = Promise.resolve();
  /** the batch handed out by read() and not yet acknowledged: its records are not counted as dropped. */
  private inflight: { seq: number; count: number } | undefined;
  private appendedTotal = 0;
  private droppedTotal = 0;
  private corruptTotal = 0;
  private cursorSaveErrorsTotal = 0;
  /** the cursor on disk is behind the one in memory. */
  private cursorDirty = false;
  /** saving the cursor fails: since when, how often, and when to try again. */
  private cursorFailing: { since: number; attempts: number; delayMs: number; retryAt: number } | undefined;
  private closed = false;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly cursorRetryInitialMs: number;
  private readonly cursorRetryMaxMs: number;

  private constructor(
    private readonly dir: string,
    opts: SpoolOptions,
    private readonly log: Logger | undefined,
  ) {
    this.maxBytes = opts.maxBytes;
    this.segmentBytes = Math.max(4096, Math.min(opts.segmentBytes ?? 8 * 1024 * 1024, Math.floor(opts.maxBytes / 16)));
    this.cursorRetryInitialMs = opts.cursorRetryInitialMs ?? 1_000;
    this.cursorRetryMaxMs = Math.max(this.cursorRetryInitialMs, opts.cursorRetryMaxMs ?? 30_000);
  }

  /** Opens (creating) the spool directory, and counts what an earlier run left in it. */
  static async open<T = unknown>(opts: SpoolOptions): Promise<Spool<T>> {
    if (!Number.isFinite(opts.maxBytes) || opts.maxBytes < 64 * 1024) throw new RangeError(`spool maxBytes must be at least 65536 (got ${opts.maxBytes})`);
    const spool = new Spool<T>(opts.dir, opts, opts.log);
    await spool.load();
    return spool;
  }

  private async load(): Promise<void> {
    await mkdirs(this.dir);
    const names = (await readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    let cursor: SpoolPosition | undefined;
    try {
      const c = JSON.parse(await readFile(join(this.dir, 'cursor.json'), 'utf8')) as SpoolPosition;
      if (Number.isInteger(c.seq) && Number.isInteger(c.offset) && c.offset >= 0) cursor = c;
    } catch {
      // no cursor yet, or a damaged one: start at the oldest segment (replay is idempotent).
    }
    for (const name of names) {
      const seq = Number(SEGMENT_RE.exec(name)![1]);
      const path = join(this.dir, name);
      if (cursor && seq < cursor.seq) {
        // consumed, but the run ended before deleting it
        await rm(path, { force: true });
        continue;
      }
      const buf = await readFile(path);
      const from = cursor && seq === cursor.seq ? Math.min(cursor.offset, buf.length) : 0;
      const { valid, corrupt } = scan(buf.subarray(from));
      if (corrupt) {
        this.corruptTotal += corrupt;
        this.log?.warn({ segment: name, corrupt }, `spool segment ${name}: skipping ${corrupt} damaged record(s) (a write cut short by a crash)`);
      }
      this.segments.push({ seq, path, size: buf.length, pending: valid });
    }
    const first = this.segments[0];
    this.cursor = first && cursor && cursor.seq === first.seq ? { seq: first.seq, offset: Math.min(cursor.offset, first.size) } : { seq: first?.seq ?? 0, offset: 0 };
    this.nextSeq = (this.segments.at(-1)?.seq ?? cursor?.seq ?? 0) + 1;
    if (this.pending) this.log?.info({ pending: this.pending, bytes: this.bytes }, `spool holds ${this.pending} snapshot(s) from an earlier run`);
  }

  /** Runs operations one at a time, in call order. */
  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  get pending(): number {
    return this.segments.reduce((n, s) => n + s.pending, 0);
  }

  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.size, 0);
  }

  stats(): SpoolStats {
    return {
      pending: this.pending,
      bytes: this.bytes,
      segments: this.segments.length,
      appendedTotal: this.appendedTotal,
      droppedTotal: this.droppedTotal,
      corruptTotal: this.corruptTotal,
      cursorSaveErrorsTotal: this.cursorSaveErrorsTotal,
    };
  }

  /**
   * Appends records in order; resolves once they are on disk (fdatasync). Rejects with a
   * SpoolAppendError when the filesystem refuses the write, saying how many were kept.
   */
  append(records: readonly T[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.serial(async () => {
      if (this.closed) throw new Error('spool is closed');
      let lines = records.map(encode);
      let size = lines.reduce((n, b) => n + b.length, 0);
      // A single append larger than the whole bound keeps only its newest records.
      while (size > this.maxBytes - this.segmentBytes && lines.length > 1) {
        size -= lines[0]!.length;
        lines = lines.slice(1);
        this.droppedTotal++;
      }
      const skipped = records.length - lines.length;
      try {
        if (this.active && this.active.seg.size > 0 && this.active.seg.size + size > this.segmentBytes) await this.seal();
        await this.makeRoom(size);
        if (!this.active) await this.begin();
      } catch (err) {
        throw new SpoolAppendError(skipped, records.length, err);
      }
      const { seg, fh } = this.active!;
      const buf = Buffer.concat(lines);
      let written = 0;
      try {
        while (written < buf.length) {
          const r = await fh.write(buf, written, buf.length - written, seg.size + written);
          written += r.bytesWritten;
        }
        await fh.datasync();
      } catch (err) {
        const kept = await this.keepWhole(lines, written);
        throw new SpoolAppendError(skipped + kept, records.length, err);
      }
      seg.size += buf.length;
      seg.pending += lines.length;
      this.appendedTotal += lines.length;
    });
  }

  /**
   * After a write or fdatasync of the active segment failed with `written` bytes of `lines` on
   * it: cuts the segment back to the records written whole, syncs, and counts them; returns how
   * many. When that fails too, the segment keeps a torn tail: it is sealed and none counted.
   */
  private async keepWhole(lines: readonly Buffer[], written: number): Promise<number> {
    const { seg, fh } = this.active!;
    let whole = 0;
    let bytes = 0;
    for (const l of lines) {
      if (bytes + l.length > written) break;
      bytes += l.length;
      whole++;
    }
    try {
      await fh.truncate(seg.size + bytes);
      await fh.datasync();
    } catch {
      // read() never reads past seg.size, so this process reads none of it; a restart may find the
      // records written whole and replay them (idempotent), and skips the torn tail as corrupt.
      if (written > bytes) this.corruptTotal++;
      await this.seal();
      if (seg.size === 0 && seg.pending === 0) await this.forget(seg);
      return 0;
    }
    seg.size += bytes;
    seg.pending += whole;
    this.appendedTotal += whole;
    return whole;
  }

  /** Removes an empty segment (one that a failed first write left behind). */
  private async forget(seg: Segment): Promise<void> {
    this.segments = this.segments.filter((s) => s !== seg);
    if (this.cursor.seq === seg.seq) this.cursor = { seq: this.segments[0]?.seq ?? this.nextSeq, offset: 0 };
    await rm(seg.path, { force: true }).catch(() => undefined);
  }

  /**
   * Deletes the oldest segments until `incoming` more bytes fit within maxBytes; the append goes
   * on once they are gone from the disk (the bound holds on disk, not only in the count).
   */
  private async makeRoom(incoming: number): Promise<void> {
    while (this.bytes + incoming > this.maxBytes) {
      const oldest = this.segments[0];
      if (!oldest || oldest === this.active?.seg) return;
      let lost = oldest.pending;
      if (this.inflight?.seq === oldest.seq) lost -= this.inflight.count;
      this.droppedTotal += Math.max(0, lost);
      this.segments.shift();
      // (a segment that cannot be deleted stays behind, counted as dropped: said, never thrown)
      await rm(oldest.path, { force: true }).catch((err: unknown) =>
        this.log?.warn({ segment: segName(oldest.seq), err: (err as Error).message }, 'spool: a dropped segment could not be deleted'),
      );
      if (this.cursor.seq <= oldest.seq) this.cursor = { seq: this.segments[0]?.seq ?? this.nextSeq, offset: 0 };
      this.log?.warn({ segment: segName(oldest.seq), dropped: lost }, `spool full (${this.maxBytes} bytes): dropped ${lost} oldest snapshot(s)`);
    }
  }

  private async begin(): Promise<void> {
    const seq = this.nextSeq++;
    const path = join(this.dir, segName(seq));
    const fh = await open(path, 'wx');
    // The new file's directory entry must survive a crash as well as its contents.
    const dh = await open(this.dir, 'r');
    await dh.sync().finally(() => dh.close());
    const seg: Segment = { seq, path, size: 0, pending: 0 };
    this.segments.push(seg);
    if (this.segments.length === 1) this.cursor = { seq, offset: 0 };
    this.active = { seg, fh };
  }

  private async seal(): Promise<void> {
    const a = this.active;
    this.active = undefined;
    await a?.fh.close().catch(() => undefined);
  }

  /**
   * The oldest records not yet acknowledged (at most max, all from one segment), or undefined
   * when the spool is empty. They stay in the spool until ack(batch).
   */
  read(max: number): Promise<SpoolBatch<T> | undefined> {
    return this.serial(async () => {
      for (;;) {
        const seg = this.segments[0];
        if (!seg) return undefined;
        const from = seg.seq === this.cursor.seq ? this.cursor.offset : 0;
        const records: T[] = [];
        let offset = from;
        if (seg.pending > 0 && from < seg.size) {
          const fh = await open(seg.path, 'r');
          try {
            let want = 1024 * 1024;
            for (;;) {
              const len = Math.min(want, seg.size - offset);
              const buf = Buffer.alloc(len);
              const { bytesRead } = await fh.read(buf, 0, len, offset);
              let start = 0;
              while (records.length < max) {
                const nl = buf.indexOf(NL, start);
                if (nl < 0 || nl >= bytesRead) break;
                const json = decode(buf.subarray(start, nl));
                if (json !== undefined) {
                  try {
                    records.push(JSON.parse(json) as T);
                  } catch {
                    // counted as corrupt when the spool was opened
                  }
                }
                start = nl + 1;
              }
              offset += start;
              // Nothing complete in the buffer: one record is larger than it, or the rest is a
              // torn tail. Read more, or stop at the end of the segment.
              if (records.length >= max || offset >= seg.size) break;
              if (start === 0) {
                if (len >= seg.size - offset) {
                  offset = seg.size; // unterminated tail: skip it
                  break;
                }
                want *= 2;
              }
            }
          } finally {
            await fh.close();
          }
        }
        if (records.length > 0) {
          this.inflight = { seq: seg.seq, count: records.length };
          return { records, end: { seq: seg.seq, offset } };
        }
        if (seg === this.active?.seg) return undefined;
        // An exhausted closed segment (only corrupt lines were left): move past it.
        await this.dropConsumed(seg);
      }
    });
  }

  /** Marks a batch from read() as written: its records leave the spool. */
  ack(batch: SpoolBatch<T>): Promise<void> {
    return this.serial(async () => {
      this.inflight = undefined;
      const seg = this.segments[0];
      // The segment was dropped to make room meanwhile: nothing left to acknowledge.
      if (!seg || seg.seq !== batch.end.seq) return;
      seg.pending = Math.max(0, seg.pending - batch.records.length);
      this.cursor = { ...batch.end };
      if (seg.pending === 0) {
        // The active one too: a drained spool gives its disk space back (a full disk is why the
        // database went unanswered long enough to fill it); the next append begins a new segment.
        if (seg === this.active?.seg) await this.seal();
        await this.dropConsumed(seg);
      } else await this.saveCursor();
    });
  }

  private async dropConsumed(seg: Segment): Promise<void> {
    this.segments = this.segments.filter((s) => s !== seg);
    this.cursor = { seq: this.segments[0]?.seq ?? this.nextSeq, offset: 0 };
    // Deleted first: on a full disk that is what makes room for the cursor. A cursor left pointing
    // at a deleted segment is read as "start at the next one" (load()).
    await rm(seg.path, { force: true });
    await this.saveCursor();
  }

  /**
   * Writes the cursor (write + rename). Never fails: a cursor that cannot be saved only means a
   * restart replays acknowledged records again. After a failure the save waits (backoff) and
   * later acknowledgements leave the cursor in memory until then.
   */
  private async saveCursor(force = false): Promise<void> {
    this.cursorDirty = true;
    const failing = this.cursorFailing;
    if (failing && !force && Date.now() < failing.retryAt) return;
    const tmp = join(this.dir, 'cursor.json.tmp');
    try {
      await writeFile(tmp, JSON.stringify(this.cursor));
      await rename(tmp, join(this.dir, 'cursor.json'));
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      this.cursorSaveErrorsTotal++;
      if (failing) {
        failing.attempts++;
        failing.delayMs = Math.min(failing.delayMs * 2, this.cursorRetryMaxMs);
        failing.retryAt = Date.now() + failing.delayMs;
      } else {
        this.cursorFailing = { since: Date.now(), attempts: 1, delayMs: this.cursorRetryInitialMs, retryAt: Date.now() + this.cursorRetryInitialMs };
        this.log?.warn(
          { err: err instanceof Error ? err.message : String(err), dir: this.dir },
          'spool cursor cannot be saved; retrying with backoff. Nothing is lost: a restart meanwhile writes some acknowledged snapshots again (once each: replay is idempotent)',
        );
      }
      return;
    }
    this.cursorDirty = false;
    if (failing) {
      this.cursorFailing = undefined;
      this.log?.info(
        { failedAttempts: failing.attempts, seconds: Math.round((Date.now() - failing.since) / 1000) },
        `spool cursor saved again after ${failing.attempts} failed attempt(s)`,
      );
    }
  }

  /** Waits for pending operations and closes the segment being appended to. */
  close(): Promise<void> {
    return this.serial(async () => {
      this.closed = true;
      await this.seal();
      if (this.cursorDirty) await this.saveCursor(true);
    });
  }
}

/**
 * mkdir -p, one level at a time: Node 20's `mkdir(path, { recursive: true })` spins forever in
 * the kernel when a parent is on procfs (e.g. PERFWATCH_DATA_DIR=/proc/x), where each level fails
 * with ENOENT however often it is retried.
 */
async function mkdirs(dir: string): Promise<void> {
  const parts = resolve(dir).split('/').filter(Boolean);
  let path = '';
  for (const part of parts) {
    path += `/${part}`;
    try {
      await mkdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
