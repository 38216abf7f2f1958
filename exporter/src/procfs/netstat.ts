// /proc/net/netstat and /proc/net/snmp: per protocol, a line of names then a line of values,
// both starting with the same `Proto:` prefix. Names are the SNMP MIB ones (RFC 1213, RFC 4293)
// plus Linux extensions (TcpExt, IpExt, MPTcpExt).
// https://www.kernel.org/doc/html/latest/networking/snmp_counter.html
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, parseNumber, quote, readKernelFile } from './util.js';

// `Tcp:`, `TcpExt:`, `IcmpMsg:`, `MPTcpExt:`
const PROTO = /^[A-Za-z0-9]+:$/;

/** `{ Tcp: { ActiveOpens: 12, MaxConn: -1 }, TcpExt: {...} }`; MaxConn is -1 for "no limit". */
export type NetStat = Record<string, Record<string, number>>;

export function parseNetstat(text: string, file: string): NetStat {
  const out: NetStat = {};
  const all = kernelLines(text, file);
  for (let i = 0; i < all.length; i += 2) {
    const [header, hn] = all[i]!;
    const values = all[i + 1];
    const [proto = '', ...names] = fields(header);
    if (!PROTO.test(proto)) {
      throw new ParseError(file, hn, `expected "Proto: names...", got ${quote(header)}`);
    }
    if (!values) throw new ParseError(file, hn, `${proto} header without a values line`);
    const [line, vn] = values;
    const [valueProto, ...numbers] = fields(line);
    if (valueProto !== proto) {
      throw new ParseError(file, vn, `values line ${quote(valueProto ?? '')} does not follow header ${quote(proto)} of line ${hn}`);
    }
    if (numbers.length !== names.length) {
      throw new ParseError(file, vn, `${proto} ${numbers.length} values for ${names.length} names on line ${hn}`);
    }
    // Merged, not replaced: IcmpMsg is printed as several pairs of at most 16 columns each.
    const section = (out[proto.slice(0, -1)] ??= {});
    names.forEach((name, j) => {
      section[name] = parseNumber(numbers[j], file, vn);
    });
  }
  return out;
}

export function readNetNetstat(procRoot: string): NetStat {
  const file = join(procRoot, 'net/netstat');
  return parseNetstat(readKernelFile(file), file);
}

export function readNetSnmp(procRoot: string): NetStat {
  const file = join(procRoot, 'net/snmp');
  return parseNetstat(readKernelFile(file), file);
}
