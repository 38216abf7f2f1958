/**
 * SnapshotWriter: the exporter's path from Snapshot to Postgres. The sampler's onSnapshot
 * listener calls enqueue(); the writer batches (batchSize snapshots or flushIntervalMs, whichever
 * comes first) and writes each batch in one statement through store's insertSnapshots.
 *
 * When a write fails because the database is unreachable (or anything else not about the data),
 * the batch and everything after it go to the on-disk spool, in order, and a replay loop retries
 * with backoff: once the database answers, the spool is written oldest first, and only when it is
 * empty do snapshots go straight to the database again. A snapshot the server refuses for its
 * content (SQLSTATE class 22/23) is isolated and dropped so that it cannot block the rest.
 *
 * When the spool cannot take a batch (a full disk), the batch goes to the database directly if it
 * answers; it is dropped only when both refuse it, and counted exactly (of a batch the disk cut off
 * half-way, only the records that are not on disk). While the spool refuses, every batch tries the
 * database first, so the database is asked at least once per flush interval and nothing more is
 * lost once it answers; its answer also wakes the replay loop from its backoff. Each of these
 * episodes (the spool refusing, snapshots being lost, the database away) logs one line when it
 * starts and one when it ends, with what was written directly and what was lost.
 *
 * Guarantees: nothing acknowledged is lost (a snapshot counts as written after its transaction
 * committed, as spooled after its fdatasync); replay is idempotent (unique (host_id, ts)), so a
 * kill -9 between a commit and the spool's acknowledgement writes nothing twice; a statement is
 * atomic, so a kill -9 mid-batch leaves nothing partial. What a kill -9 can lose is what was only
 * in memory: at most flushIntervalMs of snapshots (one, at the default 5 s interval).
 */
import {
  checkSchemaVersion,
  closePool,
  createPool,
  ensurePartitions,
  errorMessage,
  insertSnapshots,
  invalidSnapshotReason,
  isDataError,
  migrate,
  StoreError,
  withoutUndefined,
  type InsertResult,
  type Logger,
  type Pool,
  type Snapshot,
  type StoreOptions,
} from '@perfwatch/store';
import { HistogramState, type StaticFamily } from './metrics.js';
import { DEFAULT_SPOOL_MAX_BYTES, Spool, SpoolAppendError } from './spool.js';

export interface WriterOptions {
  /** most snapshots per INSERT statement. */
  batchSize: number;
  /** a snapshot waits at most this long in memory before it is written, ms. */
  flushIntervalMs: number;
  /** snapshots waiting in memory beyond which the writer spools instead (the database is too slow). */
  maxQueue: number;
  /** batches written at once (one connection each). 1 keeps strict order. */
  concurrency: number;
  /** first retry delay after a failed write, ms; doubles per failure up to retryMaxMs. */
  retryInitialMs: number;
  retryMaxMs: number;
}

export const WRITER_DEFAULTS: WriterOptions = {
  batchSize: 100,
  flushIntervalMs: 1_000,
  maxQueue: 1_000,
  concurrency: 1,
  retryInitialMs: 1_000,
  retryMaxMs: 30_000,
};

export type DropReason = 'invalid' | 'rejected' | 'spool_full' | 'spool_error' | 'closed';
export const DROP_REASONS: readonly DropReason[] = ['invalid', 'rejected', 'spool_full', 'spool_error', 'closed'];

export interface WriterStats {
  /** snapshots in memory, not yet written or spooled (including those waiting for the spool). */
  queued: number;
  /** snapshots in the spool, waiting for the database. */
  spooled: number;
  spoolBytes: number;
  /** snapshots confirmed in the database (written now, or found there already on replay). */
  writtenTotal: number;
  /** of writtenTotal, those that were already there (replays). */
  duplicatesTotal: number;
  /** snapshots put into the spool. */
  spooledTotal: number;
  droppedTotal: Record<DropReason, number>;
  /** failed write attempts (each is retried or spooled). */
  writeErrorsTotal: number;
  /** damaged spool records skipped (writes cut short by a crash). */
  spoolCorruptTotal: number;
  /** Unix ms of the last successful write; undefined before the first. */
  lastSuccessMs: number | undefined;
  /** 'direct': writing to the database; 'spool': database unreachable or behind, spooling. */
  mode: 'direct' | 'spool';
}

