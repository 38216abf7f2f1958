// /proc/uptime: seconds since boot, and idle seconds summed over all CPUs (so it can exceed uptime).
// https://www.kernel.org/doc/html/latest/filesystems/proc.html#kernel-data
import { join } from 'node:path';
import { expectFields, onlyLine, parseNumber, readKernelFile } from './util.js';

export interface Uptime {
  uptime: number;
  idle: number;
}

export function parseUptime(text: string, file = '/proc/uptime'): Uptime {
  const [tokens, n] = onlyLine(text, file);
  expectFields(tokens, 2, file, n);
  return { uptime: parseNumber(tokens[0], file, n), idle: parseNumber(tokens[1], file, n) };
}

export function readUptime(procRoot: string): Uptime {
  const file = join(procRoot, 'uptime');
  return parseUptime(readKernelFile(file), file);
}
