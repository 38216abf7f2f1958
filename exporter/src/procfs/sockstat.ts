// /proc/net/sockstat: socket counts per protocol, `PROTO: key value key value ...`.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html#networking-info-in-proc-net
// (layout: net/ipv4/proc.c, sockstat_seq_show). `mem` is in pages; left raw on purpose.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, lines, parseNumber } from './util.js';

export type Sockstat = Record<string, Record<string, number>>;

export function parseSockstat(text: string, file = '/proc/net/sockstat'): Sockstat {
  const out: Sockstat = {};
  for (const [line, n] of lines(text)) {
    const [proto = '', ...pairs] = fields(line);
    if (!proto.endsWith(':') || proto === ':') {
      throw new ParseError(file, n, `expected "PROTO: key value ...", got ${JSON.stringify(line)}`);
    }
    if (pairs.length % 2 !== 0) throw new ParseError(file, n, `${proto} ${JSON.stringify(pairs.at(-1))} has no value`);
    const section = (out[proto.slice(0, -1)] ??= {});
    for (let i = 0; i < pairs.length; i += 2) {
      section[pairs[i]!] = parseNumber(pairs[i + 1], file, n);
    }
  }
  return out;
}

export function readSockstat(procRoot: string): Sockstat {
  const file = join(procRoot, 'net/sockstat');
  return parseSockstat(readFileSync(file, 'utf8'), file);
}