export interface WriterDeps {
  pool: Pool;
  spool: Spool<Snapshot>;
  log: Logger;
  /** Runs before the first write, and again after it failed: migrate, or check the schema. */
  prepare?: (pool: Pool) => Promise<void>;
  /** store's insertSnapshots; replaced in tests. */
  insert?: (pool: Pool, batch: readonly Snapshot[]) => Promise<InsertResult>;
}

export type WriteListener = (seconds: number, snapshots: number) => void;

export class SnapshotWriter {
  private readonly opts: WriterOptions;
  private readonly insert: (pool: Pool, batch: readonly Snapshot[]) => Promise<InsertResult>;
  private readonly log: Logger;
  private queue: Snapshot[] = [];
  private mode: 'direct' | 'spool' = 'spool';
  private prepared: boolean;
  /** direct writes in progress, with their batches (spooled if close() cannot wait for them). */
  private readonly inflight = new Map<Promise<void>, Snapshot[]>();
  /** Spool mode: batches waiting to be kept (spooled, or written directly when the spool refuses), oldest first. */
  private keepQueue: Snapshot[][] = [];
  /** the loop working through keepQueue, while there is one. */
  private keeping: Promise<void> | undefined;
  /** the spool refused a write: batches try the database first until the spool takes one again. */
  private spoolRefusing: { since: number; err: string; direct: number; lost: number } | undefined;
  /** snapshots are being lost (neither the spool nor the database takes them), since when, how many. */
  private losing: { since: number; lost: number; fromTs: number; toTs: number } | undefined;
  /** the replay loop cannot read or acknowledge the spool (logged once until it can). */
  private replayTrouble: string | undefined;
  /** the database answered a direct write while the replay loop was backing off: retry now. */
  private databaseAnswered = false;
  private preparing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private replay: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private started = false;
  /** Until the replay loop's first pass decides where snapshots go (database prepared and spool
   *  empty: directly; else: the spool), they wait in memory, up to maxQueue. */
  private holding = true;
  private holdingDone!: Promise<void>;
  private endHolding!: () => void;
  private closing = false;
  /** close() gave up waiting for direct writes and spooled their batches. */
  private abandoned = false;
  private stopReplay = false;
  private readonly listeners: WriteListener[] = [];
  private readonly counts = {
    writtenTotal: 0,
    duplicatesTotal: 0,
    spooledTotal: 0,
    writeErrorsTotal: 0,
    droppedTotal: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
  };
  private lastSuccessMs: number | undefined;

  constructor(
    private readonly deps: WriterDeps,
    options: Partial<WriterOptions> = {},
  ) {
    this.opts = { ...WRITER_DEFAULTS, ...withoutUndefined(options) };
    for (const [k, v] of Object.entries(this.opts)) {
      if (!Number.isFinite(v) || v < 1) throw new RangeError(`writer option ${k} must be >= 1 (got ${v})`);
    }
    this.insert = deps.insert ?? insertSnapshots;
    this.log = deps.log;
    this.prepared = deps.prepare === undefined;
    this.holdingDone = new Promise((resolve) => (this.endHolding = resolve));
  }

  /** Starts the replay loop: it prepares the database, drains what an earlier run spooled, then writes directly. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.runReplay();
  }

  /** Called for every snapshot (the sampler's onSnapshot listener). Never throws. */
  enqueue(snap: Snapshot): void {
    if (this.closing) {
      this.counts.droppedTotal.closed++;
      return;
    }
    const why = invalidSnapshotReason(snap);
    if (why) {
      this.counts.droppedTotal.invalid++;
      this.log.warn({ reason: why }, 'snapshot dropped: it cannot be stored');
      return;
    }
    this.queue.push(snap);
    if (this.queue.length >= this.opts.batchSize) this.pump();
    else this.arm();
  }

