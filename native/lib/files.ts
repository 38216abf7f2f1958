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
  return readBatch(paths);
}

/** readFiles through the addon, with the descriptors `fds` (see src/files.cc) when given. */
function readBatch(paths: readonly string[], fds?: Int32Array, oneRecord = false): FileText[] {
  const binding = loadNative();
  if (typeof binding.readFiles !== 'function') {
    throw new PerfError('native addon not built', 'the addon was built before readFiles existed', { fix: 'run `node build.mjs --force` in native/' });
  }
  if (fds !== undefined && typeof binding.closeFds !== 'function') {
    throw new PerfError('native addon not built', 'the addon was built before readFiles kept descriptors', { fix: 'run `node build.mjs --force` in native/' });
  }
  const n = paths.length;
  if (lens.length < n) lens = new Int32Array(Math.max(n, lens.length * 2));
  const r = binding.readFiles(paths.join('\0'), n, buf, lens, fds, oneRecord);
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

/** 2,048, or an eighth of the soft RLIMIT_NOFILE where that is less. */
function defaultKept(): number {
  const { soft } = loadNative().rlimitNofile();
  return soft > 0 ? Math.min(2048, Math.floor(soft / 8)) : 0;
}

/** Whether KeptFiles works here (the addon is built, with closeFds). */
export function keptFilesAvailable(): boolean {
  const s = nativeStatus();
  return s.available && typeof s.binding.readFiles === 'function' && typeof s.binding.closeFds === 'function';
}

/**
 * Files read at every collection (each process's /proc/<pid>/stat, each cgroup's cpu.stat) with
 * their descriptors kept open from one read to the next: a kept file is read again from offset 0
 * (procfs and kernfs make the text anew at each read), which costs ~3 us against ~7.7 us to open,
 * read and close /proc/<pid>/stat on the development VM. A read gives what readFiles gives.
 *
 * A path not asked for in a read has its descriptor closed (a process that exited, a cgroup no
 * longer collected); a kept descriptor that fails to read (the process exited: ESRCH; the cgroup
 * removed, or removed and made again) is closed and the path opened afresh in the same read, so a
 * pid reused by a new process reads the new one. At most `max` descriptors are kept (default
 * 2,048, and at most an eighth of RLIMIT_NOFILE's soft limit): past that, files are opened, read
 * and closed as by readFiles, so that a host with tens of thousands of processes does not use up
 * its descriptor limit (the perf events need theirs).
 */
export class KeptFiles {
  /** path -> descriptor (in an object of its own: what the finalizer closes if close() never comes) */
  private readonly held = { fds: new Map<string, number>() };

  /**
   * `oneRecord`: the caller's word that each file is one record the kernel makes whole at each
   * read (/proc/<pid>/stat, cgroup control files, sysfs attributes; not /proc/<pid>/maps nor
   * /proc/net/*): a kept descriptor on procfs, sysfs or cgroupfs is then read with one pread
   * where it came back short of the buffer, instead of a second to see the end.
   */
  constructor(readonly max = defaultKept(), readonly oneRecord = false) {
    UNCLOSED.register(this, this.held, this);
  }

  private get fds(): Map<string, number> {
    return this.held.fds;
  }

  private set fds(m: Map<string, number>) {
    this.held.fds = m;
  }

  /** Descriptors kept now. */
  get size(): number {
    return this.fds.size;
  }

  read(paths: readonly string[]): FileText[] {
    const n = paths.length;
    const fds = new Int32Array(n);
    const asked = new Set<string>();
    // a path's kept descriptor, else a new one while there is room (counting all those kept
    // before this read); a path asked twice: read the second time without keeping it
    let room = this.max - this.fds.size;
    for (let i = 0; i < n; i++) {
      const p = paths[i]!;
      const first = !asked.has(p);
      const fd = first ? this.fds.get(p) : undefined;
      if (fd !== undefined) fds[i] = fd;
      else if (first && room > 0) {
        fds[i] = -1;
        room--;
      } else fds[i] = -2;
      asked.add(p);
    }
    // descriptors of paths not asked for this time: closed
    const stale: number[] = [];
    for (const [p, fd] of this.fds) if (!asked.has(p)) stale.push(fd);
    const out = readBatch(paths, fds, this.oneRecord);
    const next = new Map<string, number>();
    for (let i = 0; i < n; i++) if (fds[i]! >= 0) next.set(paths[i]!, fds[i]!);
    this.fds = next;
    if (stale.length) loadNative().closeFds!(Int32Array.from(stale), stale.length);
    return out;
  }

  /** Closes every descriptor kept (a read after it keeps them again). */
  close(): void {
    closeHeld(this.held);
  }
}

function closeHeld(held: { fds: Map<string, number> }): void {
  const all = Int32Array.from(held.fds.values());
  held.fds = new Map();
  if (all.length) loadNative().closeFds!(all, all.length);
}

/** A KeptFiles dropped without close() (a collector nobody closed) still gives its descriptors back. */
const UNCLOSED = new FinalizationRegistry<{ fds: Map<string, number> }>(closeHeld);

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
