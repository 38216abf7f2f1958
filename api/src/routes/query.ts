/**
 * POST /api/v1/query: several targets over one time range, each a catalog or derived metric with
 * a host filter, label matchers, an optional aggregation and (counters) a per-second rate, answered
 * as series of timestamps and values that map 1:1 to Grafana data frames.
 *
 * Each target is a PromQL expression (query/targets.ts) answered by the PromQL evaluator as a range
 * query over the request's grid: one evaluator for this API and /prometheus. The step is
 * max(intervalMs, ceil((to - from) / maxDataPoints)) rounded up to a whole second (a whole minute
 * past a minute, a whole hour past an hour, so that windows fall on rollup buckets), and grown a
 * little more when the grid (points at whole multiples of the step) would otherwise hold
 * maxDataPoints + 1 points. Every target is checked (metric, labels) before any is run, so a bad
 * one costs no database work.
 */
import { compileMatchers, labelsKey, type Pool } from '@perfwatch/store';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { describeMetric, type CatalogEntry } from '../query/catalog.js';
import { BodyTime, checkRange, clientError, HostName, LABEL_RE } from '../query/params.js';
import type { QueryEngine } from '../promql/engine.js';
import { PromError } from '../promql/errors.js';
import { QUERY_TIMEOUT_MS } from '../promql/router.js';
import { roundStep, targetExpr } from '../query/targets.js';
import { route, type RouteDef } from '../route.js';

export interface QueryRouteDeps {
  pool: Pool;
  /** where the targets' expressions are evaluated (promql/engine.ts). */
  engine: QueryEngine;
  maxRangeDays: number;
}

/** Prometheus's bound on points per series, and store's (MAX_POINTS). */
export const MAX_DATA_POINTS = 11_000;
export const DEFAULT_MAX_DATA_POINTS = 1000;
export const MAX_TARGETS = 20;

const Label = z.string().regex(LABEL_RE, 'must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)').max(100);

const MatcherSchema = z.strictObject({
  label: Label,
  op: z.enum(['=', '!=', '=~', '!~']).meta({ description: '=~ and !~ take an RE2 regular expression (Go and Prometheus syntax, linear-time engine), anchored at both ends (a full match, as in PromQL).' }),
  value: z.string().max(4096, 'must be at most 4096 characters'),
});

// Targets are Grafana's query model: fields the api does not use (legendFormat, hide, datasource,
// key, ...) are ignored rather than refused, so the plugin can pass a target as it is stored.
const TargetSchema = z.object({
  refId: z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  metric: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').meta({ description: 'A name of GET /api/v1/metrics.' }),
  hosts: z.array(HostName).max(1000, 'at most 1000 hosts').optional().meta({ description: 'Host names; absent or empty: every host.' }),
  matchers: z.array(MatcherSchema).max(64, 'at most 64 matchers').optional(),
  aggregation: z
    .strictObject({
      op: z.enum(['sum', 'avg', 'min', 'max']),
      by: z.array(Label).max(32, 'at most 32 labels').meta({ description: 'Labels to keep (host among them if wanted); [] aggregates everything into one series.' }),
    })
    .optional(),
  rate: z.boolean().optional().meta({ description: 'Counters: per-second rate (default true; counter resets handled) or false for the raw counter value. Gauges and derived metrics: only false or absent.' }),
});

const QueryBody = z.strictObject({
  from: BodyTime,
  to: BodyTime,
  maxDataPoints: z.number().int('must be a whole number').min(1, 'must be at least 1').max(MAX_DATA_POINTS, `must be at most ${MAX_DATA_POINTS}`).optional().meta({ description: `Most points per series, 1..${MAX_DATA_POINTS} (${DEFAULT_MAX_DATA_POINTS}).` }),
  intervalMs: z.number().int('must be a whole number').min(1, 'must be at least 1').max(366 * 86_400_000, 'must be at most a year').optional().meta({ description: 'The smallest step wanted (Grafana\'s $__interval_ms).' }),
  targets: z.array(TargetSchema).min(1, 'give at least one target').max(MAX_TARGETS, `at most ${MAX_TARGETS} targets`),
});