  onWrite(listener: WriteListener): void {
    this.listeners.push(listener);
  }

  stats(): WriterStats {
    const s = this.deps.spool.stats();
    return {
      queued: this.queue.length + [...this.inflight.values(), ...this.keepQueue].reduce((n, b) => n + b.length, 0),
      spooled: s.pending,
      spoolBytes: s.bytes,
      writtenTotal: this.counts.writtenTotal,
      duplicatesTotal: this.counts.duplicatesTotal,
      spooledTotal: this.counts.spooledTotal,
      droppedTotal: { ...this.counts.droppedTotal, spool_full: this.counts.droppedTotal.spool_full + s.droppedTotal },
      writeErrorsTotal: this.counts.writeErrorsTotal,
      spoolCorruptTotal: s.corruptTotal,
      lastSuccessMs: this.lastSuccessMs,
      mode: this.mode,
    };
  }

  /** Writes (or spools) everything queued now, and waits for it. */
  async flush(): Promise<void> {
    if (this.started) await this.holdingDone;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pump();
    while (this.inflight.size || this.keeping) {
      await Promise.allSettled([...this.inflight.keys(), this.keeping]);
      this.pump();
    }
  }

  /**
   * Stops the writer: what is queued is written if the database answers within timeoutMs, else
   * spooled (to be replayed by the next run). The pool and the spool stay open: the caller owns them.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.holding) {
      this.holding = false;
      this.endHolding();
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pump();
    const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    const writes = Promise.allSettled([...this.inflight.keys()]).then(() => 'done' as const);
    if ((await Promise.race([writes, deadline])) === 'timeout') {
      // A write that hangs (a database that stopped answering): keep its batches; a replay of
      // what did commit is a no-op.
      this.abandoned = true;
      for (const batch of this.inflight.values()) this.keep(batch);
    }
    if (this.queue.length) this.keep(this.queue.splice(0));
    this.stopReplay = true;
    this.wake?.();
    await Promise.race([this.replay ?? Promise.resolve(), deadline]);
    while (this.keeping) await this.keeping;
  }

  private arm(): void {
    if (this.timer || this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, this.opts.flushIntervalMs);
    this.timer.unref();
  }

  /** Moves queued snapshots on: to the database in direct mode, to the spool otherwise. */
  private pump(): void {
    if (this.queue.length === 0) return;
    if (this.mode === 'direct' && this.queue.length > this.opts.maxQueue) {
      this.enterSpool(`${this.queue.length} snapshots waiting: the database is not keeping up`);
    }
    if (this.mode === 'spool') {
      if (this.holding && !this.closing && this.queue.length <= this.opts.maxQueue) return;
      this.keep(this.queue.splice(0));
      return;
    }
    while (this.queue.length && this.inflight.size < this.opts.concurrency) {
      const batch = this.queue.splice(0, this.opts.batchSize);
      const p: Promise<void> = this.writeDirect(batch).finally(() => {
        this.inflight.delete(p);
        this.pump();
      });
      this.inflight.set(p, batch);
    }
    if (this.queue.length && this.inflight.size === 0) this.arm();
  }

  private async writeDirect(batch: Snapshot[]): Promise<void> {
    try {
      await this.write(batch);
    } catch (err) {
      this.counts.writeErrorsTotal++;
      if (this.abandoned) return; // close() has spooled this batch already
      this.enterSpool(errorMessage(err));
      // Synchronously before anything else is kept: the failed batch is older than what follows.
      this.keep(batch);
    }
  }

