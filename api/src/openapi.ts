/**
 * The OpenAPI 3.1 document at /api/openapi.json, generated from the route declarations
 * (route.ts): the zod schemas that validate each request become its parameters and request body
 * (z.toJSONSchema; JSON Schema 2020-12 is OpenAPI 3.1's dialect), and its access level becomes
 * `security` plus `x-required-role`, which the access tests walk.
 */
import { z } from 'zod';
import { openApiPath, type RouteDef } from './route.js';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const s = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  delete s.$schema;
  return s;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const s = jsonSchema(schema, 'input');
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required ?? []) as string[]);
  return Object.entries(props).map(([name, p]) => {
    const { description, ...rest } = p;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

function errorResponse(description: string): JsonSchema {
  return { description, content: { 'application/json': { schema: ERROR_REF } } };
}

/** Error statuses every route of a kind may answer. */
function commonErrors(def: RouteDef): Record<number, string> {
  const e: Record<number, string> = {};
  if (def.params || def.query || def.body) e[400] = 'VALIDATION_FAILED: a parameter or the body is invalid; the message names the field';
  if (def.access !== 'public') {
    e[401] = 'UNAUTHENTICATED, INVALID_TOKEN or TOKEN_EXPIRED: no valid access token, session cookie or API token';
    const forbidden = [
      def.access === 'admin' ? 'FORBIDDEN: administrators only' : undefined,
      def.duringPasswordChange ? undefined : 'PASSWORD_CHANGE_REQUIRED: change the password first (POST /api/v1/auth/password)',
    ].filter(Boolean);
    if (forbidden.length) e[403] = forbidden.join('; ');
  }
  if (def.body) {
    e[413] = 'PAYLOAD_TOO_LARGE: the body is over the limit (100 KB by default)';
    e[415] = 'UNSUPPORTED_MEDIA_TYPE: the body is not application/json';
  }
  e[500] = 'INTERNAL_ERROR: see the api log for the request id';
  if (def.usesDatabase) e[503] = 'DB_UNAVAILABLE: the database cannot be reached; try again (Retry-After)';
  return e;
}

function operationId(def: RouteDef): string {
  const words = def.path
    .split('/')
    .filter((w) => w && w !== 'api' && w !== 'v1')
    .map((w) => (w.startsWith(':') ? `by ${w.slice(1)}` : w))
    .join(' ')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return [def.method, ...words].map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}

export interface OpenApiInfo {
  version: string;
}

export type OpenApiDocument = JsonSchema & { paths: Record<string, Record<string, JsonSchema>> };

export function buildOpenApi(defs: readonly RouteDef[], info: OpenApiInfo): OpenApiDocument {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const def of defs) {
    const path = openApiPath(def.path);
    const responses: Record<string, JsonSchema> = {};
    if (def.status === 204) responses['204'] = { description: 'Done; no body.' };
    else if (def.produces) responses[String(def.status)] = { description: 'OK', content: { [def.produces]: { schema: { type: 'string' } } } };
    else responses[String(def.status)] = { description: 'OK', content: { 'application/json': { schema: def.response ? jsonSchema(def.response, 'output') : {} } } };
    const errors = commonErrors(def);
    for (const [status, description] of Object.entries(def.errors)) {
      const s = Number(status);
      errors[s] = errors[s] ? `${description}; ${errors[s]}` : description;
    }
    for (const [status, description] of Object.entries(errors)) responses[status] = errorResponse(description);

    const op: JsonSchema = {
      operationId: def.operationId ?? operationId(def),
      tags: [def.tag],
      summary: def.summary,
      ...(def.description ? { description: def.description } : {}),
      security: def.access === 'public' ? [] : [{ bearerAuth: [] }, { cookieAuth: [] }],
      // The least role that may call it (absent: public); the access tests walk these.
      ...(def.access === 'public' ? {} : { 'x-required-role': def.access === 'admin' ? 'admin' : 'viewer' }),
      'x-password-change-allowed': def.access === 'public' || def.duringPasswordChange,
      responses,
    };
    const params = [...parameters(def.params, 'path'), ...parameters(def.query, 'query')];
    if (params.length) op.parameters = params;
    if (def.body) {
      op.requestBody = { required: !def.bodyOptional, content: { 'application/json': { schema: jsonSchema(def.body, 'input') } } };
    }
    (paths[path] ??= {})[def.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'PerfWatch API',
      version: info.version,
      description:
        'Users, API tokens, retention and the metrics history (hosts, catalog, queries, snapshots, annotations) of PerfWatch. Authenticate with `Authorization: Bearer <token>` ' +
        '(an access token from POST /api/v1/auth/login, or an API token pw_...) or, in the admin UI, the pw_session cookie. ' +
        'Errors are `{"error": {"code", "message"}}`. See docs/api.md.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An access token (JWT, 15 minutes) from POST /api/v1/auth/login, or an API token (pw_...).' },
        cookieAuth: { type: 'apiKey', in: 'cookie', name: 'pw_session', description: 'The admin UI session: an httpOnly, SameSite=Strict cookie set by a login with "cookie": true.' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', description: 'Stable, for programs (docs/api.md lists them).' },
                message: { type: 'string', description: 'For people; names the field for VALIDATION_FAILED.' },
                field: { type: 'string', description: 'VALIDATION_FAILED only: the bad field, e.g. body.username.' },
              },
            },
          },
        },
      },
    },
  };
}
