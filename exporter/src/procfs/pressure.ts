// /proc/pressure/{cpu,memory,io}: pressure stall information (PSI), Linux 4.20+.
// https://www.kernel.org/doc/html/latest/accounting/psi.html (Documentation/accounting/psi.rst)
import { join } from 'node:path';
import { ParseError } from './errors.js';
import { fields, kernelLines, parseNumber, quote, readKernelFile } from './util.js';

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