  /** One write with its timing; isolates and drops snapshots the server refuses for their content. */
  private async write(batch: readonly Snapshot[]): Promise<void> {
    const started = performance.now();
    try {
      const r = await this.insert(this.deps.pool, batch);
      this.succeeded(batch.length, r.duplicates, started);
    } catch (err) {
      if (!isDataError(err) && !(err instanceof StoreError && err.code === 'INVALID_ARGUMENT')) throw err;
      if (batch.length === 1) {
        this.counts.droppedTotal.rejected++;
        this.log.error({ err: errorMessage(err), host: batch[0]!.host, ts: batch[0]!.ts }, 'snapshot dropped: the database refuses it');
        return;
      }
      // One bad snapshot must not hold back the others: write them one by one.
      for (const s of batch) await this.write([s]);
    }
  }

  private succeeded(n: number, duplicates: number, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    this.counts.writtenTotal += n;
    this.counts.duplicatesTotal += duplicates;
    this.lastSuccessMs = Date.now();
    for (const l of this.listeners) l(seconds, n);
  }

  private enterSpool(reason: string): void {
    if (this.mode === 'spool') return;
    this.mode = 'spool';
    this.log.warn({ reason }, 'cannot write to the database; spooling snapshots to disk until it answers');
    this.runReplay();
  }

