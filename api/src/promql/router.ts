/**
 * Prometheus's HTTP query API (https://prometheus.io/docs/prometheus/latest/querying/api/) over
 * PerfWatch history, mounted under /prometheus: query, query_range, series, labels, label values,
 * metadata, status/buildinfo (and an empty query_exemplars, which Grafana asks for). GET with query
 * parameters or POST with a form body, as Prometheus takes them; answers in Prometheus's envelope
 * (`{"status":"success","data":...}` / `{"status":"error","errorType","error"}`) with its status
 * codes. Kept apart from the JSON API's route machinery (zod, `{error:{code,message}}`) on purpose:
 * clients of this API (Grafana's Prometheus datasource, promtool) parse Prometheus's format only.
 *
 * Authentication: `Authorization: Bearer <API token or access token>`, or HTTP basic auth with an
 * API token as the password (any user name): what Grafana's Prometheus datasource and promtool's
 * --http.config.file can send.
 */
import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { FIXED_METRICS, labelNamesInRange, labelsKey, labelValuesInRange, listSeries, metricInfo, StoreError, type Labels, type Pool } from '@perfwatch/store';
import type { Principal } from '../auth/types.js';
import { ApiError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { QueryEngine } from './engine.js';
import { sampleSelector, type Tier } from './eval.js';
import { badData, PromError, QueryError } from './errors.js';
import type { VectorSelector } from './ast.js';
import { parseDuration, parsePromQL, typeOf } from './parse.js';

export interface PromqlDeps {
  pool: Pool;
  /** where expressions are evaluated (engine.ts). */
  engine: QueryEngine;
  log: Logger;
  /** turns a bearer credential (API token or access token) into a Principal, or throws a 401 ApiError. */
  authenticate(credential: string): Promise<Principal>;
  bodyLimitBytes: number;
  build: { version: string; revision: string };
}

/** Most points per series of a range query (Prometheus's limit). */
export const MAX_RESOLUTION = 11_000;
// Prometheus's "no time given" bounds for series and labels: all of history.
const MIN_TIME = -62135596800000;
const MAX_TIME = 253402300799000;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const CHALLENGE = 'Basic realm="perfwatch", Bearer realm="perfwatch"';

// ---- parameters -----------------------------------------------------------------------------------------

type Params = Record<string, string | string[] | undefined>;

function params(req: Request): Params {
  const body = req.is('application/x-www-form-urlencoded') && req.body && typeof req.body === 'object' ? (req.body as Params) : {};
  return { ...(req.query as Params), ...body };
}

function one(p: Params, name: string): string | undefined {
  const v = p[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function many(p: Params, name: string): string[] {
  const v = p[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Prometheus's parseTime: Unix seconds (float) or RFC 3339. */
export function parseTime(s: string, name: string): number {
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s.trim())) {
    const ms = Math.round(Number(s) * 1000);
    if (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15) return ms;
  } else if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(s)) {
    const ms = Date.parse(s);
    if (Number.isFinite(ms)) return ms;
  }
  throw badData(`invalid parameter "${name}": cannot parse "${s.slice(0, 100)}" to a valid timestamp`);
}

/** Prometheus's parseDuration: seconds (float) or a duration such as 15s, 1m30s. */
function parseStep(s: string, name: string): number {
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s.trim())) {
    const ms = Math.round(Number(s) * 1000);
    if (Number.isFinite(ms) && Math.abs(ms) < 2 ** 53) return ms;
  }
  const d = parseDuration(s);
  if (d !== undefined) return d;
  throw badData(`invalid parameter "${name}": cannot parse "${s.slice(0, 100)}" to a valid duration`);
}

function parseQuery(p: Params) {
  const q = one(p, 'query');
  if (q === undefined) throw badData('invalid parameter "query": parse error: no expression found in input');
  try {
    return parsePromQL(q);
  } catch (err) {
    if (err instanceof QueryError) throw badData(`invalid parameter "query": ${err.message}`);
    throw err;
  }
}

/** Prometheus's default query timeout (--query.timeout). */
export const QUERY_TIMEOUT_MS = 120_000;

/** The evaluation's deadline: `timeout` (at most the default), from now. */
function deadlineOf(p: Params): number {
  const t = one(p, 'timeout');
  const ms = t === undefined || t === '' ? QUERY_TIMEOUT_MS : Math.min(QUERY_TIMEOUT_MS, parseStep(t, 'timeout'));
  return Date.now() + Math.max(0, ms);
}

