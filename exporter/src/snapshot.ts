/**
 * The one collection pipeline: parsers -> collectors -> Snapshot. /metrics, the database writer
 * and the live stream all read the Snapshot this builds; nothing else reads /proc.
 */
import { performance } from 'node:perf_hooks';
import { SNAPSHOT_VERSION, type Snapshot } from '@perfwatch/store/snapshot';
import type { ExporterConfig } from './config.js';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';
import type { CollectContext, Collector, CollectorDefinition } from './collectors/types.js';

const ABSENT_CODES = new Set(['ENOENT', 'EOPNOTSUPP', 'ENOTDIR']);

interface Running {
  name: string;
  collector: Collector;
  ctx: CollectContext;
}

export class SnapshotPipeline {
  private readonly running: Running[];

  constructor(
    private readonly config: ExporterConfig,
    definitions: readonly CollectorDefinition[],
    log: Logger,
    /** the clock collector durations are measured with (ms); tests pass their own. */
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.running = definitions.map((def) => {
      const clog = log.child({ collector: def.name });
      const missing = new Set<string>();
      const ctx: CollectContext = {
        config,
        log: clog,
        optional(file, read) {
          try {
            return read();
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (!code || !ABSENT_CODES.has(code)) throw err;
            if (!missing.has(file)) {
              missing.add(file);
              clog.debug({ file, code }, 'kernel file not available; its metrics are absent');
            }
            return undefined;
          }
        },
      };
      return { name: def.name, collector: def.create(config, clog), ctx };
    });
  }

  get collectorNames(): string[] {
    return this.running.map((r) => r.name);
  }

  /** One collection. Never throws: a failing collector is recorded in `col` and its sections left out. */
  async collect(now: number = Date.now()): Promise<Snapshot> {
    const snap: Snapshot = { v: SNAPSHOT_VERSION, host: this.config.hostname, ts: now, iv: this.config.intervalSeconds, col: {} };
    // A collector's duration is its own: a synchronous one is timed as it returns (the map runs
    // every collector's synchronous part before any await resumes, so timing after the await
    // would add the time of the collectors after it); an asynchronous one until it settles.
    const results = await Promise.all(
      this.running.map(async (r) => {
        const start = this.clock();
        try {
          const out = r.collector.collect(r.ctx);
          const sync = this.clock();
          const sections = out instanceof Promise ? await out : out;
          return { r, sections, s: ((out instanceof Promise ? this.clock() : sync) - start) / 1000 };
        } catch (err) {
          const s = (this.clock() - start) / 1000;
          r.ctx.log.warn({ err: errorMessage(err) }, 'collector failed');
          return { r, err: errorMessage(err), s };
        }
      }),
    );
    for (const res of results) {
      if (res.err !== undefined) {
        snap.col[res.r.name] = { ok: false, s: res.s, err: res.err };
      } else {
        snap.col[res.r.name] = { ok: true, s: res.s };
        Object.assign(snap, res.sections);
      }
    }
    return snap;
  }

  async close(): Promise<void> {
    await Promise.all(this.running.map((r) => r.collector.close?.()));
  }
}
