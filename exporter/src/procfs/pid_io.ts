// /proc/<pid>/io: one process's I/O counters (CONFIG_TASK_IO_ACCOUNTING; readable by the owner and root).
// https://www.kernel.org/doc/html/latest/filesystems/proc.html (section 3.3 /proc/<pid>/io)
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { readControlFile } from './read_small.js';
import { kernelLines, parseNumber, quote } from './util.js';

/** read_bytes and write_bytes: what the process caused to be fetched from or sent to storage. */
export interface PidIo {
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
}

export function parsePidIo(text: string, file: string): PidIo {
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