  /** Spool mode: queues a batch for the spool (or, while the spool refuses, the database). */
  private keep(items?: Snapshot[]): void {
    if (items?.length) this.keepQueue.push(items);
    if (this.keeping || this.keepQueue.length === 0) return;
    this.keeping = this.keepLoop()
      // keepLoop handles the spool's and the database's errors itself; this would be a bug.
      .catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'spool mode: keeping snapshots failed'))
      .finally(() => {
        this.keeping = undefined;
        // a batch queued while the loop was returning
        this.keep();
      });
  }

  /**
   * Works through keepQueue oldest first, everything waiting in one go (so the queue cannot grow
   * while the database is slow to refuse). The spool first; what it refuses, the database; what
   * both refuse is lost. While the spool is refusing, the database first (it is the one of the two
   * that comes back by itself), then the spool again.
   */
  private async keepLoop(): Promise<void> {
    while (this.keepQueue.length) {
      let rest = this.keepQueue.splice(0).flat();
      let spoolErr: string | undefined;
      let dbErr: string | undefined;
      const toSpool = async () => {
        [rest, spoolErr] = await this.toSpool(rest);
      };
      const toDatabase = async () => {
        [rest, dbErr] = await this.toDatabase(rest);
      };
      for (const step of this.spoolRefusing ? [toDatabase, toSpool] : [toSpool, toDatabase]) {
        await step();
        if (rest.length === 0) break;
      }
      if (rest.length) this.lose(rest, spoolErr ?? this.spoolRefusing?.err ?? '', dbErr ?? '');
    }
  }

  /** Appends to the spool; returns what it did not take, and why. */
  private async toSpool(records: Snapshot[]): Promise<[rest: Snapshot[], err?: string]> {
    try {
      await this.deps.spool.append(records);
    } catch (err) {
      const stored = err instanceof SpoolAppendError ? err.stored : 0;
      this.counts.spooledTotal += stored;
      if (stored) this.stored();
      const why = errorMessage(err instanceof SpoolAppendError ? err.cause : err);
      if (!this.spoolRefusing) {
        this.spoolRefusing = { since: Date.now(), err: why, direct: 0, lost: 0 };
        this.log.error(
          { err: why, snapshots: records.length, spooled: stored },
          'the spool cannot be written; snapshots go to the database directly while it answers, and are lost while it does not',
        );
      }
      return [records.slice(stored), why];
    }
    this.counts.spooledTotal += records.length;
    this.stored();
    this.endSpoolRefusing('the spool can be written again');
    return [[]];
  }

  /** Writes to the database in batchSize statements; returns what it did not take, and why. */
  private async toDatabase(records: Snapshot[]): Promise<[rest: Snapshot[], err?: string]> {
    for (let i = 0; i < records.length; i += this.opts.batchSize) {
      const batch = records.slice(i, i + this.opts.batchSize);
      try {
        await this.prepareOnce();
        await this.write(batch);
      } catch (err) {
        this.counts.writeErrorsTotal++;
        return [records.slice(i), errorMessage(err)];
      }
      if (this.spoolRefusing) this.spoolRefusing.direct += batch.length;
      this.stored();
      // The replay loop may be sleeping off a long backoff: the database is back, replay now.
      this.databaseAnswered = true;
      this.wake?.();
    }
    return [[]];
  }

  /** Neither the spool nor the database took these: counted, and logged once per episode. */
  private lose(records: Snapshot[], spoolErr: string, dbErr: string): void {
    this.counts.droppedTotal.spool_error += records.length;
    if (this.spoolRefusing) this.spoolRefusing.lost += records.length;
    if (!this.losing) {
      this.losing = { since: Date.now(), lost: 0, fromTs: records[0]!.ts, toTs: records[0]!.ts };
      this.log.error(
        { spoolErr, dbErr, snapshots: records.length },
        'snapshots lost: the spool cannot be written and the database does not answer; counted in perfwatch_writer_dropped_total{reason="spool_error"} until one is stored again',
      );
    }
    this.losing.lost += records.length;
    this.losing.toTs = records.at(-1)!.ts;
  }

  /** A snapshot was stored (spooled or written): an episode of losses is over. */
  private stored(): void {
    const l = this.losing;
    if (!l) return;
    this.losing = undefined;
    this.log.warn(
      { lost: l.lost, seconds: Math.round((Date.now() - l.since) / 1000), from: new Date(l.fromTs).toISOString(), to: new Date(l.toTs).toISOString() },
      `snapshots stored again; ${l.lost} snapshot(s) lost`,
    );
  }

  private endSpoolRefusing(msg: string): void {
    const r = this.spoolRefusing;
    if (!r) return;
    this.spoolRefusing = undefined;
    this.log.info(
      { seconds: Math.round((Date.now() - r.since) / 1000), writtenDirectly: r.direct, lost: r.lost },
      `${msg}; while it could not: ${r.direct} snapshot(s) written directly, ${r.lost} lost`,
    );
  }

  /** Runs deps.prepare until it has succeeded once; the replay loop and direct writes share one run. */
  private async prepareOnce(): Promise<void> {
    if (this.prepared) return;
    this.preparing ??= this.deps.prepare!(this.deps.pool)
      .then(() => {
        this.prepared = true;
      })
      .finally(() => {
        this.preparing = undefined;
      });
    await this.preparing;
  }

  private runReplay(): void {
    if (this.replay || !this.started || this.stopReplay) return;
    let failed = false;
    this.replay = this.replayLoop()
      .catch((err: unknown) => {
        // replayLoop handles the spool's and the database's errors itself; this is a bug.
        failed = true;
        this.log.error({ err: errorMessage(err) }, 'spool replay stopped; restarting it');
      })
      .finally(() => {
        this.replay = undefined;
        // enterSpool may have been called while the loop was finishing.
        if (this.mode !== 'spool' || this.stopReplay) return;
        if (failed) setTimeout(() => this.runReplay(), this.opts.retryInitialMs).unref();
        else this.runReplay();
      });
  }

  /** Ends the holding phase: queued snapshots move on (directly or to the spool, by mode). */
  private release(): void {
    if (!this.holding) {
      this.pump();
      return;
    }
    this.holding = false;
    this.endHolding();
    this.pump();
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /**
   * Prepares the database, then writes the spool oldest first; returns once it is empty (direct
   * mode). Each kind of failure logs one line when it starts (later ones at debug), and the way
   * back one line with what was replayed.
   */
  private async replayLoop(): Promise<void> {
    let delay = this.opts.retryInitialMs;
    const backoff = async () => {
      this.databaseAnswered = false;
      await this.sleep(delay * (0.8 + Math.random() * 0.4));
      // A direct write got through meanwhile: no reason to wait long next time.
      delay = this.databaseAnswered ? this.opts.retryInitialMs : Math.min(delay * 2, this.opts.retryMaxMs);
    };
    let replayed = 0;
    let unreachable: { since: number; attempts: number } | undefined;
    const databaseFailed = (err: unknown, msg: string) => {
      const fields = { err: errorMessage(err), spooled: this.deps.spool.pending, retryInMs: Math.round(delay) };
      if (unreachable) {
        unreachable.attempts++;
        this.log.debug(fields, msg);
      } else {
        unreachable = { since: Date.now(), attempts: 1 };
        this.log.warn(fields, msg);
      }
    };
    const spoolFailed = (err: unknown, what: string) => {
      if (this.replayTrouble === undefined) this.log.error({ err: errorMessage(err) }, `spool replay: cannot ${what} the spool; retrying with backoff`);
      this.replayTrouble = errorMessage(err);
    };
    while (!this.stopReplay) {
      if (!this.prepared) {
        try {
          await this.prepareOnce();
        } catch (err) {
          databaseFailed(err, 'database not ready; snapshots are spooled meanwhile');
          this.release();
          await backoff();
          continue;
        }
      }
      while (this.keeping) await this.keeping;
      let batch;
      try {
        batch = await this.deps.spool.read(this.opts.batchSize);
      } catch (err) {
        spoolFailed(err, 'read');
        this.release();
        await backoff();
        continue;
      }
      if (!batch) {
        // Nothing spooled and nothing on its way to the spool: write directly again.
        if (!this.keeping) {
          if (replayed || unreachable) {
            this.log.info(
              { replayed, failedAttempts: unreachable?.attempts ?? 0, seconds: unreachable ? Math.round((Date.now() - unreachable.since) / 1000) : 0 },
              `database reachable; ${replayed} spooled snapshot(s) written, writing directly again`,
            );
          }
          this.endSpoolRefusing('writing directly to the database again');
          this.mode = 'direct';
          this.release();
          return;
        }
        continue;
      }
      // An earlier run left snapshots in the spool: the new ones queue up behind them.
      this.release();
      try {
        await this.write(batch.records);
      } catch (err) {
        this.counts.writeErrorsTotal++;
        databaseFailed(err, 'database unreachable; keeping snapshots in the spool');
        await backoff();
        continue;
      }
      try {
        await this.deps.spool.ack(batch);
      } catch (err) {
        // Written, but still in the spool: a later replay writes it again (a no-op).
        spoolFailed(err, 'acknowledge records in');
        await backoff();
        continue;
      }
      if (this.replayTrouble !== undefined) {
        this.log.info({ err: this.replayTrouble }, 'spool replay: the spool can be read and acknowledged again');
        this.replayTrouble = undefined;
      }
      replayed += batch.records.length;
      delay = this.opts.retryInitialMs;
    }
  }
}

