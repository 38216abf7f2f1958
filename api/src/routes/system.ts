/** /health, /ready, /metrics and the OpenAPI document: unauthenticated, outside /api/v1. */
import { checkSchemaVersion, errorMessage, StoreError, type Pool } from '@perfwatch/store';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ApiMetrics } from '../metrics.js';
import type { OpenApiDocument } from '../openapi.js';
import { route, type RouteDef } from '../route.js';

export interface SystemDeps {
  pool: Pool;
  metrics: ApiMetrics;
  log: Logger;
  /** the document, built once every route is declared. */
  openapi(): OpenApiDocument;
}

/** Ready unless the database is unreachable or not at the schema version this code needs. */
export async function readiness(pool: Pool): Promise<{ schemaVersion: number }> {
  try {
    return { schemaVersion: await checkSchemaVersion(pool) };
  } catch (err) {
    if (err instanceof StoreError && (err.code === 'MIGRATION_FAILED' || err.code === 'SCHEMA_TOO_NEW')) {
      throw new ApiError(503, 'SCHEMA_MISMATCH', err.message, { cause: err });
    }
    if (err instanceof StoreError && err.transient) throw new ApiError(503, 'DB_UNAVAILABLE', 'the database cannot be reached (see the api log)', { cause: err });
    throw new ApiError(503, 'DB_ERROR', 'the database answered with an error (see the api log)', { cause: err });
  }
}

export function systemRoutes(deps: SystemDeps): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/health',
      tag: 'system',
      summary: 'Liveness: the process is up (does not look at the database).',
      access: 'public',
      usesDatabase: false,
      response: z.object({ status: z.literal('ok') }),
      handler: () => ({ status: 'ok' }),
    }),
    route({
      method: 'get',
      path: '/ready',
      tag: 'system',
      summary: 'Readiness: the database answers and its schema is at the version this api needs; 503 with the reason otherwise.',
      access: 'public',
      // Its 503s are listed below.
      usesDatabase: false,
      response: z.object({ status: z.literal('ready'), schemaVersion: z.number().int() }),
      errors: { 503: 'DB_UNAVAILABLE, SCHEMA_MISMATCH or DB_ERROR: not ready; the message says why' },
      handler: async () => {
        try {
          return { status: 'ready', ...(await readiness(deps.pool)) };
        } catch (err) {
          deps.log.warn({ err: errorMessage((err as Error).cause ?? err) }, 'not ready');
          throw err;
        }
      },
    }),
    route({
      method: 'get',
      path: '/metrics',
      tag: 'system',
      summary: "The api's own Prometheus metrics (text exposition 0.0.4).",
      access: 'public',
      usesDatabase: false,
      produces: 'text/plain; version=0.0.4',
      handler: async ({ res }) => {
        const m = await deps.metrics.render();
        res.status(200).type(m.contentType).send(m.body);
      },
    }),
    route({
      method: 'get',
      path: '/api/openapi.json',
      tag: 'system',
      summary: 'This document.',
      access: 'public',
      usesDatabase: false,
      handler: () => deps.openapi(),
    }),
  ];
}
