// /proc/loadavg: `0.08 0.03 0.01 1/123 4567` (load averages, runnable/total tasks, last PID).
// https://www.kernel.org/doc/html/latest/filesystems/proc.html#kernel-data
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { expectFields, onlyLine, parseNumber, quote, readKernelFile } from './util.js';

export interface Loadavg {
  load1: number;
  load5: number;
  load15: number;
  running: number;
  total: number;
  lastPid: number;
}

export function parseLoadavg(text: string, file = '/proc/loadavg'): Loadavg {
  const [tokens, n] = onlyLine(text, file);
  expectFields(tokens, 5, file, n);
  const [load1, load5, load15, tasks = '', lastPid] = tokens;
  const [running, total, ...more] = tasks.split('/');
  if (more.length > 0) throw new ParseError(file, n, `expected running/total, got ${quote(tasks)}`);
  return {
    load1: parseNumber(load1, file, n),
    load5: parseNumber(load5, file, n),
    load15: parseNumber(load15, file, n),
    running: parseNumber(running, file, n, 'running/total'),
    total: parseNumber(total, file, n, 'running/total'),
    lastPid: parseNumber(lastPid, file, n),
  };
}

export function readLoadavg(procRoot: string): Loadavg {
  const file = join(procRoot, 'loadavg');
  return parseLoadavg(readKernelFile(file), file);
}
