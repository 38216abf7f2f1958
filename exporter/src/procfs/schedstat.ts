// /proc/schedstat: scheduler statistics (CONFIG_SCHEDSTATS), versions 15-17. A `version` line, a
// `timestamp` line, then per CPU a `cpu<N>` line of 9 numbers followed by its `domain<M>` lines.
// The last three cpu numbers are what is kept: time spent running tasks (ns), time tasks waited
// on the run queue (ns) and the timeslices run.
// https://www.kernel.org/doc/html/latest/scheduler/sched-stats.html
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, parseNumber, readKernelFile } from './util.js';

export interface SchedstatCpu {
  cpu: string;
  runningNs: number;
  waitingNs: number;
  timeslices: number;
}

export function parseSchedstat(text: string, file: string): SchedstatCpu[] {
  const all = kernelLines(text, file, { emptyOk: true });
  const [first] = all;
  if (!first) throw new ParseError(file, 1, 'empty file');
  const [key, version] = fields(first[0]);
  if (key !== 'version') throw new ParseError(file, first[1], `expected "version N", got ${JSON.stringify(first[0])}`);
  const v = parseNumber(version, file, first[1], 'version');
  if (v < 15) throw new ParseError(file, first[1], `schedstat version ${v} is not supported (15 and later are)`);
  const out: SchedstatCpu[] = [];
  for (const [line, n] of all.slice(1)) {
    const [name = '', ...nums] = fields(line);
    if (name === 'timestamp' || name.startsWith('domain')) continue;
    const cpu = /^cpu(\d+)$/.exec(name)?.[1];
    if (cpu === undefined) throw new ParseError(file, n, `expected a cpu, domain or timestamp line, got ${JSON.stringify(name)}`);
    if (nums.length < 9) throw new ParseError(file, n, `expected 9 numbers after ${name}, got ${nums.length}`);
    const [runningNs, waitingNs, timeslices] = nums.slice(6, 9).map((t) => parseNumber(t, file, n)) as [number, number, number];
    out.push({ cpu, runningNs, waitingNs, timeslices });
  }
  return out;
}

export function readSchedstat(procRoot: string): SchedstatCpu[] {
  const file = join(procRoot, 'schedstat');
  return parseSchedstat(readKernelFile(file), file);
}
