// /proc/spl/kstat/zfs/*: OpenZFS kstats. A header line (kstat id, type, flags, ndata, data size,
// crtime, snaptime), a `name type data` line, then `<name> <type> <value>` rows; type 4 is
// uint64, 3 int64 (the numbers kept here; strings and histograms are left out). Per pool,
// <pool>/state holds the pool's health as one word (ONLINE, DEGRADED, ...).
// https://openzfs.github.io/openzfs-docs/ (module/os/linux/spl/spl-kstat.c)
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, parseNumber, quote, readKernelFile } from './util.js';
import { listDir, parseSysfsString, readAttr } from './sysfs.js';

const NUMERIC_TYPES = new Set(['1', '2', '3', '4', '5', '6']); // int32 / uint32 / int64 / uint64 / long / ulong

export function parseKstat(text: string, file: string): Record<string, number> {
  // never empty: the header and the "name type data" line come before any row
  const all = kernelLines(text, file);
  const [header, cols] = all as [[string, number], [string, number] | undefined];
  if (!/^\d+ \d+ 0x[0-9a-f]+ \d+ \d+ \d+ \d+$/.test(header[0].trim())) throw new ParseError(file, header[1], `expected the kstat header, got ${quote(header[0])}`);
  if (!cols || fields(cols[0]).join(' ') !== 'name type data') throw new ParseError(file, cols?.[1] ?? 2, 'expected "name type data"');
  const out: Record<string, number> = {};
  for (const [line, n] of all.slice(2)) {
    const [name, type, ...data] = fields(line);
    if (name === undefined || type === undefined || !/^\d+$/.test(type)) throw new ParseError(file, n, `expected "<name> <type> <data>", got ${quote(line)}`);
    if (!NUMERIC_TYPES.has(type)) continue;
    if (data.length !== 1) throw new ParseError(file, n, `expected one value for ${name}, got ${data.length}`);
    out[name] = parseNumber(data[0], file, n);
  }
  return out;
}

/** The kstats PerfWatch keeps (arcstats, zfetchstats, dmu_tx, zil, abdstats) and each pool's
 *  state; ENOENT without the zfs module. */
export const ZFS_KSTATS = ['arcstats', 'zfetchstats', 'dmu_tx', 'zil', 'abdstats'] as const;

export function readZfs(procRoot: string): { kstats: Record<string, Record<string, number>>; pools: Record<string, string> } {
  const base = join(procRoot, 'spl/kstat/zfs');
  const entries = listDir(base);
  const kstats: Record<string, Record<string, number>> = {};
  for (const k of ZFS_KSTATS) {
    if (!entries.includes(k)) continue;
    const file = join(base, k);
    kstats[k] = parseKstat(readKernelFile(file), file);
  }
  const pools: Record<string, string> = {};
  for (const e of entries) {
    const state = readAttr(join(base, e, 'state'), parseSysfsString);
    if (state !== undefined) pools[e] = state;
  }
  return { kstats, pools };
}
