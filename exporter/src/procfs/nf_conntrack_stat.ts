// /proc/net/stat/nf_conntrack: connection tracking statistics, a header of column names then one
// line per possible CPU, values in hex (net/netfilter/nf_conntrack_standalone.c ct_cpu_seq_show).
// The columns changed over kernels (searched -> clashres, delete_list -> chainlength), so they are
// read by name. `entries` is the table's size, printed on every line alike.
// https://www.kernel.org/doc/html/latest/networking/nf_conntrack-sysctl.html
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, quote, readKernelFile } from './util.js';

/** column -> sum over CPUs (entries: as printed once). */
export function parseNfConntrackStat(text: string, file: string): Record<string, number> {
  // never empty: the header is printed even before the first CPU line
  const all = kernelLines(text, file);
  const header = all[0]!;
  const names = fields(header[0]);
  if (names[0] !== 'entries' || names.some((n) => !/^[a-z_]+$/.test(n))) throw new ParseError(file, header[1], `expected a header of column names starting with "entries", got ${quote(header[0])}`);
  if (all.length < 2) throw new ParseError(file, header[1], 'no CPU lines');
  const out: Record<string, number> = {};
  for (const [line, n] of all.slice(1)) {
    const cols = fields(line);
    if (cols.length !== names.length) throw new ParseError(file, n, `expected ${names.length} columns, got ${cols.length}`);
    cols.forEach((c, i) => {
      if (!/^[0-9a-f]{8}$/.test(c)) throw new ParseError(file, n, `not an 8-digit hex value: ${quote(c)}`);
      const name = names[i]!;
      const v = parseInt(c, 16);
      out[name] = name === 'entries' ? v : (out[name] ?? 0) + v;
    });
  }
  return out;
}

export function readNfConntrackStat(procRoot: string): Record<string, number> {
  const file = join(procRoot, 'net/stat/nf_conntrack');
  return parseNfConntrackStat(readKernelFile(file), file);
}
