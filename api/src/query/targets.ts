/**
 * The JSON API's targets as PromQL: every target of `POST /api/v1/query` becomes one PromQL
 * expression that the PromQL evaluator (promql/eval.ts) answers as a range query over the request's
 * grid, so the JSON API and `/prometheus` share one evaluator and cannot drift. The expression is
 * in the answer (`expr`), so a user can paste it into Grafana's Prometheus datasource or into
 * Prometheus itself and get the same numbers.
 *
 * How a target reads (docs/api.md, "Query"), with `s` the step:
 * - a counter with `rate` (the default): `rate(m{...}[r])`, r = max(s, 4 x intervalMs, 1m)
 *   rounded up as steps are: like Grafana's `$__rate_interval`, four of the smallest interval the
 *   panel asks for (Grafana's "Min interval", which should be the hosts' collection interval), at
 *   least four of Grafana's default scrape interval of 15 s, and the step beyond that so that the
 *   windows cover the whole range;
 * - a counter with `rate: false`: `m{...}`, the counter's value (lookback and staleness as in
 *   Prometheus);
 * - a gauge: `avg_over_time(m{...}[s])` when the step is a minute or more (each point the mean of
 *   its step, which a rollup tier can serve), `m{...}` for shorter steps;
 * - a derived metric: its catalog expression (store/src/catalog.ts) in the same terms, each part
 *   summed by its labels and `host`, so hosts are never added together;
 * - `hosts` as `host=~"a|b"` (names quoted for RE2), matchers as PromQL matchers (on a derived
 *   metric, on each of its parts: its labels are kept by every part), `aggregation` as
 *   `op by (labels) (...)`.
 * Steps of a minute or more are whole minutes, of an hour or more whole hours (chooseStep), so
 * that windows and steps fall on rollup buckets.
 */
import { derivedMetric, type DerivedMetric, type Matcher } from '@perfwatch/store';
import type { CatalogEntry } from './catalog.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
/** The shortest window of a rate: 4 x Grafana's default scrape interval of 15 s. */
export const MIN_RATE_WINDOW_MS = MINUTE;

/** A step or window rounded up to its unit: whole seconds, whole minutes past a minute, whole hours past an hour. */
export function roundStep(ms: number): number {
  const unit = ms > HOUR ? HOUR : ms > MINUTE ? MINUTE : 1000;
  return Math.ceil(ms / unit) * unit;
}

/** The window of a rate at a step (see the top of this file). */
export function rateWindow(stepMs: number, intervalMs = 0): number {
  return roundStep(Math.max(stepMs, 4 * intervalMs, MIN_RATE_WINDOW_MS));
}

export interface TargetSpec {
  metric: CatalogEntry;
  /** host names; empty or absent: every host. */
  hosts?: readonly string[] | undefined;
  matchers?: readonly Matcher[] | undefined;
  aggregation?: { op: 'sum' | 'avg' | 'min' | 'max'; by: readonly string[] } | undefined;
  /** counters: per-second rate (true) or the counter's value. */
  rate: boolean;
}

/** A duration in PromQL's syntax: 2h, 5m, 30s or 1500ms. */
export function promDuration(ms: number): string {
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms % MINUTE === 0) return `${ms / MINUTE}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** RE2's QuoteMeta: every character that is not a letter, digit or underscore escaped. */
export function quoteMeta(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, (c) => (c.charCodeAt(0) < 0x80 ? `\\${c}` : c));
}

/** A PromQL string literal (JSON's escapes are Go's too). */
function str(s: string): string {
  return JSON.stringify(s);
}

function selector(metric: string, matchers: readonly Matcher[]): string {
  if (!matchers.length) return metric;
  return `${metric}{${matchers.map((m) => `${m.label}${m.op}${str(m.value)}`).join(', ')}}`;
}

function by(labels: readonly string[]): string {
  return `by (${labels.join(', ')})`;
}

/** A catalog metric's series at each step: its rate, its value or (a gauge) its mean over the step. */
function leaf(metric: string, counter: boolean, rate: boolean, matchers: readonly Matcher[], w: Windows): string {
  const sel = selector(metric, matchers);
  if (counter && rate) return `rate(${sel}[${promDuration(w.rate)}])`;
  if (!counter && w.step >= MINUTE) return `avg_over_time(${sel}[${promDuration(w.step)}])`;
  return sel;
}

type DerivedExpr = DerivedMetric['expr'];

interface Windows {
  step: number;
  rate: number;
}

function derived(e: DerivedExpr | number, extra: readonly Matcher[], w: Windows): string {
  if (typeof e === 'number') return String(e);
  if (e.op === 'div' || e.op === 'sub') {
    const side = (x: DerivedExpr | number) => (typeof x !== 'number' && 'left' in x ? `(${derived(x, extra, w)})` : derived(x, extra, w));
    return `${side(e.left)} ${e.op === 'div' ? '/' : '-'} ${side(e.right)}`;
  }
  const part = e as Extract<DerivedExpr, { metric: string }>;
  const keep = part.sumBy.includes('host') ? part.sumBy : [...part.sumBy, 'host'];
  // A part's own matchers first (e.g. mode=~"idle|iowait"), then the target's.
  const inner = leaf(part.metric, part.op === 'rate', true, [...(part.matchers ?? []), ...extra], w);
  return `sum ${by(keep)} (${inner})`;
}

/** The PromQL expression of a target at a step (see the top of this file); intervalMs: the request's. */
export function targetExpr(t: TargetSpec, stepMs: number, intervalMs?: number): string {
  const w: Windows = { step: stepMs, rate: rateWindow(stepMs, intervalMs) };
  const matchers: Matcher[] = [];
  if (t.hosts?.length) {
    matchers.push(t.hosts.length === 1 ? { label: 'host', op: '=', value: t.hosts[0]! } : { label: 'host', op: '=~', value: t.hosts.map(quoteMeta).join('|') });
  }
  matchers.push(...(t.matchers ?? []));
  const d = t.metric.derived ? derivedMetric(t.metric.name) : undefined;
  let expr: string;
  if (d) {
    expr = derived(d.expr, matchers, w);
  } else {
    expr = leaf(t.metric.name, t.metric.type === 'counter', t.rate, matchers, w);
  }
  if (t.aggregation) expr = `${t.aggregation.op} ${by(t.aggregation.by)} (${expr})`;
  return expr;
}
