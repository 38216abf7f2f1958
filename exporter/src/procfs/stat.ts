// /proc/stat: CPU time and kernel activity counters since boot.
// https://www.kernel.org/doc/html/latest/filesystems/proc.html#miscellaneous-kernel-statistics-in-proc-stat
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { expectFields, fields, lines, parseNumber, parseNumbers } from './util.js';

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
  for (const [line, n] of lines(text)) {
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
  return stat;
}

export function readStat(procRoot: string): ProcStat {
  const file = join(procRoot, 'stat');
  return parseStat(readFileSync(file, 'utf8'), file);
}
