// /proc/net/softnet_stat: one line per online CPU, columns in hex (net/core/net-procfs.c):
// processed, dropped, time_squeeze, five zeros, cpu_collision, received_rps (2.6.35+),
// flow_limit_count (3.11+), softnet_backlog_len and the CPU index (5.10+). Before 5.10 there is no
// index column and the lines of offline CPUs are missing, so the line's position stands for it.
// https://www.kernel.org/doc/html/latest/networking/scaling.html
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, readKernelFile } from './util.js';

export interface SoftnetLine {
  cpu: string;
  /** processed, dropped, time_squeeze, cpu_collision[, received_rps[, flow_limit_count[, backlog_len]]] */
  values: number[];
}

const HEX = /^[0-9a-f]{8}$/;
/** column of each value, in SoftnetLine.values order */
const COLUMNS = [0, 1, 2, 8, 9, 10, 11];
const INDEX_COLUMN = 12;

export function parseSoftnetStat(text: string, file: string): SoftnetLine[] {
  const out: SoftnetLine[] = [];
  const all = kernelLines(text, file, { emptyOk: true });
  if (all.length === 0) throw new ParseError(file, 1, 'empty file (the kernel prints a line per online CPU)');
  all.forEach(([line, n], i) => {
    const cols = fields(line);
    if (cols.length < 9) throw new ParseError(file, n, `expected at least 9 columns, got ${cols.length}`);
    const bad = cols.find((c) => !HEX.test(c));
    if (bad !== undefined) throw new ParseError(file, n, `not an 8-digit hex value: ${JSON.stringify(bad)}`);
    const values = COLUMNS.filter((c) => c < cols.length).map((c) => parseInt(cols[c]!, 16));
    const cpu = cols.length > INDEX_COLUMN ? String(parseInt(cols[INDEX_COLUMN]!, 16)) : String(i);
    out.push({ cpu, values });
  });
  return out;
}

export function readSoftnetStat(procRoot: string): SoftnetLine[] {
  const file = join(procRoot, 'net/softnet_stat');
  return parseSoftnetStat(readKernelFile(file), file);
}
