// /proc/stat: CPU time and kernel activity counters since boot.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html#miscellaneous-kernel-statistics-in-proc-stat
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { expectFields, fields, kernelLines, MAX_LINE, parseNumber, parseNumbers, readKernelFile } from './util.js';

export interface ProcStat {
  /** Per-CPU lines only; the aggregate `cpu` line is their sum and is left to queries. */
  cpus: { cpu: number; jiffies: number[] }[];
  intr?: number;
  ctxt?: number;
  btime?: number;
  processes?: number;
  procsRunning?: number;
  procsBlocked?: number;
}

// user nice system idle came first; iowait, irq, softirq, steal, guest, guest_nice were appended
// by later kernels. Columns past the tenth would be new ones no caller knows the meaning of.
const MIN_CPU_COLUMNS = 4;
const MAX_CPU_COLUMNS = 10;

const SCALARS = new Map<string, 'ctxt' | 'btime' | 'processes' | 'procsRunning' | 'procsBlocked'>([
  ['ctxt', 'ctxt'],
  ['btime', 'btime'],
  ['processes', 'processes'],
  ['procs_running', 'procsRunning'],
  ['procs_blocked', 'procsBlocked'],
]);

export function parseStat(text: string, file = '/proc/stat'): ProcStat {
  const stat: ProcStat = { cpus: [] };
  // `intr` (and `softirq`) have a column per interrupt: long on a big host, so only they may be long.
  const all = kernelLines(text, file, { maxLine: Infinity });
  for (const [line, n] of all) {
    if (line.length > MAX_LINE && !/^(intr|softirq) /.test(line)) {
      throw new ParseError(file, n, `line of ${line.length} characters (at most ${MAX_LINE} expected)`);
    }
    const [key = '', ...rest] = fields(line);
    const cpu = /^cpu(\d+)$/.exec(key);
    const scalar = SCALARS.get(key);
    if (cpu) {
      if (rest.length < MIN_CPU_COLUMNS) {
        throw new ParseError(file, n, `${key}: expected at least ${MIN_CPU_COLUMNS} columns, got ${rest.length}`);
      }
      stat.cpus.push({ cpu: Number(cpu[1]), jiffies: parseNumbers(rest.slice(0, MAX_CPU_COLUMNS), file, n) });
    } else if (key === 'intr') {
      // Only the leading total is kept; the per-IRQ columns run into the thousands on big hosts.
      stat.intr = parseNumber(rest[0], file, n, 'intr total');
    } else if (scalar) {
      expectFields(rest, 1, file, n);
      stat[scalar] = parseNumber(rest[0], file, n);
    }
    // Anything else (the aggregate `cpu`, softirq, page, swap...) is not needed or not stable.
  }
  // The kernel begins with the aggregate `cpu` line and prints one line per CPU after it.
  if (fields(all[0]![0])[0] !== 'cpu') throw new ParseError(file, all[0]![1], 'expected the aggregate "cpu" line first');
  if (stat.cpus.length === 0) throw new ParseError(file, all.at(-1)![1], 'no "cpuN" line');
  return stat;
}

export function readStat(procRoot: string): ProcStat {
  const file = join(procRoot, 'stat');
  return parseStat(readKernelFile(file), file);
}
