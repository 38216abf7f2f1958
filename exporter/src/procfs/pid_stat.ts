// /proc/<pid>/stat: one process's scheduler and memory counters on one line.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html (Table 1-4, "Contents of the stat fields")
// man 5 proc_pid_stat. comm is in parentheses and may itself hold spaces and ')', so the fields
// after it are found from the last ')'.
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { readControlFile } from './read_small.js';
import { decimalAt, kernelLines, parseNumber, quote } from './util.js';

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
  return scanPidStat(text) ?? parsePidStatLine(text, file);
}

/**
 * The fast path of parsePidStat: the same fields found by counting spaces instead of splitting
 * the line; undefined where the text is not one line as the kernel writes it, or a field read is
 * not a number (parsePidStatLine then says which).
 */
function scanPidStat(text: string): PidStat | undefined {
  const nl = text.length - 1;
  if (nl < 1 || nl > 4096 || text.indexOf('\n') !== nl || text.indexOf('\0') >= 0) return undefined;
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(') ', nl);
  if (open < 0 || close < open) return undefined;
  const pid = decimalAt(text, 0, open);
  if (pid !== pid) return undefined;
  // field k (3 = state) starts after the (k - 3)th space past ") "
  const start = close + 2;
  let state = '';
  let ppid = NaN;
  let flags = NaN;
  let utime = NaN;
  let stime = NaN;
  let threads = NaN;
  let starttime = NaN;
  let rss = NaN;
  let k = 3;
  for (let s = start; ; k++) {
    let e = text.indexOf(' ', s);
    if (e < 0 || e > nl) e = nl;
    switch (k) {
      case 3: state = text.slice(s, e); break;
      case 4: ppid = decimalAt(text, s, e); break;
      case 9: flags = decimalAt(text, s, e); break;
      case 14: utime = decimalAt(text, s, e); break;
      case 15: stime = decimalAt(text, s, e); break;
      case 20: threads = decimalAt(text, s, e); break;
      case 22: starttime = decimalAt(text, s, e); break;
      case 24: rss = decimalAt(text, s, e); break;
    }
    // the fields past rss are not read (the kernel writes 52 today)
    if (e === nl || k === 24) break;
    s = e + 1;
  }
  // at least 24 fields, and every number read one (NaN is not equal to itself)
  if (k < 24 || ppid !== ppid || flags !== flags || utime !== utime || stime !== stime || threads !== threads || starttime !== starttime || rss !== rss) return undefined;
  return { comm: text.slice(open + 2, close), state, ppid, flags, utime, stime, threads, starttime, rss };
}

/** parsePidStat over kernelLines and a split(): the reference of its fast path, and the parse of whatever that does not take. */
export function parsePidStatLine(text: string, file: string): PidStat {
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
