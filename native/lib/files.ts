/**
 * Many small kernel files read in one call to the addon (src/files.cc): the cgroup control files
 * and /proc/<pid>/stat files of a collection. Through node:fs each open/read/close costs 11-20 us
 * of CPU on the development VM, ~5 us in C; here it is one binding call and, for text that is all
 * ASCII (what the kernel writes, but for a command name or a path), one string for the batch that
 * each file's text is a slice of.
 */
import { isAscii } from 'node:buffer';

import { PerfError } from './errors.js';
import { loadNative, nativeStatus } from './native.js';

/** A file's text, or the errno (a positive number: ENOENT 2, EISDIR 21...) of its open or read. */
export type FileText = string | number;

let buf: Buffer = Buffer.allocUnsafe(256 * 1024);
let lens = new Int32Array(4096);
/** A batch bigger than this does not keep its buffer for the next call. */
const KEEP_MAX = 16 << 20;

/** Whether readFiles works here (the addon is built, and built with it). */
export function readFilesAvailable(): boolean {
  const s = nativeStatus();
  return s.available && typeof s.binding.readFiles === 'function';
}

/**
 * Reads each file whole, in order: its text (UTF-8), or the errno where it could not be opened or
 * read (a directory: EISDIR at the read). Throws PerfError 'native addon not built' without the
 * addon (readFilesAvailable() says beforehand).
 */
export function readFiles(paths: readonly string[]): FileText[] {
  const binding = loadNative();
  if (typeof binding.readFiles !== 'function') {
    throw new PerfError('native addon not built', 'the addon was built before readFiles existed', { fix: 'run `node build.mjs --force` in native/' });
  }
  const n = paths.length;
  if (lens.length < n) lens = new Int32Array(Math.max(n, lens.length * 2));
  const r = binding.readFiles(paths.join('\0'), n, buf, lens);
  let data = buf;
  let used: number;
  if (typeof r === 'number') used = r;
  else {
    data = r;
    used = r.length;
    if (used <= KEEP_MAX) buf = Buffer.allocUnsafe(Math.min(KEEP_MAX, used * 2));
  }
  const out: FileText[] = new Array(n);
  // one string for the batch, each file's text a slice of it, where bytes and characters agree
  const all = isAscii(data.subarray(0, used)) ? data.toString('latin1', 0, used) : undefined;
  let off = 0;
  for (let i = 0; i < n; i++) {
    const len = lens[i]!;
    if (len < 0) {
      out[i] = -len;
      continue;
    }
    out[i] = all !== undefined ? all.slice(off, off + len) : data.toString('utf8', off, off + len);
    off += len;
  }
  return out;
}

/** Whether listDirs works here. */
export function listDirsAvailable(): boolean {
  const s = nativeStatus();
  return s.available && typeof s.binding.listDirs === 'function';
}

/**
 * Every directory below `root` as a path from it ("/a", "/a/b"), sorted; root itself left out and
 * a directory removed during the walk skipped. Throws an Error with `code` (the errno's name)
 * where a directory cannot be listed, PerfError 'native addon not built' without the addon.
 */
export function listDirs(root: string): string[] {
  const binding = loadNative();
  if (typeof binding.listDirs !== 'function') {
    throw new PerfError('native addon not built', 'the addon was built before listDirs existed', { fix: 'run `node build.mjs --force` in native/' });
  }
  return binding.listDirs(root).sort();
}
