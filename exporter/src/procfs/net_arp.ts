// /proc/net/arp: the IPv4 neighbour table, a header line then one line per entry:
// IP address, HW type, Flags, HW address, Mask, Device (net/ipv4/arp.c arp_format_neigh_entry).
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, readKernelFile } from './util.js';

/** Entries per device, devices in the order they first appear; {} for an empty table. */
export function parseNetArp(text: string, file: string): Record<string, number> {
  const all = kernelLines(text, file, { emptyOk: true });
  const [header] = all;
  if (!header || !header[0].startsWith('IP address')) throw new ParseError(file, header?.[1] ?? 1, 'expected the "IP address HW type ..." header line');
  const out: Record<string, number> = {};
  for (const [line, n] of all.slice(1)) {
    const cols = fields(line);
    if (cols.length !== 6) throw new ParseError(file, n, `expected 6 columns, got ${cols.length}`);
    if (!/^0x[0-9a-f]+$/.test(cols[1]!) || !/^0x[0-9a-f]+$/.test(cols[2]!)) throw new ParseError(file, n, `expected hex HW type and flags, got ${JSON.stringify(`${cols[1]} ${cols[2]}`)}`);
    const dev = cols[5]!;
    out[dev] = (out[dev] ?? 0) + 1;
  }
  return out;
}

export function readNetArp(procRoot: string): Record<string, number> {
  const file = join(procRoot, 'net/arp');
  return parseNetArp(readKernelFile(file), file);
}
