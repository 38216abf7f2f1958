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
 * A path is kept open from its second read in a row: one asked only now and then (an idle
 * cgroup's memory files, read every 15-30 s) is opened, read and closed, without the fstatfs(2)
 * and the later close a kept one costs, and holds no descriptor (nor the kernel's page-sized
 * seq_file buffer) in between. A path not asked for in a read has its descriptor closed (a
 * process that exited, a cgroup no longer collected); a kept descriptor that fails to read (the
 * process exited: ESRCH; the cgroup removed, or removed and made again) is closed and the path
 * opened afresh in the same read, so a pid reused by a new process reads the new one. At most `max` descriptors are kept (default
 * 2,048, and at most an eighth of RLIMIT_NOFILE's soft limit): past that, files are opened, read
 * and closed as by readFiles, so that a host with tens of thousands of processes does not use up
 * its descriptor limit (the perf events need theirs).
 */
export class KeptFiles {
  /**
   * path -> its slot, for each path of the last read: its descriptor (-1: none kept) and the
   * read that last asked for it (in an object of its own: what the finalizer closes if close()
   * never comes)
   */
  private readonly held: Held = { slots: new Map() };
  /** the number of reads so far */
  private gen = 0;
  private kept = 0;

  /**
   * `oneRecord`: the caller's word that each file is one record the kernel makes whole at each
   * read (/proc/<pid>/stat, cgroup control files, sysfs attributes; not /proc/<pid>/maps nor
   * /proc/net/*): a file is then read with one read(2) where it came back short of the buffer
   * (opened here, or kept on procfs, sysfs or cgroupfs), instead of a second to see the end.
   */
  constructor(readonly max = defaultKept(), readonly oneRecord = false) {
    UNCLOSED.register(this, this.held, this);
  }

  /** Descriptors kept now. */
  get size(): number {
    return this.kept;
  }

  read(paths: readonly string[]): FileText[] {
    const n = paths.length;
    const fds = new Int32Array(n);
    const gen = ++this.gen;
    const { slots } = this.held;
    /** each path's slot where this read is the path's first in it (a path asked twice is read
     *  the second time without keeping it) */
    const firsts: (Slot | undefined)[] = new Array(n);
    // a path's kept descriptor, else a new one for a path asked in the read before too, while
    // there is room (counting all those kept before this read)
    let room = this.max - this.kept;
    for (let i = 0; i < n; i++) {
      const p = paths[i]!;
      const slot = slots.get(p);
      if (slot === undefined) {
        const s: Slot = { fd: -1, gen };
        slots.set(p, s);
        firsts[i] = s;
        fds[i] = -2;
      } else if (slot.gen === gen) {
        fds[i] = -2;
      } else {
        const again = slot.gen === gen - 1;
        slot.gen = gen;
        firsts[i] = slot;
        if (slot.fd >= 0) fds[i] = slot.fd;
        else if (again && room > 0) {
          fds[i] = -1;
          room--;
        } else fds[i] = -2;
      }
    }
    // paths not asked for this time: forgotten, their descriptors closed (after the read)
    const stale: number[] = [];
    for (const [p, slot] of slots) {
      if (slot.gen === gen) continue;
      if (slot.fd >= 0) stale.push(slot.fd);
      slots.delete(p);
    }
    const out = readBatch(paths, fds, this.oneRecord);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const s = firsts[i];
      if (s === undefined) continue;
      const fd = fds[i]!;
      s.fd = fd >= 0 ? fd : -1;
      if (fd >= 0) kept++;
    }
    this.kept = kept;
    if (stale.length) loadNative().closeFds!(Int32Array.from(stale), stale.length);
    return out;
  }

  /** Closes every descriptor kept (reads after it keep them again, from the second). */
  close(): void {
    closeHeld(this.held);
    this.kept = 0;
  }
}

interface Slot {
  fd: number;
  gen: number;
}

interface Held {
  slots: Map<string, Slot>;
}

function closeHeld(held: Held): void {
  const all: number[] = [];
  for (const s of held.slots.values()) if (s.fd >= 0) all.push(s.fd);
  held.slots = new Map();
  if (all.length) loadNative().closeFds!(Int32Array.from(all), all.length);
}

/** A KeptFiles dropped without close() (a collector nobody closed) still gives its descriptors back. */
const UNCLOSED = new FinalizationRegistry<Held>(closeHeld);

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
