// /proc/net/dev: per network interface counters, 8 receive then 8 transmit columns.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html#networking-info-in-proc-net
// (column order: net/core/net-procfs.c, dev_seq_printf_stats)
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, parseNumbers, quote, readKernelFile } from './util.js';

export interface NetDev {
  device: string;
  /** rx bytes packets errs drop fifo frame compressed multicast, tx bytes packets errs drop fifo colls carrier compressed */
  fields: number[];
}

// The two header lines, as net/core/net-procfs.c has printed them since Linux 2.6 (the start of each).
const HEADER = ['Inter-|', 'face |'];
const COLUMNS = 16;

export function parseNetDev(text: string, file = '/proc/net/dev'): NetDev[] {
  const all = kernelLines(text, file);
  HEADER.forEach((start, i) => {
    // Checked so that a file without the header does not silently lose its first two interfaces.
    const [line, n] = all[i] ?? ['', all.length + 1];
    if (!line.trim().startsWith(start)) throw new ParseError(file, n, `expected the column header starting ${quote(start)}, got ${quote(line)}`);
  });
  return all.slice(HEADER.length).map(([line, n]) => {
    // Long counters run into the name (`eth0:123`), so split at the colon, not at whitespace.
    const trimmed = line.trim();
    const colon = trimmed.indexOf(':');
    if (colon <= 0) throw new ParseError(file, n, `expected "name: counters", got ${quote(line)}`);
    const device = trimmed.slice(0, colon);
    const columns = fields(trimmed.slice(colon + 1));
    if (columns.length !== COLUMNS) {
      throw new ParseError(file, n, `${device}: expected ${COLUMNS} columns, got ${columns.length}`);
    }
    return { device, fields: parseNumbers(columns, file, n) };
  });
}

export function readNetDev(procRoot: string): NetDev[] {
  const file = join(procRoot, 'net/dev');
  return parseNetDev(readKernelFile(file), file);
}
