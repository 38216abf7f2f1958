/**
 * /api/v1/hosts, /api/v1/metrics and /api/v1/metrics/{name}/labels/{label}/values: what a
 * Grafana query editor offers (hosts, the metric catalog, the values of a label).
 */
import { labelValues, listHosts, type Pool } from '@perfwatch/store';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { describeMetric, listCatalog } from '../query/catalog.js';
import { checkRange, clientError, HostName, LABEL_RE, QueryTime, repeatable } from '../query/params.js';
import { route, type RouteDef } from '../route.js';
import { Timestamp } from '../schemas.js';

export interface MetricsRouteDeps {
  pool: Pool;
}

const HostSchema = z.object({
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  firstSeen: Timestamp.nullable(),
  lastSeen: Timestamp.nullable(),
});

const MetricSchema = z.object({
  name: z.string(),
  type: z.enum(['counter', 'gauge']),
  unit: z.enum(['seconds', 'bytes', 'ratio', '']).meta({ description: "Base unit; '' for a count or a plain number. A counter queried with rate is per second of it." }),
  help: z.string(),
  labels: z.array(z.string()).meta({ description: 'Label names of the metric; host is implicit on every series and not listed.' }),
  derived: z.boolean().meta({ description: 'Computed from other metrics at query time (utilisation, IPC, miss ratios).' }),
});

export function metricsRoutes(deps: MetricsRouteDeps): RouteDef[] {
  const { pool } = deps;
  return [
    route({
      method: 'get',
      path: '/api/v1/hosts',
      tag: 'metrics',
      summary: 'Hosts that have written history, with when they were first and last seen.',
      access: 'user',
      response: z.object({ hosts: z.array(HostSchema) }),
      handler: async () => ({
        hosts: (await listHosts(pool)).map((h) => ({ name: h.name, labels: h.labels ?? {}, firstSeen: h.firstSeen, lastSeen: h.lastSeen })),
      }),
    }),
    route({
      method: 'get',
      path: '/api/v1/metrics',
      tag: 'metrics',
      operationId: 'getMetricCatalog',
      summary: 'The metric catalog: fixed, derived, and the generated families stored snapshots have; sorted by name.',
      access: 'user',
      response: z.object({ metrics: z.array(MetricSchema) }),
      handler: async () => ({ metrics: await listCatalog(pool) }),
    }),
    route({
      method: 'get',
      path: '/api/v1/metrics/:name/labels/:label/values',
      tag: 'metrics',
      summary: 'Values of one label of a metric (host: the host names), sorted.',
      description:
        'Over the series rolled up so far and each host\'s newest snapshot shape. host= (repeatable) limits it to those hosts; ' +
        'from/to to the hosts seen in that range (values are not filtered by time otherwise). ' +
        '404 UNKNOWN_METRIC for a name no snapshot can have; 400 UNKNOWN_LABEL for a label the metric does not have.',
      access: 'user',
      params: z.strictObject({
        name: z.string().max(200, 'must be at most 200 characters').meta({ description: 'A metric name of GET /api/v1/metrics.' }),
        label: z.string().regex(LABEL_RE, 'must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)').max(100).meta({ description: 'One of the metric\'s labels, or host.' }),
      }),
      query: z.strictObject({
        host: repeatable(HostName, 1000).optional().meta({ description: 'Only these hosts (repeatable).' }),
        from: QueryTime.optional(),
        to: QueryTime.optional(),
      }),
      response: z.object({ values: z.array(z.string()) }),
      errors: { 400: 'UNKNOWN_LABEL, INVALID_ARGUMENT (from after to)', 404: 'UNKNOWN_METRIC: no such metric' },
      handler: async ({ params, query }) => {
        const metric = describeMetric(params.name);
        if (!metric) throw new ApiError(404, 'UNKNOWN_METRIC', `no metric named "${params.name.slice(0, 200)}" (GET /api/v1/metrics lists them)`);
        if (params.label !== 'host' && !metric.labels.includes(params.label)) {
          throw new ApiError(400, 'UNKNOWN_LABEL', `${metric.name} has no label "${params.label}"; its labels: ${['host', ...metric.labels].join(', ')}`);
        }
        let hosts: string[] | undefined = query.host;
        if (query.from !== undefined || query.to !== undefined) {
          const to = query.to ?? Date.now();
          const from = query.from ?? 0;
          if (from >= to) checkRange(from, to, Number.MAX_SAFE_INTEGER);
          // Hosts seen in the range: first snapshot before its end, last one after its start.
          const seen = (await listHosts(pool)).filter((h) => h.firstSeen !== null && h.lastSeen !== null && h.firstSeen.getTime() < to && h.lastSeen.getTime() >= from).map((h) => h.name);
          hosts = hosts ? hosts.filter((h) => seen.includes(h)) : seen;
        }
        try {
          return { values: await labelValues(pool, metric.name, params.label, hosts) };
        } catch (err) {
          throw clientError(err, { unknownMetricStatus: 404 });
        }
      },
    }),
  ];
}
