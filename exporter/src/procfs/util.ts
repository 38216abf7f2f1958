// Small helpers shared by the procfs parsers, so each parser stays a few lines of shape checks.
import { ParseError } from './errors.js';

// Number() alone also accepts '', '0x1f', '1e3' and 'Infinity'; the kernel prints none of those,
// so seeing one means we are not reading the file we think we are.
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/** A decimal token as a number; `what` names the field in the error when the token is missing. */
export function parseNumber(token: string | undefined, file: string, line: number, what = 'number'): number {
  if (token === undefined) throw new ParseError(file, line, `missing ${what}`);
  if (!DECIMAL.test(token)) throw new ParseError(file, line, `not a number: ${JSON.stringify(token)}`);
  return Number(token);
}

export function parseNumbers(tokens: readonly string[], file: string, line: number): number[] {
  return tokens.map((t) => parseNumber(t, file, line));
}

/**
 * Non-blank lines with their 1-based numbers. Counting blank lines too keeps the numbers equal to
 * what an editor shows; skipping them drops the trailing newline every proc file ends with.
 */
export function lines(text: string): [line: string, lineNumber: number][] {
  const out: [string, number][] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() !== '') out.push([line, i + 1]);
  });
  return out;
}

/** Whitespace-separated fields; none for a blank string. */
export function fields(line: string): string[] {
  const trimmed = line.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

/** Throws unless there are exactly `count` fields: for formats that have never grown a column. */
export function expectFields(tokens: readonly string[], count: number, file: string, line: number): void {
  if (tokens.length !== count) {
    throw new ParseError(file, line, `expected ${count} field${count === 1 ? '' : 's'}, got ${tokens.length}`);
  }
}

/** Fields of a file the kernel always prints as exactly one line (loadavg, uptime, file-nr). */
export function onlyLine(text: string, file: string): [fields: string[], lineNumber: number] {
  const [first, second] = lines(text);
  if (!first) throw new ParseError(file, 1, 'empty file');
  if (second) throw new ParseError(file, second[1], 'expected a single line');
  return [fields(first[0]), first[1]];
}
