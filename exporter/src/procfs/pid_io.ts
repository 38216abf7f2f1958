// /proc/<pid>/io: one process's I/O counters (CONFIG_TASK_IO_ACCOUNTING; readable by the owner and root).
// https://www.kernel.org/doc/html/latest/filesystems/proc.html (section 3.3 /proc/<pid>/io)
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { readControlFile } from './read_small.js';
import { decimalAt, kernelLines, MAX_LINE, parseNumber, quote } from './util.js';

/** read_bytes and write_bytes: what the process caused to be fetched from or sent to storage. */
export interface PidIo {
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
}

export function parsePidIo(text: string, file: string): PidIo {
  return scanPidIo(text) ?? parsePidIoLines(text, file);
}

/**
 * The fast path of parsePidIo: "key: value\n" lines as proc_pid_io_accounting() prints them
 * (a-z and _ in the key, one space, a number), the last of each key kept; undefined for anything
 * else or a line missing.
 */
function scanPidIo(text: string): PidIo | undefined {
  const len = text.length;
  if (len === 0 || text.charCodeAt(len - 1) !== 10) return undefined;
  let rchar = NaN;
  let wchar = NaN;
  let readBytes = NaN;
  let writeBytes = NaN;
  for (let s = 0; s < len; ) {
    const nl = text.indexOf('\n', s);
    if (nl - s > MAX_LINE) return undefined;
    let i = s;
    for (let c = text.charCodeAt(i); (c >= 97 && c <= 122) || c === 95; c = text.charCodeAt(++i)); // a-z _
    if (i === s || text.charCodeAt(i) !== 58 || text.charCodeAt(i + 1) !== 32) return undefined; // ": "
    const v = decimalAt(text, i + 2, nl);
    if (v !== v) return undefined;
    const kl = i - s;
    if (kl === 5 && text.startsWith('rchar', s)) rchar = v;
    else if (kl === 5 && text.startsWith('wchar', s)) wchar = v;
    else if (kl === 10 && text.startsWith('read_bytes', s)) readBytes = v;
    else if (kl === 11 && text.startsWith('write_bytes', s)) writeBytes = v;
    s = nl + 1;
  }
  // NaN: a line missing (parsePidIoLines names it)
  if (rchar !== rchar || wchar !== wchar || readBytes !== readBytes || writeBytes !== writeBytes) return undefined;
  return { rchar, wchar, readBytes, writeBytes };
}

/** parsePidIo line by line: the reference of the fast path, and the parse of whatever it does not take. */
export function parsePidIoLines(text: string, file: string): PidIo {
  const v = new Map<string, number>();
  for (const [line, n] of kernelLines(text, file)) {
    const m = /^([a-z_]+):\s+(\S+)$/.exec(line);
    if (!m) throw new ParseError(file, n, `expected "key: value", got ${quote(line)}`);
    v.set(m[1]!, parseNumber(m[2], file, n, m[1]));
  }
  const get = (k: string) => {
    const x = v.get(k);
    if (x === undefined) throw new ParseError(file, 0, `no ${k} line`);
    return x;
  };
  return { rchar: get('rchar'), wchar: get('wchar'), readBytes: get('read_bytes'), writeBytes: get('write_bytes') };
}

export function readPidIo(procRoot: string, pid: string): PidIo {
  const file = join(procRoot, pid, 'io');
  return parsePidIo(readControlFile(file), file);
}
