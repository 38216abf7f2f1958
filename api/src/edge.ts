/**
 * Checks every request gets at the edge, once, before any route sees it (app.ts mounts them for
 * the JSON API and /prometheus alike), rather than in each route's schema:
 *
 * - a body over the limit by its Content-Length is refused at once, before a byte of it is read,
 *   and the connection is closed so the rest is not read either (body-parser would read it all
 *   to the end before answering 413);
 * - U+0000 anywhere in the path, a query parameter or a parsed body (JSON or form; keys too) is
 *   400: PostgreSQL's text cannot hold it, so it would otherwise reach a query as an error and
 *   answer 500. No name, host, label value or matcher can contain it, so refusing it loses
 *   nothing. The live stream's messages are checked with the same findNul (live.ts).
 */
import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { ApiError, validationFailed } from './errors.js';

/** What a request containing U+0000 is told, after the name of the parameter. */
export const NUL_MESSAGE = 'must not contain the character U+0000 (NUL)';

/**
 * Where in value (a parsed query or body) a string, or an object key, contains U+0000: the path
 * to it (["targets", "0", "hosts", "1"]), or undefined. Walks with its own stack, so a deeply
 * nested body cannot overflow the call stack.
 */
export function findNul(value: unknown): string[] | undefined {
  const stack: { v: unknown; path: string[] }[] = [{ v: value, path: [] }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\0')) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, String(i)] });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\0')) return [...path, k.replaceAll('\0', '\\0')];
        stack.push({ v: x, path: [...path, k] });
      }
    }
  }
  return undefined;
}

/** Whether a request is for Prometheus's query API, which answers in Prometheus's envelope (express matches paths regardless of case). */
export function isPrometheusPath(path: string): boolean {
  return /^\/prometheus(\/|$)/i.test(path);
}

/**
 * Refuses a body whose Content-Length is over limit with 413, without reading it, and closes the
 * connection after the answer: Node then stops reading the socket instead of draining what the
 * client is still sending. (A chunked body has no length: body-parser stops it at the limit.)
 */
export function refuseLargeBody(limit: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers['content-length'];
    if (header === undefined || Number(header) <= limit) return next();
    res.setHeader('Connection', 'close');
    next(payloadTooLarge(limit));
  };
}

/** 413 for a body over limit, by its Content-Length here or as body-parser finds it (app.ts). */
export function payloadTooLarge(limit: number): ApiError {
  return new ApiError(413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`);
}

/** Requests whose raw body (as the parsers read it) has no way of spelling U+0000. */
const nulFreeBodies = new WeakSet<IncomingMessage>();

/**
 * The body parsers' verify hook (app.ts): notes a body whose bytes hold neither U+0000 itself,
 * JSON's \u0000 nor a form's %00, the only ways a parsed body can come to contain it, so that
 * rejectNul need not walk it (walking a parsed body costs more than parsing it). A body this
 * does not see is walked.
 */
export function noteNulFree(req: IncomingMessage, _res: unknown, raw: Buffer): void {
  if (!raw.includes(0) && !raw.includes('\\u0000') && !raw.includes('%00')) nulFreeBodies.add(req);
}

/** 400 naming the first path, query parameter or body field holding U+0000; run after the body parsers. */
export function rejectNul() {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const rawPath = (req.originalUrl ?? req.url).split('?')[0]!;
    if (/%00/i.test(rawPath)) return next(validationFailed('path', `path: ${NUL_MESSAGE}`));
    const inQuery = findNul(req.query);
    if (inQuery) return next(nulIn('query', inQuery, req));
    const inBody = nulFreeBodies.has(req) ? undefined : findNul(req.body);
    if (inBody) return next(nulIn('body', inBody, req));
    next();
  };
}

function nulIn(where: 'query' | 'body', path: string[], req: Request): ApiError {
  const name = path.join('.').slice(0, 200);
  // Prometheus's API names parameters bare (match[]: ...), as Prometheus does.
  const field = isPrometheusPath(req.path) ? name : [where, ...path].join('.').slice(0, 200);
  return validationFailed(field, `${field || where}: ${NUL_MESSAGE}`);
}
