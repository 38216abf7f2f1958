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

/**
 * Families in the Prometheus text format 0.0.4 (blank line between families) or OpenMetrics 1.0
 * (counter families named without `_total`, samples with it; no blank lines; no `# EOF`, which
 * the caller appends after the registry's own metrics).
 */
export function writeFamilies(families: readonly Family[], openMetrics: boolean): string {
  const parts: string[] = [];
  for (const f of families) {
    const family = openMetrics && f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
    const sample = openMetrics && f.type === 'counter' ? `${family}_total` : f.name;
    let text = `# HELP ${family} ${escapeHelp(f.help)}\n# TYPE ${family} ${f.type}`;
    for (const v of f.values) text += `\n${sample}${formatLabels(v.labels)} ${formatValue(v.value)}`;
    parts.push(text);
  }
  return parts.join(openMetrics ? '\n' : '\n\n');
}
