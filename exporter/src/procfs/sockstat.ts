// /proc/net/sockstat: socket counts per protocol, `PROTO: key value key value ...`.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html#networking-info-in-proc-net
// (layout: net/ipv4/proc.c, sockstat_seq_show). `mem` is in pages; left raw on purpose.
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, parseNumber, quote, readKernelFile } from './util.js';

// `sockets:`, `TCP:`, `UDPLITE:`, `FRAG:`
const PROTO = /^[A-Za-z0-9]+:$/;

export type Sockstat = Record<string, Record<string, number>>;

export function parseSockstat(text: string, file = '/proc/net/sockstat'): Sockstat {
  const out: Sockstat = {};
  const all = kernelLines(text, file);
  for (const [line, n] of all) {
    const [proto = '', ...pairs] = fields(line);
    if (!PROTO.test(proto)) {
      throw new ParseError(file, n, `expected "PROTO: key value ...", got ${quote(line)}`);
    }
    if (pairs.length % 2 !== 0) throw new ParseError(file, n, `${proto} ${quote(pairs.at(-1) ?? '')} has no value`);
    const section = (out[proto.slice(0, -1)] ??= {});
    for (let i = 0; i < pairs.length; i += 2) {
      section[pairs[i]!] = parseNumber(pairs[i + 1], file, n);
    }
  }
  // The kernel always begins /proc/net/sockstat with `sockets: used N` (sockstat6 has no such line).
  if (!file.endsWith('sockstat6') && fields(all[0]![0])[0] !== 'sockets:') throw new ParseError(file, all[0]![1], `expected "sockets: used N" first, got ${quote(all[0]![0])}`);
  return out;
}

export function readSockstat(procRoot: string): Sockstat {
  const file = join(procRoot, 'net/sockstat');
  return parseSockstat(readKernelFile(file), file);
}
