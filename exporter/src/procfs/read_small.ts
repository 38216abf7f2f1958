// readKernelFile for the many small per-cgroup and per-process files a collection reads
// (collectors/cgroup.ts, collectors/processes.ts): the same errors, less overhead.
import { closeSync, openSync, readSync } from 'node:fs';
import { ParseError } from './errors.js';
import { readKernelFile } from './util.js';

const BUF = Buffer.allocUnsafe(64 * 1024);

/**
 * readKernelFile for the ~2,000 small control files of a collection: one buffer reused, no
 * fstat, no options object (readFileSync's own overhead was a third of the collector's CPU).
 * A file that fills the buffer is read again the ordinary way.
 */
export function readControlFile(file: string): string {
  const fd = openSync(file, 'r');
  let n = 0;
  try {
    for (let got = -1; got !== 0 && n < BUF.length; n += got) got = readSync(fd, BUF, n, BUF.length - n, null);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new ParseError(file, 0, 'a directory, not the kernel file');
    throw err;
  } finally {
    closeSync(fd);
  }
  return n >= BUF.length ? readKernelFile(file) : BUF.toString('utf8', 0, n);
}
