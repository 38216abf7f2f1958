/**
 * Text exposition of Snapshot families, byte-for-byte what prom-client's Registry prints for the
 * same families (exporter/test/exposition.test.ts holds the two against each other), at a
 * fraction of the garbage: prom-client builds about 2.4 KB of intermediate strings per sample,
 * which at 500-2,500 samples per scrape was what pushed the exporter's RSS past 80 MB.
 * The process metrics still come from prom-client's registry (metrics.ts).
 */
import type { Family, Labels } from './families.js';

function escapeHelp(s: string): string {
  return s.includes('\\') || s.includes('\n') ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : s;
}

function escapeLabel(s: string): string {
  return /[\\\n"]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : s;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return `${v}`;
}

// Label sets repeat across families (the same {cpu, mode} in every scrape): format each once.
const labelCache = new WeakMap<Labels, string>();
function formatLabels(labels: Labels): string {
  let s = labelCache.get(labels);
  if (s === undefined) {
    s = '';
    for (const k in labels) s += `${s ? ',' : ''}${k}="${escapeLabel(labels[k]!)}"`;
    s = s ? `{${s}}` : '';
    labelCache.set(labels, s);
  }
  return s;
}

/** One family: `# HELP`, `# TYPE` and its samples (OpenMetrics: a counter family named without `_total`, its samples with it). */
export function writeFamily(f: Family, openMetrics: boolean): string {
  const family = openMetrics && f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
  const sample = openMetrics && f.type === 'counter' ? `${family}_total` : f.name;
  let text = helpAndType(family, f.help, f.type);
  for (const v of f.values) text += `\n${sample}${formatLabels(v.labels)} ${formatValue(v.value)}`;
  return text;
}

/** A family's `# HELP` and `# TYPE` lines (without a final newline). */
export function helpAndType(family: string, help: string, type: string): string {
  return `# HELP ${family} ${escapeHelp(help)}\n# TYPE ${family} ${type}`;
}

/**
 * Families in the Prometheus text format 0.0.4 (blank line between families) or OpenMetrics 1.0
 * (no blank lines; no `# EOF`, which the caller appends after the exporter's other families).
 */
export function writeFamilies(families: readonly Family[], openMetrics: boolean): string {
  return families.map((f) => writeFamily(f, openMetrics)).join(openMetrics ? '\n' : '\n\n');
}
