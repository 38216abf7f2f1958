/**
 * /api/v1/annotations: what to mark on Grafana's time axis: retention runs and gaps in hosts'
 * history (no snapshot for longer than a few intervals: an outage).
 */
import type { Pool } from '@perfwatch/store';
import { z } from 'zod';
import { ANNOTATION_KINDS, gapAnnotations, retentionAnnotations, type Annotation } from '../query/annotations.js';
import { checkRange, clientError, HostName, QueryTime, repeatable } from '../query/params.js';
import { route, type RouteDef } from '../route.js';

export interface AnnotationRouteDeps {
  pool: Pool;
  maxRangeDays: number;
}

const AnnotationSchema = z.object({
  kind: z.enum(ANNOTATION_KINDS),
  time: z.number().meta({ description: 'Start, Unix ms.' }),
  timeEnd: z.number().meta({ description: 'End, Unix ms (a region).' }),
  host: z.string().optional().meta({ description: 'The host of a gap.' }),
  title: z.string(),
  text: z.string(),
  tags: z.array(z.string()),
});

export function annotationRoutes(deps: AnnotationRouteDeps): RouteDef[] {
  const { pool, maxRangeDays } = deps;
  return [
    route({
      method: 'get',
      path: '/api/v1/annotations',
      tag: 'metrics',
      summary: 'Retention runs and gaps in hosts\' history over a range, for Grafana annotations.',
      description:
        'A gap is a stretch longer than minGapSeconds with no snapshot of a host (default: 3 x the host\'s usual interval, at least 30 s); ' +
        'one still going ends at min(to, now) and is tagged open. Retention runs are not per host. Sorted by time.',
      access: 'user',
      query: z.strictObject({
        from: QueryTime,
        to: QueryTime,
        host: repeatable(HostName, 1000).optional().meta({ description: 'Gaps of these hosts only (repeatable; default every host).' }),
        kind: repeatable(z.enum(ANNOTATION_KINDS), 2).optional().meta({ description: 'retention, gap (repeatable; default both).' }),
        minGapSeconds: z
          .string()
          .regex(/^[0-9]{1,7}$/, 'must be a whole number of seconds from 1 to 2592000')
          .transform(Number)
          .pipe(z.number().min(1, 'must be at least 1').max(2_592_000, 'must be at most 2592000 (30 days)'))
          .optional(),
      }),
      response: z.object({ annotations: z.array(AnnotationSchema) }),
      errors: { 400: 'INVALID_ARGUMENT (from not before to), RANGE_TOO_LONG' },
      handler: async ({ query }) => {
        checkRange(query.from, query.to, maxRangeDays);
        const kinds = new Set(query.kind ?? ANNOTATION_KINDS);
        const out: Annotation[] = [];
        try {
          if (kinds.has('retention')) out.push(...(await retentionAnnotations(pool, query.from, query.to)));
          if (kinds.has('gap')) {
            out.push(
              ...(await gapAnnotations(pool, {
                hosts: query.host ?? 'all',
                from: query.from,
                to: query.to,
                ...(query.minGapSeconds !== undefined ? { minGapMs: query.minGapSeconds * 1000 } : {}),
              })),
            );
          }
        } catch (err) {
          throw clientError(err);
        }
        out.sort((a, b) => a.time - b.time || (a.host ?? '').localeCompare(b.host ?? ''));
        return { annotations: out };
      },
    }),
  ];
}
