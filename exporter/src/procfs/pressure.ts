// /proc/pressure/{cpu,memory,io}: pressure stall information (PSI), Linux 4.20+.
// https://www.kernel.org/doc/html/latest/accounting/psi.html (Documentation/accounting/psi.rst)
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { decimalAt, fields, kernelLines, parseNumber, quote, readKernelFile } from './util.js';

/** avg* are percentages as printed; total is cumulative stall time in microseconds. */
export interface PsiLine {
  avg10: number;
  avg60: number;
  avg300: number;
  total: number;
}

/** `full` is absent for cpu before Linux 5.13, and should stay absent rather than read as 0. */
export interface Pressure {
  some?: PsiLine;
  full?: PsiLine;
}

export type PsiResource = 'cpu' | 'memory' | 'io';

export function parsePressure(text: string, file: string): Pressure {
  // the fast path: "some ...\n" and maybe "full ...\n", each exactly as psi_show() prints it
  if (text.startsWith('some ')) {
    const some: PsiLine = { avg10: 0, avg60: 0, avg300: 0, total: 0 };
    const end = scanPsiLine(text, 5, some);
    if (end === text.length) return { some };
    if (end > 0 && text.startsWith('full ', end)) {
      const full: PsiLine = { avg10: 0, avg60: 0, avg300: 0, total: 0 };
      if (scanPsiLine(text, end + 5, full) === text.length) return { some, full };
    }
  }
  return parsePressureLines(text, file);
}

/**
 * "avg10=X avg60=Y avg300=Z total=T\n" from `i`, exactly so, into `v` (the values as
 * parseNumber reads them): the index after the newline, or -1 for anything else (a value that
 * is NaN, `(x = decimalAt()) !== x`, is not one parseNumber reads).
 */
function scanPsiLine(text: string, i: number, v: PsiLine): number {
  if (!text.startsWith('avg10=', i)) return -1;
  let e = text.indexOf(' ', i + 6);
  if (e < 0 || e - i > 40 || (v.avg10 = decimalAt(text, i + 6, e)) !== v.avg10) return -1;
  if (!text.startsWith(' avg60=', e)) return -1;
  i = e + 7;
  e = text.indexOf(' ', i);
  if (e < 0 || e - i > 40 || (v.avg60 = decimalAt(text, i, e)) !== v.avg60) return -1;
  if (!text.startsWith(' avg300=', e)) return -1;
  i = e + 8;
  e = text.indexOf(' ', i);
  if (e < 0 || e - i > 40 || (v.avg300 = decimalAt(text, i, e)) !== v.avg300) return -1;
  if (!text.startsWith(' total=', e)) return -1;
  i = e + 7;
  e = text.indexOf('\n', i);
  if (e < 0 || e - i > 40 || (v.total = decimalAt(text, i, e)) !== v.total) return -1;
  return e + 1;
}

/** parsePressure line by line: the reference of the fast path, and the parse of whatever it does not take. */
export function parsePressureLines(text: string, file: string): Pressure {
  const out: Pressure = {};
  const all = kernelLines(text, file);
  for (const [line, n] of all) {
    const [kind = '', ...pairs] = fields(line);
    if (kind !== 'some' && kind !== 'full') {
      throw new ParseError(file, n, `expected "some" or "full", got ${quote(kind)}`);
    }
    const values = new Map<string, string>();
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new ParseError(file, n, `expected key=value, got ${quote(pair)}`);
      values.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    // Keys beyond these four are ignored, so a kernel that adds one still parses.
    const get = (key: string) => parseNumber(values.get(key), file, n, key);
    out[kind] = { avg10: get('avg10'), avg60: get('avg60'), avg300: get('avg300'), total: get('total') };
  }
  // The kernel prints `some` for every resource (`full` is the one that may be absent).
  if (!out.some) throw new ParseError(file, all[0]![1], 'no "some" line');
  return out;
}

export function readPressure(procRoot: string, resource: PsiResource): Pressure {
  const file = join(procRoot, 'pressure', resource);
  return parsePressure(readKernelFile(file), file);
}
