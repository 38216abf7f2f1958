// /proc/meminfo: memory usage, one `Name: value [kB]` per line.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html#meminfo
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, lines, parseNumber } from './util.js';

/** Keys as the kernel prints them (`MemTotal`, `Active(anon)`); `kB` values in bytes. */
export function parseMeminfo(text: string, file = '/proc/meminfo'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [line, n] of lines(text)) {
    const colon = line.indexOf(':');
    const key = colon > 0 ? line.slice(0, colon).trim() : '';
    if (key === '') throw new ParseError(file, n, `expected "Name: value", got ${JSON.stringify(line)}`);
    const rest = line.slice(colon + 1).trim();
    const [value, unit, ...extra] = fields(rest);
    // The kernel's "kB" is KiB; HugePages_* and similar counts carry no unit at all.
    if ((unit !== undefined && unit !== 'kB') || extra.length > 0) {
      throw new ParseError(file, n, `${key}: expected "<number> [kB]", got ${JSON.stringify(rest)}`);
    }
    const number = parseNumber(value, file, n, `${key} value`);
    out[key] = unit === 'kB' ? number * 1024 : number;
  }
  return out;
}

export function readMeminfo(procRoot: string): Record<string, number> {
  const file = join(procRoot, 'meminfo');
  return parseMeminfo(readFileSync(file, 'utf8'), file);
}
