// /proc/net/udp and /proc/net/udp6: a header line, then one line per socket whose fifth column is
// `tx_queue:rx_queue`, bytes queued in hex (net/ipv4/udp.c udp4_format_sock).
// https://www.kernel.org/doc/html/latest/networking/proc_net_tcp.html (the same layout as tcp)
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, readKernelFile } from './util.js';

const QUEUES = /^([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8})$/;

/** Summed [tx_queue, rx_queue] bytes over every socket; [0, 0] with no sockets. */
export function parseNetUdp(text: string, file: string): [number, number] {
  const all = kernelLines(text, file, { emptyOk: true });
  const [header] = all;
  if (!header || fields(header[0])[0] !== 'sl') throw new ParseError(file, header?.[1] ?? 1, 'expected the "sl local_address ..." header line');
  let tx = 0;
  let rx = 0;
  for (const [line, n] of all.slice(1)) {
    const cols = fields(line);
    if (!/^\d+:$/.test(cols[0] ?? '')) throw new ParseError(file, n, `expected "<slot>:" first, got ${JSON.stringify(cols[0])}`);
    const q = QUEUES.exec(cols[4] ?? '');
    if (!q) throw new ParseError(file, n, `expected tx_queue:rx_queue in column 5, got ${JSON.stringify(cols[4])}`);
    tx += parseInt(q[1]!, 16);
    rx += parseInt(q[2]!, 16);
  }
  return [tx, rx];
}

export function readNetUdp(procRoot: string, ip: 'v4' | 'v6'): [number, number] {
  const file = join(procRoot, ip === 'v4' ? 'net/udp' : 'net/udp6');
  return parseNetUdp(readKernelFile(file), file);
}
