/**
 * The api's own Prometheus metrics on /metrics: requests by route pattern (never the raw URL, so
 * ids cannot explode the series count) and status, request duration, logins by outcome, the pg
 * pool, process metrics and build info. Only what is real now: live-stream clients and job queue
 * depth arrive with those features.
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
