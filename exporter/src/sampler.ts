import type { Snapshot } from '@perfwatch/store/snapshot';
import type { Logger } from './log.js';
import type { SnapshotPipeline } from './snapshot.js';

export type SnapshotListener = (snap: Snapshot) => void;

/**
 * Owns the latest Snapshot. With background collection it collects every interval and a scrape
 * gets the latest, never one older than one interval (a stale one is replaced by collecting now).
 * Without it, every scrape collects, as node_exporter does. Either way concurrent callers share
 * one collection in flight.
 */
export class Sampler {
  private latest: Snapshot | undefined;
  private inflight: Promise<Snapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly listeners: SnapshotListener[] = [];

  constructor(
    private readonly pipeline: SnapshotPipeline,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  onSnapshot(listener: SnapshotListener): void {
    this.listeners.push(listener);
  }

  get last(): Snapshot | undefined {
    return this.latest;
  }

  /** Starts the background loop; the first collection runs at once. */
  start(): void {
    this.stopped = false;
    const tick = async () => {
      if (this.stopped) return;
      const started = Date.now();
      await this.collectNow();
      if (this.stopped) return;
      // Keep the cadence: the next collection starts one interval after this one started.
      this.timer = setTimeout(tick, Math.max(0, this.intervalMs - (Date.now() - started)));
      this.timer.unref();
    };
    void tick();
  }

  async current(): Promise<Snapshot> {
    if (!this.stopped && this.latest && Date.now() - this.latest.ts < this.intervalMs) return this.latest;
    return this.collectNow();
  }

  collectNow(): Promise<Snapshot> {
    if (this.inflight) return this.inflight;
    this.inflight = this.pipeline
      .collect()
      .then((snap) => {
        this.latest = snap;
        for (const l of this.listeners) {
          try {
            l(snap);
          } catch (err) {
            this.log.error({ err }, 'snapshot listener failed');
          }
        }
        return snap;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.inflight) await this.inflight.catch(() => undefined);
  }
}
