// /proc/<pid>/stat: one process's scheduler and memory counters on one line.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html (Table 1-4, "Contents of the stat fields")
// man 5 proc_pid_stat. comm is in parentheses and may itself hold spaces and ')', so the fields
// after it are found from the last ')'.
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { readControlFile } from './read_small.js';
import { kernelLines, parseNumber, quote } from './util.js';

export interface PidStat {
  /** the command name, at most 15 characters (TASK_COMM_LEN - 1). */
  comm: string;
  /** R, S, D, Z, T, t, X, I, ... */
  state: string;
  /** PF_* flags (include/linux/sched.h); PF_KTHREAD marks a kernel thread. */
  flags: number;
  ppid: number;
  /** clock ticks (USER_HZ) in user and kernel mode. */
  utime: number;
  stime: number;
  threads: number;
  /** ticks after boot at which the process started: with the pid, a process's identity. */
  starttime: number;
  /** resident set size in pages. */
  rss: number;
}

/** include/linux/sched.h: a kernel thread (no memory of its own, no Vm* lines in status). */
export const PF_KTHREAD = 0x00200000;

export function parsePidStat(text: string, file: string): PidStat {
  const all = kernelLines(text, file, { maxLine: 4096 });
  if (all.length !== 1) throw new ParseError(file, all[1]![1], 'expected a single line');
  const [line, n] = all[0]!;
  const open = line.indexOf(' (');
  const close = line.lastIndexOf(') ');
  if (open < 0 || close < open) throw new ParseError(file, n, `no "(comm)" in ${quote(line)}`);
  parseNumber(line.slice(0, open), file, n, 'pid');
  // fields from 3 (state) on; field k is rest[k - 3]
  const rest = line.slice(close + 2).split(' ');
  if (rest.length < 22) throw new ParseError(file, n, `expected at least 24 fields, got ${rest.length + 2}`);
  const num = (k: number, what: string) => parseNumber(rest[k - 3], file, n, what);
  return {
    comm: line.slice(open + 2, close),
    state: rest[0]!,
    ppid: num(4, 'ppid'),
    flags: num(9, 'flags'),
    utime: num(14, 'utime'),
    stime: num(15, 'stime'),
    threads: num(20, 'num_threads'),
    starttime: num(22, 'starttime'),
    rss: num(24, 'rss'),
  };
}

export function readPidStat(procRoot: string, pid: string): PidStat {
  const file = join(procRoot, pid, 'stat');
  return parsePidStat(readControlFile(file), file);
}
