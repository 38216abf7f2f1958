/**
 * /api/v1/snapshots: a host's raw snapshots, oldest first, a page at a time (keyset cursor: pages
 * stay exact while new snapshots arrive), and /api/v1/snapshots/latest: its newest one.
 */
import { latestSnapshot, snapshotsPage, type Pool, type Snapshot } from '@perfwatch/store';
import { z } from 'zod';
import { ApiError, notFound } from '../errors.js';
import { clientError, HostName, iso, QueryTime } from '../query/params.js';
import { route, type RouteDef } from '../route.js';
import { Timestamp } from '../schemas.js';

export interface SnapshotRouteDeps {
  pool: Pool;
}

const SnapshotItem = z.object({
  host: z.string(),
  ts: Timestamp,
  data: z.record(z.string(), z.unknown()).meta({ description: 'The Snapshot as the exporter made it (docs/snapshot.md).' }),
});

function item(s: Snapshot) {
  return { host: s.host, ts: iso(s.ts), data: s };
}

export function snapshotRoutes(deps: SnapshotRouteDeps): RouteDef[] {
  const { pool } = deps;
  return [
    route({
      method: 'get',
      path: '/api/v1/snapshots',
      tag: 'snapshots',
      summary: "A host's raw snapshots in [from, to), oldest first, a page at a time.",
      description: 'Pass nextCursor as cursor (with the same host, from and to) for the next page; null after the last. from defaults to the beginning, to to now.',
      access: 'user',
      query: z.strictObject({
        host: HostName,
        from: QueryTime.optional(),
        to: QueryTime.optional(),
        limit: z
          .string()
          .regex(/^[0-9]{1,4}$/, 'must be a whole number from 1 to 1000')
          .transform(Number)
          .pipe(z.number().min(1, 'must be at least 1').max(1000, 'must be at most 1000'))
          .optional()
          .meta({ description: 'Snapshots per page, 1..1000 (100).' }),
        cursor: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'must be the nextCursor of a previous page').optional(),
      }),
      response: z.object({ snapshots: z.array(SnapshotItem), nextCursor: z.string().nullable() }),
      errors: { 400: 'INVALID_ARGUMENT: from after to, or a cursor this api did not make' },
      handler: async ({ query }) => {
        const to = query.to ?? Date.now();
        const from = query.from ?? 0;
        if (from > to) throw new ApiError(400, 'INVALID_ARGUMENT', `from (${iso(from)}) must not be after to (${iso(to)})`);
        try {
          const page = await snapshotsPage(pool, { host: query.host, from, to, limit: query.limit ?? 100, cursor: query.cursor ?? null });
          return { snapshots: page.snapshots.map(item), nextCursor: page.nextCursor };
        } catch (err) {
          throw clientError(err);
        }
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/snapshots/latest',
      tag: 'snapshots',
      summary: "A host's newest snapshot.",
      access: 'user',
      query: z.strictObject({ host: HostName }),
      response: SnapshotItem,
      errors: { 404: 'NOT_FOUND: the host has no snapshot' },
      handler: async ({ query }) => {
        let s: Snapshot | null;
        try {
          s = await latestSnapshot(pool, query.host);
        } catch (err) {
          throw clientError(err);
        }
        if (!s) throw notFound(`no snapshot of host "${query.host.slice(0, 253)}"`);
        return item(s);
      },
    }),
  ];
}
