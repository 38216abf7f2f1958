/**
 * createApp(deps): the express application, without listening (tests start it on port 0;
 * service.ts runs it). Order: metrics and request id first, so every answer is counted and
 * carries x-request-id; then security headers, CORS, the edge checks (edge.ts: body size, U+0000)
 * around the body parsers, one router per resource and Prometheus's API, and the 404 and error
 * handlers that give every failure the `{error:{code,message}}` shape (Prometheus's envelope under
 * /prometheus) without a stack.
 */
import { readBuildInfo } from '@perfwatch/store/env';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import { StoreError, type Pool, type ReplicaLag } from '@perfwatch/store';
import { accessLog } from './access-log.js';
import { routeGuard } from './auth/middleware.js';
import { JwtKeys } from './auth/jwt.js';
import { OWASP_SCRYPT, PasswordHasher } from './auth/passwords.js';
import { AuthService } from './auth/service.js';
import { createPassport } from './auth/strategies.js';
import type { ApiConfig } from './config.js';
import { isPrometheusPath, noteNulFree, payloadTooLarge, refuseLargeBody, rejectNul } from './edge.js';
import { ApiError, dbUnavailable, errorMessage } from './errors.js';
import type { Logger } from './log.js';
import { ApiMetrics } from './metrics.js';
import { buildOpenApi, type OpenApiDocument } from './openapi.js';
import { PromError } from './promql/errors.js';
import { promqlFormParser, promqlRouter, sendError, toPromError } from './promql/router.js';
import { mountRoutes, type RouteDef } from './route.js';
import { annotationRoutes } from './routes/annotations.js';
import { authRoutes } from './routes/auth.js';
import { metricsRoutes } from './routes/metrics.js';
import { queryRoutes } from './routes/query.js';
import { inProcessEngine, type QueryEngine } from './promql/engine.js';
import { retentionRoutes } from './routes/retention.js';
import { statusRoutes } from './routes/status.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { systemRoutes } from './routes/system.js';
import { tokenRoutes } from './routes/tokens.js';
import { userRoutes } from './routes/users.js';

/** Version from package.json; revision from build-info.json, written at every build. */
export function buildInfo() {
  return readBuildInfo(new URL('../', import.meta.url));
}

export interface AppDeps {
  config: ApiConfig;
  pool: Pool;
  log: Logger;
  /** the HS256 key (JWT_SECRET, or the one kept in the database: see bootstrap.ts). */
  jwtSecret: Buffer;
  metrics?: ApiMetrics;
  hasher?: PasswordHasher;
  /** queues a retention run now, when this api runs the background jobs. */
  runRetentionNow?: () => Promise<string | null>;
  /** where queries are evaluated (promql/engine.ts); default: in this thread, over `readPool`. */
  engine?: QueryEngine;
  /** the read replica (DATABASE_READ_URL) for the query load: history, catalog, annotations,
   *  status, PromQL; default `pool`. Users, tokens, logins and every write use `pool`. */
  readPool?: Pool;
  /** the read replica's lag, shown in /api/v1/status (service.ts, with readPool). */
  replicaLag?: () => Promise<ReplicaLag>;
}

/** Every route of the app, by resource: each becomes its own Router, and all of them the OpenAPI document. */
export interface Resources {
  [resource: string]: RouteDef[];
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts the caller's x-request-id when it is a plain token (a proxy's), else makes one. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/** CORS by allowlist, with credentials; unsafe requests from other sites are refused outright. */
/**
 * A middleware whose headers are the same for every request (helmet's, as configured here: no
 * nonce, no per-request choice), run once: the headers it sets and removes are recorded on a
 * stand-in response and then applied to each response in one step, instead of a dozen
 * middlewares a request.
 */
function staticHeaders(mw: (req: Request, res: Response, next: (err?: unknown) => void) => void): RequestHandler {
  const set: [string, string | number | readonly string[]][] = [];
  const removed: string[] = [];
  let ok = false;
  const stand = { setHeader: (k: string, v: string | number | readonly string[]) => set.push([k, v]), removeHeader: (k: string) => removed.push(k) };
  mw({ method: 'GET', url: '/', headers: {} } as Request, stand as unknown as Response, (err?: unknown) => (ok = err === undefined));
  if (!ok) return mw as RequestHandler;
  return (_req, res, next) => {
    for (const k of removed) res.removeHeader(k);
    for (const [k, v] of set) res.setHeader(k, v);
    next();
  };
}

function cors(allowed: readonly string[]) {
  const origins = new Set(allowed);
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    res.vary('Origin');
    const ok = origins.has(origin);
    if (ok) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Expose-Headers', 'x-request-id, retry-after');
    }
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    let sameOrigin = false;
    try {
      sameOrigin = new URL(origin).host === req.headers.host;
    } catch {
      sameOrigin = false;
    }
    if (!ok && !sameOrigin && (preflight || !SAFE_METHODS.has(req.method))) {
      // Browsers send Origin on every cross-site POST/PUT/PATCH/DELETE: refusing them here is the
      // CSRF defence for the cookie session, on top of SameSite=Strict.
      return next(new ApiError(403, 'ORIGIN_NOT_ALLOWED', `origin ${origin.slice(0, 200)} is not allowed (PERFWATCH_CORS_ORIGINS)`));
    }
    if (preflight) {
      res.locals.route = 'preflight';
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Request-Id');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

/** body-parser and router errors carry `type` / `status`: turn them into ApiErrors. */
function toApiError(err: unknown, config: ApiConfig): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreError) {
    if (err.transient) return dbUnavailable(err);
    return undefined;
  }
  const e = err as { type?: string; status?: number; expose?: boolean };
  switch (e.type) {
    case 'entity.too.large':
      return payloadTooLarge(config.bodyLimitBytes);
    case 'entity.parse.failed':
      return new ApiError(400, 'INVALID_JSON', 'the body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as UTF-8 JSON');
    case 'request.aborted':
    case 'request.size.invalid':
      return new ApiError(400, 'BAD_REQUEST', 'the body was not received in full');
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new ApiError(e.status, 'BAD_REQUEST', 'the request is malformed');
  return undefined;
}

