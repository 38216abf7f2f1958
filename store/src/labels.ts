/**
 * What the query paths share below the evaluator: the JSON API's label matchers compiled
 * (=, !=, =~, !~; regexes anchored, RE2's syntax and engine, regex.ts; one that does not compile
 * is INVALID_REGEX) and the values of a label of a metric. Series values are read by samples.ts
 * (raw samples, rollup buckets) and computed by the api's PromQL evaluator, which answers both
 * /prometheus and the JSON API's POST /api/v1/query (api/src/query/targets.ts).
 * Values reach SQL only as parameters.
 */
import type pg from 'pg';
import { derivedMetric, metricInfo, type Expr, type Matcher } from './catalog.js';
import { StoreError, wrapPgError } from './errors.js';
import { makeMatcher, type LabelMatcher } from './regex.js';
import { hostIdsByName, loadShapes } from './snapshots.js';

const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function bad(message: string): StoreError {
  return new StoreError('INVALID_ARGUMENT', message);
}

export function compileMatchers(matchers: readonly Matcher[] | undefined): LabelMatcher[] {
  if (matchers === undefined) return [];
  if (!Array.isArray(matchers) || matchers.length > 64) throw bad('matchers must be an array of at most 64 matchers');
  return matchers.map((m, i) => {
    if (typeof m !== 'object' || m === null) throw bad(`matcher ${i} must be an object`);
    if (typeof m.label !== 'string' || !LABEL_RE.test(m.label)) throw bad(`matcher ${i}: label must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)`);
    if (typeof m.value !== 'string' || m.value.length > 4096) throw bad(`matcher ${i}: value must be a string of at most 4096 characters`);
    if (m.op !== '=' && m.op !== '!=' && m.op !== '=~' && m.op !== '!~') throw bad(`matcher ${i}: op must be one of =, !=, =~, !~`);
    try {
      return makeMatcher(m.label, m.op, m.value);
    } catch (err) {
      throw new StoreError('INVALID_REGEX', `matcher ${i}: ${m.label}${m.op}"${m.value}" is not a valid regular expression (RE2 syntax): ${(err as Error).message}`);
    }
  });
}

function checkHosts(hosts: unknown): readonly string[] | 'all' {
  if (hosts === 'all') return hosts;
  if (!Array.isArray(hosts) || hosts.length > 10_000 || hosts.some((h) => typeof h !== 'string')) throw bad("hosts must be 'all' or an array of host names");
  return hosts as string[];
}

/**
 * Values of one label of a metric (host included), over the series rolled up so far and the
 * current shape of each host (so a new disk shows up at once). Sorted.
 */
export async function labelValues(pool: pg.Pool, metric: string, label: string, hosts?: readonly string[]): Promise<string[]> {
  if (typeof metric !== 'string' || metric.length > 200) throw bad('metric must be a metric name');
  if (typeof label !== 'string' || !LABEL_RE.test(label)) throw bad('label must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)');
  const derived = derivedMetric(metric);
  if (!derived && !metricInfo(metric)) throw new StoreError('UNKNOWN_METRIC', `no metric named "${metric}" in the catalog`);
  const leaf = (e: Expr | number): string | undefined => (typeof e === 'number' ? undefined : 'metric' in e ? e.metric : (leaf(e.left) ?? leaf(e.right)));
  const name = derived ? leaf(derived.expr)! : metric;
  const byName = await hostIdsByName(pool, hosts === undefined ? 'all' : checkHosts(hosts));
  const ids = [...byName.values()];
  const names = new Map([...byName].map(([n, id]) => [id, n]));
  const out = new Set<string>();
  try {
    const r = await pool.query<{ host_id: number; v: string | null }>(
      `SELECT DISTINCT host_id, labels ->> $3 AS v FROM series WHERE host_id = ANY($1::int[]) AND metric = $2`,
      [ids, name, label],
    );
    for (const row of r.rows) {
      const v = label === 'host' ? names.get(row.host_id) : row.v;
      if (v !== null && v !== undefined) out.add(v);
    }
    const latest = await pool.query<{ host_id: number; id: number }>(
      `SELECT DISTINCT ON (host_id) host_id, id FROM snapshot_shapes WHERE host_id = ANY($1::int[]) ORDER BY host_id, id DESC`,
      [ids],
    );
    const shapes = await loadShapes(pool, latest.rows.map((x) => x.id));
    for (const row of latest.rows) {
      for (const e of shapes.get(row.id)!.plan()) {
        if (e.metric.name !== name) continue;
        const v = label === 'host' ? names.get(row.host_id) : e.labels[label];
        if (v !== undefined) out.add(v);
      }
    }
  } catch (err) {
    throw wrapPgError(err, `reading label values of ${metric}`);
  }
  return [...out].sort();
}
