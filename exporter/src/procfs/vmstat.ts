// /proc/vmstat: virtual memory counters, one `name value` per line. The set of names depends on
// kernel version and config, so this keeps whatever is printed.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html (names: mm/vmstat.c, vmstat_text)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectFields, fields, lines, parseNumber } from './util.js';

/**
 * Counters are unsigned 64-bit in the kernel; past 2^53 a Number loses the low bits, which a rate
 * over a scrape interval does not notice.
 */
export function parseVmstat(text: string, file = '/proc/vmstat'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [line, n] of lines(text)) {
    const tokens = fields(line);
    expectFields(tokens, 2, file, n);
    const [name = '', value] = tokens;
    out[name] = parseNumber(value, file, n);
  }
  return out;
}

export function readVmstat(procRoot: string): Record<string, number> {
  const file = join(procRoot, 'vmstat');
  return parseVmstat(readFileSync(file, 'utf8'), file);
}
