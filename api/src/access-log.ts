/**
 * The access log: one line per request when its response is finished (or the connection closed
 * first), as pino-http writes it (`request completed` / `request aborted`, `request errored` for
 * a 5xx), with `req` {id, method, path, remoteAddress}, `res` {statusCode}, `responseTime` (ms)
 * and the route; never headers or the query string. `req.id` is the request id (the caller's
 * x-request-id when it is well formed, else a new one; echoed in the response), and `req.log` a
 * logger bound to the request's `req`, made only when something logs through it.
 *
 * pino-http did the same, but made that bound logger (serializing the request into it) for every
 * request, logged or not: ~0.1 ms of a request the api answers in ~1 ms (docs/benchmarks.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import pino from 'pino';
import type { Logger } from './log.js';

declare module 'http' {
  interface IncomingMessage {
    /** the request id (accessLog) */
    id?: string;
    /** a logger bound to this request (accessLog; made when first used) */
    log?: Logger;
  }
}

export type AccessLevel = 'error' | 'warn' | 'info' | 'debug' | 'silent';

export interface AccessLogOptions {
  /** the request id of a request (and its response header). */
  requestId: (req: IncomingMessage, res: ServerResponse) => string;
  /** the level of a finished request's line. */
  level: (req: IncomingMessage, res: ServerResponse, err: Error | undefined) => AccessLevel;
  /** the route, as the metrics label it. */
  route: (res: Response) => string;
}

/** The request as the log shows it: no headers, no query string. */
function requestInfo(req: IncomingMessage & { originalUrl?: string }): { id: string | undefined; method: string | undefined; path: string | undefined; remoteAddress: string | undefined } {
  const url = req.originalUrl ?? req.url;
  return { id: req.id, method: req.method, path: url?.split('?')[0], remoteAddress: req.socket?.remoteAddress };
}

export function accessLog(log: Logger, o: AccessLogOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = Date.now();
    req.id = o.requestId(req, res);
    // what the line says of the request: taken now (the routers rewrite req.url as they go)
    const info = requestInfo(req);
    let bound: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      enumerable: false,
      get: () => (bound ??= log.child({ req: info })),
      set: (l: Logger) => {
        bound = l;
      },
    });
    const done = (err?: Error) => {
      res.removeListener('close', done);
      res.removeListener('finish', done);
      res.removeListener('error', done);
      const level = o.level(req, res, err);
      if (level === 'silent' || !log.isLevelEnabled(level)) return;
      const fields = { req: info, res: { statusCode: res.statusCode }, responseTime: Date.now() - started };
      if (err || res.statusCode >= 500) {
        const e = err ?? new Error(`failed with status code ${res.statusCode}`);
        log[level]({ ...fields, err: pino.stdSerializers.err(e), route: o.route(res) }, 'request errored');
        return;
      }
      log[level]({ ...fields, route: o.route(res) }, !req.readableAborted && res.writableEnded ? 'request completed' : 'request aborted');
    };
    res.on('close', done);
    res.on('finish', done);
    res.on('error', done);
    next();
  };
}
