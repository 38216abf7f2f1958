/**
 * Snapshot -> metric families. The names, types, help texts and the order are the store's
 * metric catalog (store/src/catalog.ts), the same one the api's queries use, so /metrics and
 * history can never disagree about what a metric is called. Pure and deterministic: the golden
 * files pin the output. docs/metrics.md lists the names.
 */
import { forEachSample } from '@perfwatch/store/catalog';
import type { Snapshot } from '@perfwatch/store/snapshot';

export type Labels = Record<string, string>;
export interface Sample {
  labels: Labels;
  value: number;
}
export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values: Sample[];
}

/** The families of one Snapshot, in collector order; a family's samples in snapshot order. */
export function snapshotFamilies(s: Snapshot): Family[] {
  const list: Family[] = [];
  const byName = new Map<string, Family>();
  forEachSample(s, (metric, labels, value) => {
    // a Snapshot holds numbers; the catalog's Slots only stand in for values of stored shapes
    if (typeof value !== 'number') return;
    let f = byName.get(metric.name);
    if (!f) {
      f = { name: metric.name, help: metric.help, type: metric.type, values: [] };
      byName.set(metric.name, f);
      list.push(f);
    }
    f.values.push({ labels, value });
  });
  return list;
}