const ResultSchema = z.object({
  refId: z.string(),
  metric: z.string(),
  type: z.enum(['counter', 'gauge']),
  unit: z.enum(['seconds', 'bytes', 'ratio', '']).meta({ description: 'The catalog unit; with rate: true, per second of it.' }),
  rate: z.boolean(),
  tier: z.enum(['raw', '1m', '1h']).meta({ description: 'The coarsest storage tier that served it (raw snapshots, 1-minute or 1-hour rollups).' }),
  expr: z.string().meta({ description: 'The PromQL expression this target ran (the same answer from /prometheus/api/v1/query_range over the same grid).' }),
  stepMs: z.number().int(),
  series: z.array(
    z.object({
      labels: z.record(z.string(), z.string()),
      timestamps: z.array(z.number()).meta({ description: 'Unix ms, whole multiples of the step, ascending; a point is the evaluation at that time (a window ending there).' }),
      values: z.array(z.number().nullable()).meta({ description: 'null marks a step without data after a point (a break in the line).' }),
    }),
  ),
});

/** Points of the grid store builds for a step: k * step from floor(from / step) * step, until to. */
function gridPoints(from: number, to: number, step: number): number {
  return Math.ceil((to - Math.floor(from / step) * step) / step);
}

/** The step of a query (see the top of this file). */
export function chooseStep(from: number, to: number, maxDataPoints: number, intervalMs = 1): number {
  let step = roundStep(Math.max(intervalMs, Math.ceil((to - from) / maxDataPoints)));
  // Aligning the grid to the step can add one point at the start; grow the step until it fits
  // (geometrically, so maxDataPoints 1 or 2 over a long range ends within a few hundred tries).
  for (let i = 0; i < 10_000 && gridPoints(from, to, step) > maxDataPoints; i++) step = roundStep(Math.max(step + 1000, step * 1.01));
  return step;
}

type Target = z.output<typeof TargetSchema>;

interface Checked {
  target: Target;
  metric: CatalogEntry;
  rate: boolean;
}

/** The target's metric, labels and rate, or a 400 naming its refId. */
function checkTarget(t: Target): Checked {
  const where = `target ${JSON.stringify(t.refId)}`;
  const metric = describeMetric(t.metric);
  if (!metric) throw new ApiError(400, 'UNKNOWN_METRIC', `${where}: no metric named "${t.metric}" (GET /api/v1/metrics lists them)`);
  const labels = new Set(['host', ...metric.labels]);
  const used = [...(t.matchers ?? []).map((m) => m.label), ...(t.aggregation?.by ?? [])];
  const unknown = used.find((l) => !labels.has(l));
  if (unknown !== undefined) throw new ApiError(400, 'UNKNOWN_LABEL', `${where}: ${metric.name} has no label "${unknown}"; its labels: ${[...labels].join(', ')}`);
  try {
    compileMatchers(t.matchers);
  } catch (err) {
    throw clientError(err, { prefix: `${where}: ` });
  }
  if (t.rate === true && metric.type !== 'counter') {
    throw new ApiError(400, 'INVALID_ARGUMENT', `${where}: ${metric.name} is ${metric.derived ? 'a derived metric' : 'a gauge'}: rate applies to counters only`);
  }
  return { target: t, metric, rate: metric.type === 'counter' && t.rate !== false };
}

/** The coarsest tier the evaluation read (raw when it read nothing). */
function coarsest(tiers: Set<'raw' | '1m' | '1h'>): 'raw' | '1m' | '1h' {
  return tiers.has('1h') ? '1h' : tiers.has('1m') ? '1m' : 'raw';
}

/** The evaluator's refusals in this API's terms, naming the target. */
function evalError(err: unknown, refId: string): unknown {
  if (!(err instanceof PromError)) return err;
  const where = `target ${JSON.stringify(refId)}: `;
  if (err.type === 'timeout') return new ApiError(503, 'QUERY_TIMEOUT', `${where}the query ran longer than ${QUERY_TIMEOUT_MS / 1000} s: narrow it down (fewer hosts, a shorter range or a larger step)`, { cause: err });
  if (err.type === 'execution') return new ApiError(422, 'QUERY_TOO_LARGE', `${where}${err.message}: narrow it down (fewer hosts or series, a shorter range or a larger step)`, { cause: err });
  if (err.type === 'bad_data') return new ApiError(400, 'INVALID_ARGUMENT', `${where}${err.message}`, { cause: err });
  return err;
}

