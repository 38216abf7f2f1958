// /proc/vmstat: virtual memory counters, one `name value` per line. The set of names depends on
// kernel version and config, so this keeps whatever is printed.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html (names: mm/vmstat.c, vmstat_text)
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { expectFields, fields, kernelLines, parseNumber, quote, readKernelFile } from './util.js';

// `nr_free_pages`, `pgpgin`, `thp_fault_alloc`
const NAME = /^[A-Za-z0-9_]+$/;

/**
 * Counters are unsigned 64-bit in the kernel; past 2^53 a Number loses the low bits, which a rate
 * over a scrape interval does not notice.
 */
export function parseVmstat(text: string, file = '/proc/vmstat'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [line, n] of kernelLines(text, file)) {
    const tokens = fields(line);
    expectFields(tokens, 2, file, n);
    const [name = '', value] = tokens;
    if (!NAME.test(name)) throw new ParseError(file, n, `not a counter name: ${quote(name)}`);
    out[name] = parseNumber(value, file, n);
  }
  return out;
}

export function readVmstat(procRoot: string): Record<string, number> {
  const file = join(procRoot, 'vmstat');
  return parseVmstat(readKernelFile(file), file);
}
