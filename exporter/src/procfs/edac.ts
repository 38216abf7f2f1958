// /sys/devices/system/edac/mc/mc<N>: memory controllers' error counts (EDAC), with per chip-select
// row counts in csrow<M>/. ce = corrected, ue = uncorrected; *_noinfo_count are errors the driver
// could not place on a row. https://www.kernel.org/doc/html/latest/driver-api/edac.html
import { join } from 'node:path';
import { listDir, parseSysfsInteger, readAttr } from './sysfs.js';

export interface EdacController {
  controller: string;
  ce?: number;
  ue?: number;
  /** csrow -> [ce, ue]; the noinfo counts as csrow "unknown", as node_exporter has them. */
  rows: Record<string, [number | undefined, number | undefined]>;
}

/** Every memory controller; ENOENT without EDAC. */
export function readEdac(sysRoot: string): EdacController[] {
  const base = join(sysRoot, 'devices/system/edac/mc');
  const out: EdacController[] = [];
  for (const entry of listDir(base)) {
    const controller = /^mc(\d+)$/.exec(entry)?.[1];
    if (controller === undefined) continue;
    const dir = join(base, entry);
    const int = (f: string) => readAttr(join(dir, f), parseSysfsInteger);
    const c: EdacController = { controller, rows: {} };
    const ce = int('ce_count');
    const ue = int('ue_count');
    if (ce !== undefined) c.ce = ce;
    if (ue !== undefined) c.ue = ue;
    for (const row of listDir(dir)) {
      const n = /^csrow(\d+)$/.exec(row)?.[1];
      if (n === undefined) continue;
      const rce = int(`${row}/ce_count`);
      const rue = int(`${row}/ue_count`);
      if (rce !== undefined || rue !== undefined) c.rows[n] = [rce, rue];
    }
    const nce = int('ce_noinfo_count');
    const nue = int('ue_noinfo_count');
    if (nce !== undefined || nue !== undefined) c.rows.unknown = [nce, nue];
    out.push(c);
  }
  return out;
}
