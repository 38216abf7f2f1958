// /proc/diskstats: per block device I/O counters, `major minor name` then the stat fields.
// https://www.kernel.org/doc/html/latest/admin-guide/iostats.html (Documentation/admin-guide/iostats.rst)
// An empty file is legitimate: a host, or a container's view of one, without block devices.
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, parseNumber, parseNumbers, readKernelFile } from './util.js';

export interface DiskStats {
  major: number;
  minor: number;
  device: string;
  /** Raw columns in file order: 11 before 4.18, 15 with discards (4.18), 17 with flushes (5.5). */
  fields: number[];
}

const MIN_FIELDS = 11;
// Kernels append new columns at the end; ones past the seventeenth have no meaning callers know.
const MAX_FIELDS = 17;

export function parseDiskstats(text: string, file = '/proc/diskstats'): DiskStats[] {
  return kernelLines(text, file, { emptyOk: true }).map(([line, n]) => {
    const [major, minor, device = '', ...stats] = fields(line);
    if (stats.length < MIN_FIELDS) {
      throw new ParseError(file, n, `expected at least ${MIN_FIELDS} stat fields after the device name, got ${stats.length}`);
    }
    return {
      major: parseNumber(major, file, n),
      minor: parseNumber(minor, file, n),
      device,
      fields: parseNumbers(stats.slice(0, MAX_FIELDS), file, n),
    };
  });
}

export function readDiskstats(procRoot: string): DiskStats[] {
  const file = join(procRoot, 'diskstats');
  return parseDiskstats(readKernelFile(file), file);
}
