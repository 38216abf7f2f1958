/**
 * The metric catalog as the api serves it: store's fixed families and derived metrics, plus the
 * generated families (memory, vmstat, netstat, sockstat, perf events) that stored snapshots
 * actually have: those of each host's newest snapshot shape and those rolled up in `series`
 * (older shapes). Lookups by name for the label-values and query routes.
 */
import { DERIVED_METRICS, derivedMetric, FIXED_METRICS, loadShapes, metricInfo, type MetricInfo, type Pool } from '@perfwatch/store';
import { rows } from '../db/sql.js';

export interface CatalogEntry {
  name: string;
  type: 'counter' | 'gauge';
  unit: MetricInfo['unit'];
  help: string;
  /** the metric's own labels; `host` is implicit on every series. */
  labels: string[];
  derived: boolean;
}

function entry(m: { name: string; type: 'counter' | 'gauge'; unit: MetricInfo['unit']; help: string; labels: readonly string[] }, derived: boolean): CatalogEntry {
  return { name: m.name, type: m.type, unit: m.unit, help: m.help, labels: [...m.labels], derived };
}

/** Every metric a query can ask for, sorted by name. */
export async function listCatalog(pool: Pool): Promise<CatalogEntry[]> {
  const byName = new Map<string, CatalogEntry>();
  for (const m of FIXED_METRICS) byName.set(m.name, entry(m, false));
  for (const d of DERIVED_METRICS) byName.set(d.name, entry(d, true));
  // Each host's newest shape: what it reports now (a new perf event shows up at once).
  const latest = await rows<{ id: number }>(pool, 'reading snapshot shapes', 'SELECT DISTINCT ON (host_id) id FROM snapshot_shapes ORDER BY host_id, id DESC');
  const shapes = await loadShapes(pool, latest.map((r) => r.id));
  for (const s of shapes.values()) for (const e of s.plan()) if (!byName.has(e.metric.name)) byName.set(e.metric.name, entry(e.metric, false));
  // Metrics rolled up from older shapes (a perf event since removed still has history).
  const rolled = await rows<{ metric: string }>(pool, 'reading the metrics of the rollups', 'SELECT DISTINCT metric FROM series');
  for (const { metric } of rolled) {
    if (byName.has(metric)) continue;
    const info = metricInfo(metric);
    if (info) byName.set(metric, entry(info, false));
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What a metric name is: type, unit, labels; undefined when no snapshot can have it. */
export function describeMetric(name: string): CatalogEntry | undefined {
  const d = derivedMetric(name);
  if (d) return entry(d, true);
  const m = metricInfo(name);
  return m ? entry(m, false) : undefined;
}
