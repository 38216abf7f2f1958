/**
 * A route is declared once, with the zod schemas of its path parameters, query and body, its
 * access level and its responses. The same declaration mounts it on its resource's express
 * Router (auth -> validation -> handler) and describes it in the OpenAPI document (openapi.ts),
 * so the document cannot drift from what the api enforces.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Principal } from './auth/types.js';
import { ApiError, validationFailed } from './errors.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** public: anyone; user: any authenticated user or API token; admin: role admin. */
export type Access = 'public' | 'user' | 'admin';

type Schema = z.ZodType | undefined;
type Out<S extends Schema> = S extends z.ZodType ? z.output<S> : undefined;

export interface Ctx<B extends Schema, Q extends Schema, P extends Schema, A extends Access> {
  body: Out<B>;
  query: Out<Q>;
  params: Out<P>;
  user: A extends 'public' ? Principal | undefined : Principal;
  req: Request;
  res: Response;
}

export interface RouteSpec<B extends Schema, Q extends Schema, P extends Schema, A extends Access> {
  method: Method;
  /** express path, e.g. /api/v1/users/:id (OpenAPI gets /api/v1/users/{id}). */
  path: string;
  /** OpenAPI tag: the resource. */
  tag: string;
  /** OpenAPI operationId, where the one made from the path would repeat another's
   *  (GET /api/v1/metrics and the Prometheus GET /metrics both make getMetrics). */
  operationId?: string;
  summary: string;
  description?: string;
  access: A;
  /** Open to a user who must change their password first (me, logout, password). */
  duringPasswordChange?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** The body may be left out (then it validates as {}). */
  bodyOptional?: boolean;
  /** Status of success (200). 204 sends no body. */
  status?: number;
  /** Schema of the success body (JSON), for the document. */
  response?: z.ZodType;
  /** Content type of a success body that is not JSON (text exposition of /metrics). */
  produces?: string;
  /** Error statuses the route may answer besides the ones every route of its kind may (openapi.ts). */
  errors?: Record<number, string>;
  /** Whether it reads the database, so a 503 DB_UNAVAILABLE is possible (true). */
  usesDatabase?: boolean;
  handler(ctx: Ctx<B, Q, P, A>): unknown;
}

/** What route() fills in when a spec leaves it out. */
type Defaulted = 'duringPasswordChange' | 'bodyOptional' | 'status' | 'errors' | 'usesDatabase';
type ErasedSpec = RouteSpec<Schema, Schema, Schema, Access>;

/** A declared route, its types erased and its defaults filled in (what routers and the document take). */
export type RouteDef = Omit<ErasedSpec, Defaulted> & Required<Pick<ErasedSpec, Defaulted>>;

export function route<B extends Schema = undefined, Q extends Schema = undefined, P extends Schema = undefined, A extends Access = Access>(
  spec: RouteSpec<B, Q, P, A>,
): RouteDef {
  return {
    ...spec,
    duringPasswordChange: spec.duringPasswordChange ?? false,
    bodyOptional: spec.bodyOptional ?? false,
    status: spec.status ?? 200,
    errors: spec.errors ?? {},
    usesDatabase: spec.usesDatabase ?? true,
    handler: spec.handler as RouteDef['handler'],
  };
}

/** What mounting needs from the app: authentication, run before validation. */
export interface RouteHooks {
  /** Establishes req.user or throws 401 / 403 (role, forced password change). */
  authenticate(def: RouteDef, req: Request, res: Response): Promise<void>;
}

/** "body.username" from a zod issue path. */
function fieldName(where: string, path: readonly PropertyKey[]): string {
  return [where, ...path.map(String)].join('.');
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** Validates one part of the request; 400 VALIDATION_FAILED naming the first bad field. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query' | 'params'): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  let field = fieldName(where, issue.path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    // Names come from the caller: shortened, so a hostile body cannot make the answer large.
    const keys = issue.keys.slice(0, 5).map((k) => k.slice(0, 64));
    field = fieldName(where, [...issue.path, keys[0] ?? '']);
    message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}${issue.keys.length > 5 ? ', ...' : ''}`;
  } else if (issue.code === 'invalid_type' && valueAt(value, issue.path) === undefined) {
    message = 'is required';
  }
  const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem${r.error.issues.length > 2 ? 's' : ''})` : '';
  throw validationFailed(field, `${field}: ${message}${more}`);
}

/** An express Router holding defs: one per resource (routes/<resource>.ts). */
export function mountRoutes(defs: readonly RouteDef[], hooks: RouteHooks): Router {
  const router = express.Router();
  for (const def of defs) {
    router[def.method](def.path, async (req: Request, res: Response, next: NextFunction) => {
      // The route pattern, for the request metrics and logs (never the raw URL).
      res.locals.route = def.path;
      try {
        if (def.access !== 'public') await hooks.authenticate(def, req, res);
        const params = def.params ? validate(def.params, req.params, 'params') : undefined;
        const query = def.query ? validate(def.query, req.query, 'query') : undefined;
        let body: unknown;
        if (def.body) {
          const sent = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
          if (!sent && def.bodyOptional) body = validate(def.body, {}, 'body');
          else if (!sent) throw validationFailed('body', 'body: is required (a JSON object)');
          // Also what makes a cross-site form post impossible: browsers preflight JSON.
          else if (!req.is('application/json')) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as JSON with Content-Type: application/json');
          else body = validate(def.body, req.body, 'body');
        }
        const result = await def.handler({ body, query, params, user: req.user, req, res } as Ctx<Schema, Schema, Schema, Access>);
        if (res.headersSent) return;
        if (def.status === 204) res.status(204).end();
        else res.status(def.status).json(result);
      } catch (err) {
        next(err);
      }
    });
  }
  return router;
}

/** /api/v1/users/:id -> /api/v1/users/{id} */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
