// /proc/<pid>/status: the process's state in "Key:\tvalue" lines; the memory ones in kB.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html (Table 1-2)
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { readControlFile } from './read_small.js';
import { kernelLines, parseNumber, quote } from './util.js';

/** The memory fields (VmRSS, RssAnon, RssFile, RssShmem, VmSwap, ...) in bytes; a kernel
 *  thread has none of them. */
export function parsePidStatus(text: string, file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [line, n] of kernelLines(text, file)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ParseError(file, n, `expected "Key: value", got ${quote(line)}`);
    const key = line.slice(0, colon);
    if (!/^(Vm|Rss|Huge)/.test(key)) continue;
    const m = /^\s*(\S+) kB$/.exec(line.slice(colon + 1));
    if (!m) throw new ParseError(file, n, `expected "<number> kB" for ${key}, got ${quote(line.slice(colon + 1).trim())}`);
    out.set(key, parseNumber(m[1], file, n, key) * 1024);
  }
  return out;
}

export function readPidStatus(procRoot: string, pid: string): Map<string, number> {
  const file = join(procRoot, pid, 'status');
  return parsePidStatus(readControlFile(file), file);
}