/** A match[] selector (must be a plain vector selector). */
function parseMatch(s: string): VectorSelector {
  let e;
  try {
    e = parsePromQL(s);
  } catch (err) {
    if (err instanceof QueryError) throw badData(`invalid parameter "match[]": ${err.message}`);
    throw err;
  }
  if (e.kind !== 'vector' || e.offset !== 0 || e.at !== undefined) throw badData(`invalid parameter "match[]": 1:1: parse error: expected a vector selector, got ${JSON.stringify(s.slice(0, 100))}`);
  return e;
}

// ---- answers ----------------------------------------------------------------------------------------------

function metricOf(l: Labels): Labels {
  const out: Labels = {};
  for (const k of Object.keys(l).sort()) out[k] = l[k]!;
  return out;
}

/** `data` already written as JSON text (format.ts). */
class JsonText {
  constructor(readonly text: string) {}
}

function send(res: Response, data: unknown): void {
  if (!(data instanceof JsonText)) {
    res.status(200).json({ status: 'success', data });
    return;
  }
  const body = `{"status":"success","data":${data.text}}`;
  res.status(200).setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

export function sendError(res: Response, e: PromError): void {
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  res.status(e.status).json({ status: 'error', errorType: e.type, error: e.message });
}

/**
 * Prometheus's form bodies (query, match[], ...): parsed once, by the app before its edge checks
 * (app.ts), with these options; `verify` is the edge's.
 */
export function promqlFormParser(bodyLimitBytes: number, verify?: (req: Request, res: Response, buf: Buffer) => void) {
  return express.urlencoded({ extended: false, limit: bodyLimitBytes, parameterLimit: 1000, ...(verify ? { verify } : {}) });
}

/** Any failure as a PromError (a 500 without details for what is not ours). */
export function toPromError(err: unknown): PromError | undefined {
  if (err instanceof PromError) return err;
  if (err instanceof StoreError) {
    if (err.transient) return new PromError('unavailable', 'the database cannot be reached right now; try again', { headers: { 'retry-after': '5' } });
    if (err.code === 'INVALID_ARGUMENT') return badData(err.message);
    return undefined;
  }
  if (err instanceof ApiError) {
    if (err.status === 401) return new PromError('unauthorized', err.message, { headers: { 'www-authenticate': CHALLENGE } });
    if (err.status === 429 || err.status === 503) return new PromError('unavailable', err.message, { headers: err.headers });
    if (err.status === 403) return new PromError('forbidden', err.message);
    if (err.status === 404) return new PromError('not_found', err.message);
    if (err.status >= 500) return new PromError('internal', err.message, { headers: err.headers });
    return badData(err.message);
  }
  const e = err as { type?: string; status?: number };
  if (e.type === 'entity.too.large') return badData('the body is too large');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return badData('the request is malformed');
  return undefined;
}

/**
 * Credentials (their SHA-256) that passed the database check within the last minutes: a request
 * with one of them starts its work while its own check runs, instead of after it (one round trip
 * less per query). Every request is still checked; a credential that fails once is forgotten, so a
 * revoked token gets at most one piece of work started, and its answer is never sent. A credential
 * never seen, or not for `ttlMs`, waits for its check first, so nobody without a valid token makes
 * the api work.
 */
export class RecentCredentials {
  private readonly seen = new Map<string, number>();
  constructor(private readonly ttlMs = 10 * 60_000, private readonly max = 10_000, private readonly now: () => number = Date.now) {}
  private static key(credential: string): string {
    return createHash('sha256').update(credential).digest('base64');
  }
  has(credential: string): boolean {
    const k = RecentCredentials.key(credential);
    const until = this.seen.get(k);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.seen.delete(k);
    return false;
  }
  valid(credential: string): void {
    const k = RecentCredentials.key(credential);
    this.seen.delete(k);
    // Oldest first in a Map: over the bound, the one validated longest ago goes.
    if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(k, this.now() + this.ttlMs);
  }
  invalid(credential: string): void {
    this.seen.delete(RecentCredentials.key(credential));
  }
}

// ---- the router -----------------------------------------------------------------------------------------------

export function promqlRouter(deps: PromqlDeps): Router {
  const router = express.Router();
  // Form bodies are parsed once, by the app (promqlFormParser): a body parsed already is not read again.
  router.use(promqlFormParser(deps.bodyLimitBytes));

  /** The request's credential (an API token or access token); a 401 PromError when it has none. */
  const credentialOf = (req: Request): string => {
    const h = req.headers.authorization;
    if (h === undefined) throw new PromError('unauthorized', 'authentication required: send Authorization: Bearer <API token>, or basic auth with an API token as the password', { headers: { 'www-authenticate': CHALLENGE } });
    let credential: string | undefined;
    const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
    const basic = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
    if (bearer) credential = bearer[1];
    else if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      credential = colon < 0 ? undefined : decoded.slice(colon + 1);
    }
    if (!credential) throw new PromError('unauthorized', 'the Authorization header must be "Bearer <token>" or basic auth with a token as the password', { headers: { 'www-authenticate': CHALLENGE } });
    return credential;
  };

  const recent = new RecentCredentials();
  /** Checks the credential against the database (every request); remembers the outcome in `recent`. */
  const authenticate = async (credential: string): Promise<Principal> => {
    try {
      const p = await deps.authenticate(credential);
      if (p.mustChangePassword) throw new PromError('forbidden', 'change your password first (PASSWORD_CHANGE_REQUIRED): POST /api/v1/auth/password');
      recent.valid(credential);
      return p;
    } catch (err) {
      recent.invalid(credential);
      throw err;
    }
  };

  const handle = (path: string, fn: (p: Params, req: Request) => Promise<unknown>) => {
    const h = async (req: Request, res: Response) => {
      res.locals.route = `/prometheus${path}`;
      try {
        const credential = credentialOf(req);
        if (recent.has(credential)) {
          // A credential that passed moments ago: its check (still made, against the database)
          // and the work run together, and nothing of the work is sent unless the check passes.
          // The check's statement goes out first, so that its round trip overlaps the work.
          const check = authenticate(credential);
          const work = fn(params(req), req);
          // (handled from the start: either may fail while the other is still out)
          check.catch(() => undefined);
          work.catch(() => undefined);
          try {
            await check;
          } catch (err) {
            res.removeHeader('x-perfwatch-tier');
            throw err;
          }
          send(res, await work);
        } else {
          await authenticate(credential);
          send(res, await fn(params(req), req));
        }
      } catch (err) {
        const e = toPromError(err);
        if (!e) {
          ((req as Request & { log?: Logger }).log ?? deps.log).error({ err: errorMessage(err) }, 'prometheus API request failed');
          sendError(res, new PromError('internal', `internal error; the api log has the details under request id ${String(req.id)}`));
        } else sendError(res, e);
      }
    };
    router.get(path, h);
    router.post(path, h);
  };

  const tierOf = (req: Request): Tier => {
    // For tests and comparisons: x-perfwatch-tier: raw | 1m | 1h (default auto).
    const t = req.headers['x-perfwatch-tier'];
    return t === 'raw' || t === '1m' || t === '1h' ? t : 'auto';
  };

  handle('/api/v1/query', async (p, req) => {
    const expr = parseQuery(p);
    const deadline = deadlineOf(p);
    const t = one(p, 'time');
    const time = t === undefined || t === '' ? Date.now() : parseTime(t, 'time');
    const r = await deps.engine.answer(one(p, 'query')!, { start: time, end: time, step: 1, tier: tierOf(req), deadline }, 'instant', expr);
    req.res?.setHeader('x-perfwatch-tier', [...r.tiers].join(',') || 'none');
    return new JsonText(r.json);
  });

  handle('/api/v1/query_range', async (p, req) => {
    const s = one(p, 'start');
    const e = one(p, 'end');
    const st = one(p, 'step');
    if (s === undefined) throw badData('invalid parameter "start": cannot parse "" to a valid timestamp');
    if (e === undefined) throw badData('invalid parameter "end": cannot parse "" to a valid timestamp');
    const start = parseTime(s, 'start');
    const end = parseTime(e, 'end');
    if (end < start) throw badData('invalid parameter "end": end timestamp must not be before start time');
    if (st === undefined) throw badData('invalid parameter "step": cannot parse "" to a valid duration');
    const step = parseStep(st, 'step');
    if (step <= 0) throw badData('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    if ((end - start) / step > MAX_RESOLUTION) throw badData('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    const deadline = deadlineOf(p);
    const expr = parseQuery(p);
    const type = typeOf(expr);
    if (type === 'matrix' || type === 'string') throw badData(`invalid expression type "${type === 'matrix' ? 'range vector' : 'string'}" for range query, must be Scalar or instant Vector`);
    const r = await deps.engine.answer(one(p, 'query')!, { start, end, step, tier: tierOf(req), deadline }, 'range', expr);
    req.res?.setHeader('x-perfwatch-tier', [...r.tiers].join(',') || 'none');
    return new JsonText(r.json);
  });

  const range = (p: Params) => {
    const s = one(p, 'start');
    const e = one(p, 'end');
    const start = s === undefined || s === '' ? MIN_TIME : parseTime(s, 'start');
    const end = e === undefined || e === '' ? MAX_TIME : parseTime(e, 'end');
    if (end < start) throw badData('invalid parameter "end": end timestamp must not be before start time');
    return { start, end };
  };

  /** Series of the match[] selectors (every series when none and `all`). */
  const seriesOf = async (p: Params, all: boolean): Promise<Labels[]> => {
    const matches = many(p, 'match[]');
    if (!matches.length && !all) throw badData('no match[] parameter provided');
    const { start, end } = range(p);
    const sels = matches.map(parseMatch);
    const found = new Map<string, Labels>();
    const lists = sels.length
      ? await Promise.all(sels.map((sel) => listSeries(deps.pool, sampleSelector(sel), start, end)))
      : [await listSeries(deps.pool, { metric: () => true, match: () => true }, start, end)];
    for (const list of lists) {
      for (const s of list) {
        // A label with an empty value is no label (Prometheus never stores one).
        const l: Labels = { __name__: s.metric };
        for (const [k, v] of Object.entries(s.labels)) if (v !== '') l[k] = v;
        found.set(labelsKey(l), l);
      }
    }
    // in the order of their keys (labelsKey), as the answers of query and query_range (format.ts)
    return [...found].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, l]) => l);
  };

  /** Prometheus's `limit` of series, labels and label values: 0 or absent = all. */
  const limited = <T>(p: Params, list: T[]): T[] => {
    const s = one(p, 'limit');
    const limit = s === undefined || s === '' ? 0 : Number(s);
    if (!Number.isInteger(limit) || limit < 0) throw badData(`invalid parameter "limit": cannot parse "${String(s).slice(0, 50)}" to a valid limit`);
    return limit > 0 ? list.slice(0, limit) : list;
  };

  handle('/api/v1/series', async (p) => limited(p, (await seriesOf(p, false)).map(metricOf)));

  handle('/api/v1/labels', async (p) => {
    // Without match[]: straight from the hosts, shapes and rolled-up series (no series listing).
    if (!many(p, 'match[]').length) {
      const { start, end } = range(p);
      return limited(p, await labelNamesInRange(deps.pool, start, end));
    }
    const names = new Set<string>();
    for (const l of await seriesOf(p, true)) for (const k of Object.keys(l)) names.add(k);
    return limited(p, [...names].sort());
  });

  handle('/api/v1/label/:name/values', async (p, req) => {
    const name = String(req.params.name);
    if (!LABEL_NAME_RE.test(name)) throw badData(`invalid label name: ${JSON.stringify(name.slice(0, 100))}`);
    if (!many(p, 'match[]').length) {
      const { start, end } = range(p);
      return limited(p, await labelValuesInRange(deps.pool, name, start, end));
    }
    const values = new Set<string>();
    for (const l of await seriesOf(p, true)) if (l[name] !== undefined && l[name] !== '') values.add(l[name]!);
    return limited(p, [...values].sort());
  });

  handle('/api/v1/metadata', async (p) => {
    const metric = one(p, 'metric');
    const limitS = one(p, 'limit');
    const limit = limitS === undefined || limitS === '' ? -1 : Number(limitS);
    if (!Number.isInteger(limit)) throw badData(`invalid parameter "limit": cannot parse "${String(limitS).slice(0, 50)}" to a valid limit`);
    const names = new Set<string>(FIXED_METRICS.map((m) => m.name));
    for (const s of await listSeries(deps.pool, { metric: () => true, match: () => true }, MIN_TIME, MAX_TIME)) names.add(s.metric);
    const out: Record<string, { type: string; help: string; unit: string }[]> = {};
    for (const name of [...names].sort()) {
      if (metric !== undefined && metric !== '' && name !== metric) continue;
      if (limit >= 0 && Object.keys(out).length >= limit) break;
      const info = metricInfo(name);
      if (info) out[name] = [{ type: info.type, help: info.help, unit: info.unit }];
    }
    return out;
  });

  handle('/api/v1/query_exemplars', async (p) => {
    parseQuery(p);
    return [];
  });

  handle('/api/v1/status/buildinfo', async () => ({
    // The Prometheus API version this emulates (Grafana enables features by it); PerfWatch's own below.
    version: '2.45.0',
    revision: deps.build.revision,
    branch: 'perfwatch',
    buildUser: 'perfwatch',
    buildDate: '',
    goVersion: 'none (PerfWatch, Node.js)',
    perfwatchVersion: deps.build.version,
  }));

  router.use((req: Request, res: Response) => {
    res.locals.route = '/prometheus/*';
    sendError(res, new PromError('not_found', `no route ${req.method} /prometheus${req.path.slice(0, 200)}`));
  });
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = toPromError(err);
    if (!e) deps.log.error({ err: errorMessage(err) }, 'prometheus API request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, e ?? new PromError('internal', 'internal error'));
  });
  return router;
}
