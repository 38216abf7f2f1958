/**
 * Template variables in every string field of a query, through Grafana's TemplateSrv (multi-value
 * and "All" included):
 * - hosts: each entry may expand to several host names ($host with several values); "All" without
 *   a custom all value gives every value of the variable; "$__all", "*", ".*" or nothing: every host.
 * - matcher values: for =~ / !~ the values of a multi-value or All variable are regex-escaped and
 *   joined as (a|b); a single-value variable goes in as it is (it may hold a regex on purpose).
 *   = / != with several values become =~ / !~ over the escaped values.
 * - metric, labels, group-by labels and legendFormat: plain replacement (multi values joined by ",",
 *   group-by labels split into one label each).
 */
import { ScopedVars } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { Aggregation, ApiQueryTarget, LabelMatcher, PerfWatchQuery } from './types';

/** Joins multi values for splitting afterwards: a character no host or label name has. */
const SEP = '\u001f';
/** Host entries that mean every host (the API's default when no host is named). */
export const ALL_HOSTS = new Set(['$__all', '*', '.*', '']);

interface FormatterVariable {
  multi?: boolean;
  includeAll?: boolean;
}

type Formatter = (value: unknown, variable?: FormatterVariable) => string;

/** Escapes every regex metacharacter (JavaScript syntax, which the API uses). */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Multi values joined by sep; a single value as it is. */
export const joinValues =
  (sep: string): Formatter =>
  (value) =>
    Array.isArray(value) ? value.map(String).join(sep) : String(value ?? '');

const listFormat = joinValues(SEP);
const csvFormat = joinValues(',');

const regexFormat: Formatter = (value, variable) => {
  if (Array.isArray(value)) {
    const parts = value.map((v) => escapeRegex(String(v)));
    return parts.length === 1 ? parts[0]! : `(${parts.join('|')})`;
  }
  const s = String(value ?? '');
  return variable?.multi || variable?.includeAll ? escapeRegex(s) : s;
};

function replace(text: string, scopedVars: ScopedVars | undefined, format: Formatter): string {
  return getTemplateSrv().replace(text, scopedVars, format);
}

/** Each entry with its variables replaced and multi values split: the trimmed names, in order. */
function expandEach(entries: readonly string[], scopedVars?: ScopedVars): string[] {
  return entries.flatMap((e) =>
    replace(e, scopedVars, listFormat)
      .split(SEP)
      .map((name) => name.trim())
  );
}

/** Each entry expanded to its values; [] means every host. */
export function interpolateHosts(hosts: readonly string[] | undefined, scopedVars?: ScopedVars): string[] {
  const names = expandEach(hosts ?? [], scopedVars);
  return names.some((name) => ALL_HOSTS.has(name)) ? [] : [...new Set(names)];
}

/** A label list (group-by) with each entry expanded to its values. */
export function interpolateLabels(labels: readonly string[], scopedVars?: ScopedVars): string[] {
  return [...new Set(expandEach(labels, scopedVars).filter((name) => name !== ''))];
}

export function interpolateMatcher(m: LabelMatcher, scopedVars?: ScopedVars): LabelMatcher {
  const label = replace(m.label, scopedVars, csvFormat).trim();
  if (m.op === '=~' || m.op === '!~') {
    return { label, op: m.op, value: replace(m.value, scopedVars, regexFormat) };
  }
  // = / != with a multi-value variable: compare against each value (a regex over escaped values).
  const listed = replace(m.value, scopedVars, listFormat).split(SEP);
  if (listed.length > 1) {
    return { label, op: m.op === '=' ? '=~' : '!~', value: `(${listed.map(escapeRegex).join('|')})` };
  }
  return { label, op: m.op, value: listed[0] ?? '' };
}

export function interpolateText(text: string | undefined, scopedVars?: ScopedVars): string {
  return text ? replace(text, scopedVars, csvFormat) : '';
}

/** The query with every variable replaced (what the editor shows as the query inspector's target). */
export function interpolateQuery(q: PerfWatchQuery, scopedVars?: ScopedVars): PerfWatchQuery {
  const aggregation: Aggregation | undefined = q.aggregation
    ? { op: q.aggregation.op, by: interpolateLabels(q.aggregation.by ?? [], scopedVars) }
    : undefined;
  return {
    ...q,
    metric: interpolateText(q.metric, scopedVars).trim(),
    hosts: interpolateHosts(q.hosts, scopedVars),
    matchers: (q.matchers ?? []).filter((m) => m.label).map((m) => interpolateMatcher(m, scopedVars)),
    ...(aggregation ? { aggregation } : {}),
    ...(q.legendFormat !== undefined ? { legendFormat: interpolateText(q.legendFormat, scopedVars) } : {}),
  };
}

/** An interpolated query as POST /api/v1/query takes it (fields the API does not know left out). */
export function toApiTarget(q: PerfWatchQuery): ApiQueryTarget {
  return {
    refId: q.refId,
    metric: q.metric,
    ...(q.hosts.length ? { hosts: q.hosts } : {}),
    ...(q.matchers.length ? { matchers: q.matchers } : {}),
    ...(q.aggregation ? { aggregation: q.aggregation } : {}),
    // true is the API's default for counters; sent only as false (a gauge refuses rate: true).
    ...(q.rate === false ? { rate: false } : {}),
  };
}
