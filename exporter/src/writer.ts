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
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DEFAULT_SPOOL_MAX_BYTES, Spool } from './spool.js';

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
  /** snapshots in memory, not yet written or spooled. */
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
  private appendsInFlight = 0;
  private appends: Promise<void> = Promise.resolve();
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
      queued: this.queue.length + [...this.inflight.values()].reduce((n, b) => n + b.length, 0),
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
    while (this.inflight.size || this.appendsInFlight) {
      await Promise.allSettled([...this.inflight.keys(), this.appends]);
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
      for (const batch of this.inflight.values()) this.spoolAppend(batch);
    }
    if (this.queue.length) this.spoolAppend(this.queue.splice(0));
    this.stopReplay = true;
    this.wake?.();
    await Promise.race([this.replay ?? Promise.resolve(), deadline]);
    await this.appends;
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
      this.spoolAppend(this.queue.splice(0));
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
      // Synchronously before anything else is appended: the failed batch is older than what follows.
      this.spoolAppend(batch);
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

  private spoolAppend(items: Snapshot[]): void {
    if (items.length === 0) return;
    this.appendsInFlight++;
    const p = this.deps.spool.append(items).then(
      () => {
        this.counts.spooledTotal += items.length;
      },
      (err: unknown) => {
        this.counts.droppedTotal.spool_error += items.length;
        this.log.error({ err: errorMessage(err), snapshots: items.length }, 'snapshots lost: the spool cannot be written');
      },
    );
    this.appends = this.appends.then(() => p).finally(() => {
      this.appendsInFlight--;
    });
  }

  private runReplay(): void {
    if (this.replay || !this.started || this.stopReplay) return;
    this.replay = this.replayLoop()
      .catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'spool replay stopped'))
      .finally(() => {
        this.replay = undefined;
        // enterSpool may have been called while the loop was finishing.
        if (this.mode === 'spool' && !this.stopReplay) this.runReplay();
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

  /** Prepares the database, then writes the spool oldest first; returns once it is empty (direct mode). */
  private async replayLoop(): Promise<void> {
    let delay = this.opts.retryInitialMs;
    const backoff = async () => {
      await this.sleep(delay * (0.8 + Math.random() * 0.4));
      delay = Math.min(delay * 2, this.opts.retryMaxMs);
    };
    let replayed = 0;
    while (!this.stopReplay) {
      if (!this.prepared) {
        try {
          await this.deps.prepare!(this.deps.pool);
          this.prepared = true;
        } catch (err) {
          this.log.warn({ err: errorMessage(err), retryInMs: Math.round(delay) }, 'database not ready; snapshots are spooled meanwhile');
          this.release();
          await backoff();
          continue;
        }
      }
      await this.appends;
      const batch = await this.deps.spool.read(this.opts.batchSize);
      if (!batch) {
        // Nothing spooled and no append on its way: write directly again.
        if (this.appendsInFlight === 0) {
          if (replayed) this.log.info({ replayed }, `database reachable; ${replayed} spooled snapshot(s) written, writing directly again`);
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
        this.log.warn({ err: errorMessage(err), spooled: this.deps.spool.pending, retryInMs: Math.round(delay) }, 'database still unreachable; keeping snapshots in the spool');
        await backoff();
        continue;
      }
      await this.deps.spool.ack(batch);
      replayed += batch.records.length;
      delay = this.opts.retryInitialMs;
    }
  }
}

/**
 * Creates the perfwatch_writer_* metrics in one registry. MetricsRenderer.addStatic calls it once
 * per registry (Prometheus text and OpenMetrics), so every metric reads the writer at scrape time
 * instead of holding state of its own; the histogram is fed by the writer's onWrite events.
 */
export function registerWriterMetrics(register: Registry, writer: SnapshotWriter): void {
  const registers = [register];
  const gauge = (name: string, help: string, value: (s: WriterStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value(writer.stats()));
      },
    });
  // The writer keeps the totals; a counter is set to them at every scrape.
  const counter = (name: string, help: string, value: (s: WriterStats) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(value(writer.stats()));
      },
    });
  gauge('perfwatch_writer_queued_snapshots', 'Snapshots in memory waiting to be written to the database.', (s) => s.queued);
  gauge('perfwatch_writer_spooled_snapshots', 'Snapshots in the on-disk spool waiting for the database.', (s) => s.spooled);
  gauge('perfwatch_writer_spool_bytes', 'Size of the on-disk spool.', (s) => s.spoolBytes);
  counter('perfwatch_writer_written_total', 'Snapshots confirmed in the database (including replayed ones found there already).', (s) => s.writtenTotal);
  counter('perfwatch_writer_spooled_total', 'Snapshots put into the on-disk spool because the database was unreachable or behind.', (s) => s.spooledTotal);
  new Counter({
    name: 'perfwatch_writer_dropped_total',
    help: 'Snapshots lost, by reason: invalid, rejected by the database, spool_full (oldest dropped past the bound), spool_error, closed.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      const d = writer.stats().droppedTotal;
      for (const reason of DROP_REASONS) this.inc({ reason }, d[reason]);
    },
  });
  counter('perfwatch_writer_write_errors_total', 'Failed database writes (each batch is retried or spooled).', (s) => s.writeErrorsTotal);
  counter(
    'perfwatch_writer_spool_corrupt_records_total',
    'Damaged spool records skipped (a write cut short by a crash); never acknowledged, so not counted as lost.',
    (s) => s.spoolCorruptTotal,
  );
  gauge('perfwatch_writer_last_success_timestamp_seconds', 'Unix time of the last successful database write (0 before the first).', (s) => (s.lastSuccessMs ?? 0) / 1000);
  const duration = new Histogram({
    name: 'perfwatch_writer_write_duration_seconds',
    help: 'Time of one successful batch write (one INSERT statement).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  writer.onWrite((seconds) => duration.observe(seconds));
}

export interface SnapshotWriterConfig {
  /** the database and pool settings (databaseUrl, schema, poolMax, timeouts). */
  store: Partial<StoreOptions> & { databaseUrl: string };
  /** apply migrations before the first write (false for a role that may only insert: the schema
   *  is then only checked). */
  migrate: boolean;
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
    if (config.migrate) await migrate(p, { log });
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