/** Points as a Grafana-shaped series: a null after a point whose next one is more than a step away. */
function toFrame(points: [number, number][], step: number): { timestamps: number[]; values: (number | null)[] } {
  const timestamps: number[] = [];
  const values: (number | null)[] = [];
  let prev: number | undefined;
  for (const [t, v] of points) {
    if (prev !== undefined && t - prev > step) {
      timestamps.push(prev + step);
      values.push(null);
    }
    timestamps.push(t);
    values.push(v);
    prev = t;
  }
  return { timestamps, values };
}

export function queryRoutes(deps: QueryRouteDeps): RouteDef[] {
  const { engine, maxRangeDays } = deps;
  return [
    route({
      method: 'post',
      path: '/api/v1/query',
      tag: 'metrics',
      summary: 'Series of one or more targets over a time range (what Grafana panels ask for).',
      description:
        'Each target runs as a PromQL expression (given back as expr) through the same evaluator as /prometheus. The step is ' +
        'max(intervalMs, ceil((to - from) / maxDataPoints)) rounded up to a whole second (whole minutes past a minute, whole hours past ' +
        'an hour; a little more when needed so that no series has more than maxDataPoints points); the response says which tier served ' +
        'each target. Errors name the target: ' +
        '400 UNKNOWN_METRIC, UNKNOWN_LABEL, INVALID_REGEX, INVALID_ARGUMENT (from not before to, rate on a gauge), RANGE_TOO_LONG ' +
        '(over PERFWATCH_API_MAX_RANGE_DAYS), VALIDATION_FAILED; 422 QUERY_TOO_LARGE; 503 QUERY_TIMEOUT.',
      access: 'user',
      body: QueryBody,
      response: z.object({ results: z.array(ResultSchema) }),
      errors: {
        400: 'UNKNOWN_METRIC, UNKNOWN_LABEL, INVALID_REGEX, INVALID_ARGUMENT, RANGE_TOO_LONG (the message names the target)',
        422: 'QUERY_TOO_LARGE: the target would hold more samples than a query may (as Prometheus\'s --query.max-samples)',
        503: 'QUERY_TIMEOUT: the evaluation passed its deadline (2 min, as Prometheus\'s --query.timeout)',
      },
      handler: async ({ body }) => {
        const refIds = new Set<string>();
        for (const t of body.targets) {
          if (refIds.has(t.refId)) throw new ApiError(400, 'INVALID_ARGUMENT', `target ${JSON.stringify(t.refId)}: refId appears twice; each target needs its own`);
          refIds.add(t.refId);
        }
        checkRange(body.from, body.to, maxRangeDays);
        const checked = body.targets.map(checkTarget);
        const stepMs = chooseStep(body.from, body.to, body.maxDataPoints ?? DEFAULT_MAX_DATA_POINTS, body.intervalMs);
        const grid = Math.floor(body.from / stepMs) * stepMs;
        const last = grid + (gridPoints(body.from, body.to, stepMs) - 1) * stepMs;
        const deadline = Date.now() + QUERY_TIMEOUT_MS;
        const results = await Promise.all(
          checked.map(async ({ target: t, metric, rate }) => {
            const expr = targetExpr({ metric, hosts: t.hosts, matchers: t.matchers, aggregation: t.aggregation, rate }, stepMs, body.intervalMs);
            let r;
            try {
              r = await engine.evaluate(expr, { start: grid, end: last, step: stepMs, deadline });
            } catch (err) {
              throw clientError(evalError(err, t.refId), { prefix: `target ${JSON.stringify(t.refId)}: ` });
            }
            const series: { labels: Record<string, string>; points: [number, number][] }[] = [];
            if (r.value.type === 'vector') {
              for (const s of r.value.series) {
                const points: [number, number][] = [];
                for (let k = 0; k < r.times.length; k++) if (s.ok[k] && Number.isFinite(s.v[k]!)) points.push([r.times[k]!, s.v[k]!]);
                if (!points.length) continue;
                const { __name__: _name, ...labels } = s.labels;
                series.push({ labels, points });
              }
            }
            const keys = new Map(series.map((s) => [s, labelsKey(s.labels)]));
            series.sort((a, b) => (keys.get(a)! < keys.get(b)! ? -1 : keys.get(a)! > keys.get(b)! ? 1 : 0));
            return {
              refId: t.refId,
              metric: metric.name,
              type: metric.type,
              unit: metric.unit,
              rate,
              tier: coarsest(r.tiers),
              expr,
              stepMs,
              series: series.map((s) => ({ labels: s.labels, ...toFrame(s.points, stepMs) })),
            };
          }),
        );
        return { results };
      },
    }),
  ];
}