export function createApp(deps: AppDeps): Express {
  const { config, pool, log } = deps;
  const build = buildInfo();
  const metrics = deps.metrics ?? new ApiMetrics(build);
  const hasher = deps.hasher ?? new PasswordHasher({ ...OWASP_SCRYPT, N: config.scryptN });
  const jwt = new JwtKeys(deps.jwtSecret, config.jwtTtlSeconds);
  const auth = new AuthService({ pool, config, hasher, jwt, metrics, log: log.child({ component: 'auth' }) });
  const passport = createPassport(auth);
  metrics.observePool(pool);
  // The query load goes to the read replica when there is one (docs/scaling.md).
  const reads = deps.readPool ?? pool;
  const engine = deps.engine ?? inProcessEngine(reads);

  let openapi: OpenApiDocument | undefined;
  const resources: Resources = {
    system: systemRoutes({ pool, metrics, log, openapi: () => openapi! }),
    auth: authRoutes({ config, auth, passport }),
    users: userRoutes({ pool, config, hasher, log }),
    tokens: tokenRoutes({ pool, log }),
    retention: retentionRoutes({ pool, log, runRetentionNow: deps.runRetentionNow }),
    metrics: metricsRoutes({ pool: reads }),
    query: queryRoutes({ pool: reads, engine, maxRangeDays: config.maxRangeDays }),
    snapshots: snapshotRoutes({ pool: reads }),
    annotations: annotationRoutes({ pool: reads, maxRangeDays: config.maxRangeDays }),
    status: statusRoutes({ pool: reads, config, build, ...(deps.replicaLag ? { replicaLag: deps.replicaLag } : {}) }),
  };
  openapi = buildOpenApi(Object.values(resources).flat(), { version: build.version });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');
  // Every answer is Cache-Control: no-store (below), so an ETag (a SHA-1 of each body) serves nobody.
  app.set('etag', false);

  app.use(metrics.middleware());
  app.use(
    accessLog(log, {
      requestId,
      route: (res) => (typeof res.locals?.route === 'string' ? res.locals.route : 'unmatched'),
      level: (req, res, err) => {
        if (err || res.statusCode >= 500) return 'error';
        // Probes and scrapes every few seconds would drown everything else.
        if (res.statusCode < 400 && /^\/(health|ready|metrics)(\?|$)/.test(req.url ?? '')) return 'debug';
        return 'info';
      },
    }),
  );
  app.use(
    staticHeaders(
      helmet({
        contentSecurityPolicy: {
          useDefaults: false,
          // JSON only: nothing may load, nothing may frame it.
          directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
        },
        // Only behind TLS: see below.
        strictTransportSecurity: false,
        xFrameOptions: { action: 'deny' },
      }),
    ),
  );
  app.use((req: Request, res: Response, next: NextFunction) => {
    // req.secure: TLS here, or X-Forwarded-Proto https from a proxy PERFWATCH_TRUST_PROXY trusts.
    if (req.secure) res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use(cors(config.corsOrigins));
  // The edge (edge.ts): the body's size by its Content-Length before anything reads it; then the
  // bodies parsed (Prometheus's form bodies here too, with its router's options: its own parser
  // then finds them parsed) and U+0000 refused wherever it is, for every route at once.
  app.use(refuseLargeBody(config.bodyLimitBytes));
  // noteNulFree: a body whose bytes cannot spell U+0000 is not walked by rejectNul.
  app.use(express.json({ limit: config.bodyLimitBytes, strict: true, verify: noteNulFree }));
  app.use('/prometheus', promqlFormParser(config.bodyLimitBytes, noteNulFree));
  app.use(rejectNul());

  // Prometheus's query API: its own envelope and errors, outside the JSON API's route machinery
  // (mounted first: its requests, a dashboard's many panels, do not walk the JSON API's routes).
  app.use('/prometheus', promqlRouter({ pool: reads, engine, log, authenticate: (c) => auth.authenticateBearer(c), bodyLimitBytes: config.bodyLimitBytes, build }));
  const guard = routeGuard(passport);
  for (const defs of Object.values(resources)) app.use(mountRoutes(defs, { authenticate: guard }));

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new ApiError(404, 'NOT_FOUND', `no route ${req.method} ${req.path.slice(0, 200)}; see /api/openapi.json`));
  });
  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    const known = toApiError(err, config);
    const e = known ?? new ApiError(500, 'INTERNAL_ERROR', `internal error; the api log has the details under request id ${String(req.id)}`);
    const reqLog = (req as Request & { log?: Logger }).log ?? log;
    if (!known) reqLog.error({ err: err instanceof Error ? { message: err.message, stack: err.stack, cause: errorMessage(err.cause) } : String(err), code: e.code }, 'request failed');
    else if (e.status >= 500) reqLog.warn({ code: e.code, err: errorMessage(e.cause ?? e) }, 'request failed');
    else reqLog.debug({ code: e.code, msg: e.message }, 'request refused');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // What the edge refuses under /prometheus (before its router) is told in Prometheus's envelope, mapped as its router maps it.
    if (isPrometheusPath(req.path)) {
      sendError(res, toPromError(e) ?? new PromError('internal', e.message));
      return;
    }
    for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
    res.status(e.status).json({ error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } });
  };
  app.use(onError);
  return app;
}
