// /proc/swaps: the swap devices and files in use, one per line after a header.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html (1.2, "swaps"); mm/swapfile.c
// swap_show(): "Filename Type Size Used Priority", the name escaped (" \t\n\\" as octal), so
// whitespace separates the fields.
import { ParseError } from './errors.js';
import { fields, kernelLines, parseNumber, quote } from './util.js';

export interface SwapDevice {
  filename: string;
  type: string;
  /** KiB */
  size: number;
  used: number;
  priority: number;
}

export function parseSwaps(text: string, file: string): SwapDevice[] {
  const all = kernelLines(text, file);
  const [header, hn] = all[0]!;
  if (fields(header).join(' ') !== 'Filename Type Size Used Priority') throw new ParseError(file, hn, `expected the header "Filename Type Size Used Priority", got ${quote(header)}`);
  return all.slice(1).map(([line, n]) => {
    const f = fields(line);
    if (f.length !== 5) throw new ParseError(file, n, `expected "filename type size used priority", got ${quote(line)}`);
    return { filename: f[0]!, type: f[1]!, size: parseNumber(f[2], file, n, 'Size'), used: parseNumber(f[3], file, n, 'Used'), priority: parseNumber(f[4], file, n, 'Priority') };
  });
}

/** Whether any swap is in use: without, every process's VmSwap and every cgroup's swap is 0. */
export function hasSwapDevice(devices: readonly SwapDevice[]): boolean {
  return devices.length > 0;
}
