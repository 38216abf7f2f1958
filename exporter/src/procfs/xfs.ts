// /sys/fs/xfs/<device>/stats/stats (per filesystem, Linux 4.4+) and /proc/fs/xfs/stat (all of
// them summed): a keyword per line then counters (fs/xfs/xfs_stats.c). `extent_alloc`, `abt`,
// `blk_map`, `bmbt`, `dir`, `trans`, `ig`, `log`, `push_ail`, `xstrat`, `rw`, `attr`, `icluster`,
// `vnodes`, `buf`, the v2 btree lines, `qm`, `xpc` (bytes) and `debug`.
// https://xfs.wiki.kernel.org/index.php/Runtime_Stats
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, parseNumber, quote, readKernelFile } from './util.js';
import { listDir } from './sysfs.js';

export type XfsStats = Record<string, number[]>;

export function parseXfsStats(text: string, file: string): XfsStats {
  const out: XfsStats = {};
  // never empty: extent_alloc and the other keyword lines are printed whatever the counts
  const all = kernelLines(text, file);
  for (const [line, n] of all) {
    const [key = '', ...tokens] = fields(line);
    if (!/^[a-z][a-z0-9_]*$/.test(key)) throw new ParseError(file, n, `expected a keyword, got ${quote(key)}`);
    if (tokens.length === 0) throw new ParseError(file, n, `${key} without values`);
    if (key in out) throw new ParseError(file, n, `second ${key} line`);
    out[key] = tokens.map((t) => parseNumber(t, file, n));
  }
  return out;
}

/** device -> stats of every mounted XFS filesystem; ENOENT when no XFS is mounted (no /sys/fs/xfs). */
export function readXfs(sysRoot: string): Record<string, XfsStats> {
  const base = join(sysRoot, 'fs/xfs');
  const out: Record<string, XfsStats> = {};
  for (const dev of listDir(base)) {
    const file = join(base, dev, 'stats/stats');
    let text: string;
    try {
      text = readKernelFile(file);
    } catch (err) {
      // /sys/fs/xfs/stats (the global one) and /sys/fs/xfs/features are not devices
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      throw err;
    }
    out[dev] = parseXfsStats(text, file);
  }
  return out;
}