/**
 * The perfwatch_writer_* families, read from the writer at each render (MetricsRenderer.addStatic)
 * instead of holding state of their own; the write duration histogram is fed by the writer's
 * onWrite events.
 */
export function writerFamilies(writer: SnapshotWriter): () => StaticFamily[] {
  const duration = new HistogramState([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  writer.onWrite((seconds) => duration.observe(seconds));
  // label sets made once: exposition.ts formats each one once
  const none = {};
  const reasonLabels = Object.fromEntries(DROP_REASONS.map((reason) => [reason, { reason }])) as Record<(typeof DROP_REASONS)[number], { reason: string }>;
  const gauge = (name: string, help: string, value: number): StaticFamily => ({ name, help, type: 'gauge', values: [{ labels: none, value }] });
  // The writer keeps the totals: a counter shows them.
  const counter = (name: string, help: string, value: number): StaticFamily => ({ name, help, type: 'counter', values: [{ labels: none, value }] });
  return () => {
    const s = writer.stats();
    return [
      gauge('perfwatch_writer_queued_snapshots', 'Snapshots in memory waiting to be written to the database.', s.queued),
      gauge('perfwatch_writer_spooled_snapshots', 'Snapshots in the on-disk spool waiting for the database.', s.spooled),
      gauge('perfwatch_writer_spool_bytes', 'Size of the on-disk spool.', s.spoolBytes),
      counter('perfwatch_writer_written_total', 'Snapshots confirmed in the database (including replayed ones found there already).', s.writtenTotal),
      counter('perfwatch_writer_spooled_total', 'Snapshots put into the on-disk spool because the database was unreachable or behind.', s.spooledTotal),
      {
        name: 'perfwatch_writer_dropped_total',
        help: 'Snapshots lost, by reason: invalid, rejected by the database, spool_full (oldest dropped past the bound), spool_error, closed.',
        type: 'counter',
        values: DROP_REASONS.map((reason) => ({ labels: reasonLabels[reason], value: s.droppedTotal[reason] })),
      },
      counter('perfwatch_writer_write_errors_total', 'Failed database writes (each batch is retried or spooled).', s.writeErrorsTotal),
      counter(
        'perfwatch_writer_spool_corrupt_records_total',
        'Damaged spool records skipped (a write cut short by a crash); never acknowledged, so not counted as lost.',
        s.spoolCorruptTotal,
      ),
      gauge('perfwatch_writer_last_success_timestamp_seconds', 'Unix time of the last successful database write (0 before the first).', (s.lastSuccessMs ?? 0) / 1000),
      {
        name: 'perfwatch_writer_write_duration_seconds',
        help: 'Time of one successful batch write (one INSERT statement).',
        type: 'histogram',
        bounds: duration.bounds,
        counts: duration.counts,
        sum: duration.sum,
      },
    ];
  };
}

export interface SnapshotWriterConfig {
  /** the database and pool settings (databaseUrl, schema, poolMax, timeouts). */
  store: Partial<StoreOptions> & { databaseUrl: string };
  /** apply migrations before the first write (false for a role that may only insert: the schema
   *  is then only checked). */
  migrate: boolean;
  /** a direct URL the migrations run over (they need a session, which a transaction pooler in
   *  store.databaseUrl does not give); default store.databaseUrl. */
  migrateUrl?: string;
  /** directory of the spool (<data dir>/spool). */
  spoolDir: string;
  /** spool bound, bytes. */
  spoolMaxBytes?: number;
  writer?: Partial<WriterOptions>;
}

export interface RunningWriter {
  writer: SnapshotWriter;
  pool: Pool;
  spool: Spool<Snapshot>;
  /** Flushes (or spools) what is queued, then closes the spool and the pool. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Wires pool + spool + writer for the exporter. Never fails because the database is down: it
 * only opens the spool (a bad spool directory fails here, at start, with its path).
 */
export async function startSnapshotWriter(config: SnapshotWriterConfig, log: Logger): Promise<RunningWriter> {
  const spool = await Spool.open<Snapshot>({ dir: config.spoolDir, maxBytes: config.spoolMaxBytes ?? DEFAULT_SPOOL_MAX_BYTES, log: log.child({ component: 'spool' }) });
  const pool = createPool({ poolMax: Math.max(2, config.writer?.concurrency ?? 1), ...config.store }, log.child({ component: 'db' }));
  const prepare = async (p: Pool) => {
    if (config.migrate && config.migrateUrl !== undefined) {
      const direct = createPool({ ...config.store, databaseUrl: config.migrateUrl, transactionPooler: false, poolMax: 1 }, log.child({ component: 'db-migrate' }));
      try {
        await migrate(direct, { log });
      } finally {
        await closePool(direct);
      }
    } else if (config.migrate) await migrate(p, { log });
    else await checkSchemaVersion(p);
    // Yesterday to tomorrow: the writer creates later days itself as it reaches them.
    await ensurePartitions(p, Date.now() - 86_400_000, 3);
  };
  const writer = new SnapshotWriter({ pool, spool, log, prepare }, config.writer);
  writer.start();
  return {
    writer,
    pool,
    spool,
    async close(timeoutMs?: number) {
      await writer.close(timeoutMs);
      await spool.close();
      await closePool(pool);
    },
  };
}
