// /proc/<pid>/status: the process's state in "Key:\tvalue" lines; the memory ones in kB.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html (Table 1-2)
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { readControlFile } from './read_small.js';
import { decimalAt, kernelLines, MAX_LINE, parseNumber, quote } from './util.js';

/** The memory fields (VmRSS, RssAnon, RssFile, RssShmem, VmSwap, ...) in bytes; a kernel
 *  thread has none of them. */
export function parsePidStatus(text: string, file: string): Map<string, number> {
  return scanPidStatus(text) ?? parsePidStatusLines(text, file);
}

/**
 * The fast path of parsePidStatus: every line "Key:" and something, the memory ones
 * "Key:\t<spaces><number> kB" as task_mem() prints them; undefined for anything else.
 */
function scanPidStatus(text: string): Map<string, number> | undefined {
  const len = text.length;
  if (len === 0 || text.charCodeAt(len - 1) !== 10 || text.indexOf('\0') >= 0) return undefined;
  const out = new Map<string, number>();
  for (let s = 0; s < len; ) {
    const nl = text.indexOf('\n', s);
    if (nl - s > MAX_LINE) return undefined;
    const colon = text.indexOf(':', s);
    // a line without its colon, or a blank one (whitespace only): the line-by-line parse decides
    if (colon <= s || colon > nl) return undefined;
    const c0 = text.charCodeAt(s);
    if ((c0 === 86 && text.charCodeAt(s + 1) === 109) || text.startsWith('Rss', s) || text.startsWith('Huge', s)) {
      // Vm*, Rss*, Huge*: a tab, spaces, digits, " kB"
      let i = colon + 1;
      if (text.charCodeAt(i) !== 9) return undefined;
      for (i++; text.charCodeAt(i) === 32; i++);
      if (nl - i < 4 || !text.startsWith(' kB', nl - 3)) return undefined;
      const v = decimalAt(text, i, nl - 3);
      if (v !== v) return undefined;
      out.set(text.slice(s, colon), v * 1024);
    }
    s = nl + 1;
  }
  return out;
}

/** parsePidStatus line by line: the reference of the fast path, and the parse of whatever it does not take. */
export function parsePidStatusLines(text: string, file: string): Map<string, number> {
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
