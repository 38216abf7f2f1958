// /proc/meminfo: memory usage, one `Name: value [kB]` per line.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html#meminfo
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, parseNumber, quote, readKernelFile } from './util.js';

// `MemTotal`, `Active(anon)`, `HugePages_Total`: what the kernel names a field.
const KEY = /^[A-Za-z0-9_()]+$/;

/** Keys as the kernel prints them (`MemTotal`, `Active(anon)`); `kB` values in bytes. */
export function parseMeminfo(text: string, file = '/proc/meminfo'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [line, n] of kernelLines(text, file)) {
    const colon = line.indexOf(':');
    const key = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!KEY.test(key)) throw new ParseError(file, n, `expected "Name: value", got ${quote(line)}`);
    const rest = line.slice(colon + 1).trim();
    const [value, unit, ...extra] = fields(rest);
    // The kernel's "kB" is KiB; HugePages_* and similar counts carry no unit at all.
    if ((unit !== undefined && unit !== 'kB') || extra.length > 0) {
      throw new ParseError(file, n, `${key}: expected "<number> [kB]", got ${quote(rest)}`);
    }
    const number = parseNumber(value, file, n, `${key} value`);
    out[key] = unit === 'kB' ? number * 1024 : number;
  }
  return out;
}

export function readMeminfo(procRoot: string): Record<string, number> {
  const file = join(procRoot, 'meminfo');
  return parseMeminfo(readKernelFile(file), file);
}
