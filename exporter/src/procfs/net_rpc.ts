// /proc/net/rpc/nfs (NFS client) and /proc/net/rpc/nfsd (NFS server): one line per statistic,
// a keyword then numbers (net/sunrpc/stats.c, fs/nfsd/stats.c). `net` packets/udp/tcp/tcpconn,
// `rpc` calls and errors, `procN <count> <count values>` per NFS version, and for the server
// `rc` (reply cache), `fh` (file handles), `io` (bytes), `th` (threads), `ra` (read-ahead, gone
// in 5.x) and `proc4ops <count> <values>` indexed by NFSv4 operation number (RFC 8881, RFC 7862).
// Lines this parser does not know are kept: kernels add them (`wdeleg_getattr`).
// https://www.kernel.org/doc/html/latest/filesystems/nfs/ (and nfsstat(8))
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, parseNumber, quote, readKernelFile } from './util.js';

/** keyword -> its numbers; for procN and proc4ops the leading count is checked and dropped. */
export type RpcStats = Record<string, number[]>;

export function parseRpcStats(text: string, file: string): RpcStats {
  const out: RpcStats = {};
  // never empty: the kernel always prints the net and rpc lines
  const all = kernelLines(text, file);
  for (const [line, n] of all) {
    const [key = '', ...tokens] = fields(line);
    if (!/^[a-z][a-z0-9_]*$/.test(key)) throw new ParseError(file, n, `expected a keyword, got ${quote(key)}`);
    if (key in out) throw new ParseError(file, n, `second ${key} line`);
    const nums = tokens.map((t) => parseNumber(t, file, n));
    if (/^proc\d+(ops)?$/.test(key)) {
      const count = nums.shift();
      if (count === undefined || count !== nums.length) throw new ParseError(file, n, `${key} says ${count} values, has ${nums.length}`);
    }
    out[key] = nums;
  }
  if (!out.rpc) throw new ParseError(file, all[all.length - 1]![1], 'no rpc line');
  return out;
}

export function readRpcStats(procRoot: string, which: 'nfs' | 'nfsd'): RpcStats {
  const file = join(procRoot, 'net/rpc', which);
  return parseRpcStats(readKernelFile(file), file);
}
