/**
 * The api's own Prometheus metrics on /metrics: requests by route pattern (never the raw URL, so
 * ids cannot explode the series count) and status, request duration, logins by outcome, the pg
 * pool, live-stream clients, messages and drops, pg-boss queue depth, process metrics and build info.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NextFunction, Request, Response } from 'express';
import type { Pool } from '@perfwatch/store';

export interface BuildInfo {
  version: string;
  revision: string;
}

// Gauges named *_total, which promtool rejects (as in the exporter).
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export type LoginResult = 'success' | 'failure' | 'throttled';

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route' | 'status'>;
  private readonly logins: Counter<'result'>;
  private readonly liveMessages: Counter;
  private readonly liveDrops: Counter<'reason'>;

  constructor(build: BuildInfo, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(name);
    }
    new Gauge({
      name: 'perfwatch_build_info',
      help: 'Always 1; the labels say which PerfWatch build and Node.js runtime serve these metrics.',
      labelNames: ['version', 'revision', 'nodejs'],
      registers,
    }).set({ version: build.version, revision: build.revision, nodejs: process.versions.node }, 1);
    this.requests = new Counter({
      name: 'perfwatch_api_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern ("unmatched" for unknown paths) and status code.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'perfwatch_api_http_request_duration_seconds',
      help: 'Time from receiving a request to the end of its response, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.logins = new Counter({
      name: 'perfwatch_api_logins_total',
      help: 'Password logins by result: success, failure (wrong or unknown credentials) or throttled (answered 429).',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['success', 'failure', 'throttled'] as const) this.logins.inc({ result }, 0);
    this.liveMessages = new Counter({
      name: 'perfwatch_api_live_messages_total',
      help: 'Snapshot messages sent to live stream clients (one per snapshot per subscribed client).',
      registers,
    });
    this.liveDrops = new Counter({
      name: 'perfwatch_api_live_dropped_clients_total',
      help: 'Live stream clients closed by the server, by reason: slow (send buffer over PERFWATCH_LIVE_MAX_BUFFER_BYTES), dead (no pong), revoked (credential no longer valid).',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['slow', 'dead', 'revoked'] as const) this.liveDrops.inc({ reason }, 0);
  }

  login(result: LoginResult): void {
    this.logins.inc({ result });
  }

  /** Pool gauges, read from the pool at each scrape. */
  observePool(pool: Pool): void {
    const registers = [this.registry];
    new Gauge({
      name: 'perfwatch_api_db_pool_connections',
      help: 'Database connections the pool holds open (idle and in use).',
      registers,
      collect() {
        this.set(pool.totalCount);
      },
    });
    new Gauge({
      name: 'perfwatch_api_db_pool_idle_connections',
      help: 'Open database connections not in use.',
      registers,
      collect() {
        this.set(pool.idleCount);
      },
    });
    new Gauge({
      name: 'perfwatch_api_db_pool_waiting_requests',
      help: 'Queries waiting for a database connection (the pool is at its maximum).',
      registers,
      collect() {
        this.set(pool.waitingCount);
      },
    });
  }

  /** Live stream gauges, read from the stream at each scrape. */
  observeLive(stats: () => { clients: number; listening: boolean }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'perfwatch_api_live_clients',
      help: 'WebSocket clients connected to the live stream (/api/v1/live).',
      registers,
      collect() {
        this.set(stats().clients);
      },
    });
    new Gauge({
      name: 'perfwatch_api_live_listening',
      help: '1 while the live stream LISTENs for new snapshots on its database connection, 0 while it reconnects.',
      registers,
      collect() {
        this.set(stats().listening ? 1 : 0);
      },
    });
  }

  liveSent(n: number): void {
    if (n > 0) this.liveMessages.inc(n);
  }

  liveDropped(reason: 'slow' | 'dead' | 'revoked'): void {
    this.liveDrops.inc({ reason });
  }

  /**
   * pg-boss queue depth (jobs waiting: created or retry) per queue, asked at each scrape. A
   * database that does not answer within 2 s leaves the gauge out of that scrape rather than
   * failing or stalling it.
   */
  observeJobs(queues: readonly string[], queueSize: (queue: string) => Promise<number>): void {
    new Gauge({
      name: 'perfwatch_api_jobs_queued',
      help: 'Background jobs waiting to run (pg-boss states created and retry), by queue.',
      labelNames: ['queue'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const sizes = await Promise.all(
          queues.map((q) =>
            Promise.race([queueSize(q), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000).unref())]).catch(() => undefined),
          ),
        );
        queues.forEach((q, i) => {
          const n = sizes[i];
          if (typeof n === 'number' && Number.isFinite(n)) this.set({ queue: q }, n);
        });
      },
    });
  }

  /**
   * The read replica's lag (DATABASE_READ_URL), asked at each scrape; left out of a scrape when
   * either database does not answer within 2 s, or when the read URL is no standby.
   */
  observeReplica(lag: () => Promise<{ standby: boolean; lagBytes: number | null; lagSeconds: number }>): void {
    const registers = [this.registry];
    // One question per scrape for both gauges: an answer younger than a second is shared.
    let asked: { at: number; answer: Promise<{ standby: boolean; lagBytes: number | null; lagSeconds: number } | undefined> } | undefined;
    const ask = () => {
      if (!asked || Date.now() - asked.at > 1000) {
        const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000).unref());
        asked = { at: Date.now(), answer: Promise.race([lag(), timeout]).catch(() => undefined) };
      }
      return asked.answer;
    };
    new Gauge({
      name: 'perfwatch_api_db_replica_lag_seconds',
      help: 'How old what the read replica (DATABASE_READ_URL) shows can be: the age of its last replayed transaction while it is behind, 0 when caught up.',
      registers,
      async collect() {
        this.reset();
        const l = await ask();
        if (l?.standby) this.set(l.lagSeconds);
      },
    });
    new Gauge({
      name: 'perfwatch_api_db_replica_lag_bytes',
      help: 'WAL bytes the primary has written that the read replica (DATABASE_READ_URL) has not replayed yet.',
      registers,
      async collect() {
        this.reset();
        const l = await ask();
        if (l?.standby && l.lagBytes !== null) this.set(l.lagBytes);
      },
    });
  }

  /** Express middleware: counts and times every request once its response is finished. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const end = this.duration.startTimer();
      res.once('finish', () => {
        const labels = { method: req.method, route: typeof res.locals.route === 'string' ? res.locals.route : 'unmatched', status: String(res.statusCode) };
        end(labels);
        this.requests.inc(labels);
      });
      next();
    };
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
