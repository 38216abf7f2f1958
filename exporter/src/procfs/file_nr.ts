// /proc/sys/fs/file-nr: allocated file handles, allocated-but-unused (always 0 since 2.6), maximum.
// https://www.kernel.org/doc/html/latest/admin-guide/sysctl/fs.html#file-max-file-nr
import { join } from 'node:path';
import { expectFields, onlyLine, parseNumber, readKernelFile } from './util.js';

export interface FileNr {
  allocated: number;
  unused: number;
  max: number;
}

export function parseFileNr(text: string, file = '/proc/sys/fs/file-nr'): FileNr {
  const [tokens, n] = onlyLine(text, file);
  expectFields(tokens, 3, file, n);
  const [allocated, unused, max] = tokens;
  return {
    allocated: parseNumber(allocated, file, n),
    unused: parseNumber(unused, file, n),
    max: parseNumber(max, file, n),
  };
}

export function readFileNr(procRoot: string): FileNr {
  const file = join(procRoot, 'sys/fs/file-nr');
  return parseFileNr(readKernelFile(file), file);
}
