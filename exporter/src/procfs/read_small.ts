// readKernelFile for the many small per-cgroup and per-process files a collection reads
// (collectors/cgroup.ts, collectors/processes.ts): the same errors, less overhead. A batch of
// them goes through the native addon's readFiles (one call for all, ~5 us a file) where it is
// built, else file by file here (~7-20 us a file), with the same results.
import { closeSync, openSync, readSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { KeptFiles, keptFilesAvailable, readFiles, readFilesAvailable } from '@perfwatch/native';
import { ParseError } from './errors.js';
import { readKernelFile } from './util.js';

const BUF = Buffer.allocUnsafe(64 * 1024);

/** A file's text, or the errno (positive: ENOENT 2, EISDIR 21) its open or read failed with. */
export type ControlText = string | number;

/** Node's errno numbers are negative (uv's); the kernel's positive. */
function errnoOf(err: unknown): number | undefined {
  const n = (err as NodeJS.ErrnoException).errno;
  return typeof n === 'number' && n < 0 && typeof (err as NodeJS.ErrnoException).code === 'string' ? -n : undefined;
}

/** One file as readControlFile reads it, a failed open or read as its errno. */
function readOne(file: string): ControlText {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const e = errnoOf(err);
    if (e === undefined) throw err;
    return e;
  }
  let n = 0;
  try {
    for (let got = -1; got !== 0 && n < BUF.length; n += got) got = readSync(fd, BUF, n, BUF.length - n, null);
  } catch (err) {
    const e = errnoOf(err);
    if (e === undefined) throw err;
    return e;
  } finally {
    closeSync(fd);
  }
  if (n < BUF.length) return BUF.toString('utf8', 0, n);
  try {
    return readKernelFile(file);
  } catch (err) {
    if (err instanceof ParseError) return ERRNO.EISDIR;
    const e = errnoOf(err);
    if (e === undefined) throw err;
    return e;
  }
}

const ERRNO = { EISDIR: 21 } as const;
const SYSTEM_ERRORS = getSystemErrorMap();

/**
 * The error readControlFile throws for a file whose read gave `errno`: a ParseError for a
 * directory (it names the file; Node's EISDIR does not), else Node's own shape (code, errno,
 * syscall, path), so callers test `code` as before.
 */
export function controlFileError(file: string, errno: number): Error {
  if (errno === ERRNO.EISDIR) return new ParseError(file, 0, 'a directory, not the kernel file');
  const [code, description] = SYSTEM_ERRORS.get(-errno) ?? [`E${errno}`, 'unknown error'];
  const err = new Error(`${code}: ${description}, open '${file}'`) as NodeJS.ErrnoException;
  err.errno = -errno;
  err.code = code;
  err.syscall = 'open';
  err.path = file;
  return err;
}

/** The errno's name ("ENOENT"), without making an Error (a missing file is common and cheap). */
export function errnoCode(errno: number): string {
  return SYSTEM_ERRORS.get(-errno)?.[0] ?? `E${errno}`;
}

/**
 * readKernelFile for the ~2,000 small control files of a collection: one buffer reused, no
 * fstat, no options object (readFileSync's own overhead was a third of the collector's CPU).
 * A file that fills the buffer is read again the ordinary way.
 */
export function readControlFile(file: string): string {
  const t = readOne(file);
  if (typeof t === 'number') throw controlFileError(file, t);
  return t;
}

/** readControlFiles file by file through node:fs: where the addon is not built (and in tests). */
export function readControlFilesFs(files: readonly string[]): ControlText[] {
  return files.map(readOne);
}

const native = readFilesAvailable();
const keptNative = keptFilesAvailable();

/** Each file's text or errno, in order; through the addon where it is built. */
export function readControlFiles(files: readonly string[]): ControlText[] {
  return native ? readFiles(files) : readControlFilesFs(files);
}

/** Files a collector reads at every collection: readControlFiles, cheaper the second time. */
export interface ControlFileReader {
  read(files: readonly string[]): ControlText[];
  /** releases what it keeps open */
  close(): void;
}

/**
 * A reader that keeps the descriptors of the files it read open for the next read (the addon's
 * KeptFiles: a process's stat read again costs ~3 us instead of ~7.7; files not asked for are
 * closed, at most `max` kept); readControlFiles where the addon is not built. For control files
 * only, each one record the kernel makes whole at each read (/proc/<pid>/stat, cgroup control
 * files): a kept one is read with one system call (KeptFiles' oneRecord).
 */
export function keptFileReader(max?: number): ControlFileReader {
  if (!keptNative) return { read: readControlFiles, close: () => undefined };
  const kept = new KeptFiles(max, true);
  return { read: (files) => kept.read(files), close: () => kept.close() };
}
