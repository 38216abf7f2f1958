// Small helpers shared by the procfs parsers, so each parser stays a few lines of shape checks.
import { readFileSync } from 'node:fs';
import { ParseError } from './errors.js';

// Number() alone also accepts '', '0x1f', '1e3' and 'Infinity'; the kernel prints none of those,
// so seeing one means we are not reading the file we think we are. Nor does it print more than
// 20 integer digits (2^64 - 1) or, in these files, more than a few decimals.
const DECIMAL = /^-?\d{1,20}(?:\.\d{1,9})?$/;

/** A token or line for an error message: quoted, and cut short when long (a 1 MB line, say). */
export function quote(text: string, max = 80): string {
  return text.length <= max ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, max))}... (${text.length} characters)`;
}

/** A decimal token as a number; `what` names the field in the error when the token is missing. */
export function parseNumber(token: string | undefined, file: string, line: number, what = 'number'): number {
  if (token === undefined) throw new ParseError(file, line, `missing ${what}`);
  if (!DECIMAL.test(token)) throw new ParseError(file, line, `not a number: ${quote(token)}`);
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
  const [first, second] = kernelLines(text, file, { maxLine: 4096 });
  if (!first) throw new ParseError(file, 1, 'empty file');
  if (second) throw new ParseError(file, second[1], 'expected a single line');
  return [fields(first[0]), first[1]];
}

/** Longest line kernelLines accepts unless told otherwise; the files parsed here print far less. */
export const MAX_LINE = 64 * 1024;

export interface KernelLinesOptions {
  /** an empty file is what the kernel writes in some case (say which in the parser's header). */
  emptyOk?: boolean;
  /** longest line that can be what the kernel writes (default MAX_LINE). */
  maxLine?: number;
  /** a last line without its newline is accepted: for files people write (os-release), not the kernel. */
  unterminatedOk?: boolean;
}

/**
 * lines(), after checking that the text can be what the kernel writes into a text file: no NUL
 * byte (binary data), no line longer than maxLine, a newline at the end (every kernel text file
 * ends its last line with one, so a file without it was cut short), and some content unless
 * emptyOk. Each error names the file and the line.
 */
export function kernelLines(text: string, file: string, opts: KernelLinesOptions = {}): [line: string, lineNumber: number][] {
  const nul = text.indexOf('\0');
  if (nul >= 0) throw new ParseError(file, lineAt(text, nul), 'a NUL byte: binary data, not the text the kernel writes');
  const maxLine = opts.maxLine ?? MAX_LINE;
  let start = 0;
  for (let n = 1; start < text.length; n++) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    if (end - start > maxLine) throw new ParseError(file, n, `line of ${end - start} characters (at most ${maxLine} expected)`);
    if (nl < 0) {
      if (opts.unterminatedOk) break;
      throw new ParseError(file, n, `last line cut short (no newline at the end): ${quote(text.slice(start))}`);
    }
    start = nl + 1;
  }
  const out = lines(text);
  if (out.length === 0 && !opts.emptyOk) throw new ParseError(file, 1, 'empty file (the kernel never writes it empty)');
  return out;
}

/** 1-based line number of a character offset. */
function lineAt(text: string, offset: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Reads a kernel file as text. A directory where the file should be is an error naming the file
 * (Node's EISDIR names neither it nor a line); a missing file stays Node's ENOENT, which the
 * collectors read as "this kernel does not have it".
 */
export function readKernelFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new ParseError(file, 0, 'a directory, not the kernel file');
    throw err;
  }
}

// The fast paths of the hot parsers (cgroup and /proc/<pid> files, ~3,000 a collection): a scan
// over the text by character codes that takes only what the kernel writes byte for byte (one
// space between fields, a newline ending every line, decimal digits) and gives up, returning
// undefined or NaN, on anything else. The parser then parses the same text line by line as it
// always did, which gives the same values or the same error (file, line, message): so an input
// no kernel writes is rejected exactly as before, and only the texts the kernel does write skip
// the split()s, regular expressions and arrays. Tested equal over mutated samples
// (test/procfs/fast-parse.test.ts).

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/** A character code of 0-9. */
export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * The number parseNumber reads from text[start, end), or NaN where it would throw. Up to 15
 * digits the digits are summed exactly (and a fraction divided by an exact power of ten, which
 * rounds as Number() does); longer, Number() of the slice.
 */
export function decimalAt(text: string, start: number, end: number): number {
  let i = start;
  const neg = i < end && text.charCodeAt(i) === 45; // '-'
  if (neg) i++;
  const intStart = i;
  let v = 0;
  for (; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  const intDigits = i - intStart;
  if (intDigits === 0 || intDigits > 20) return NaN;
  let fracDigits = 0;
  if (i < end) {
    if (text.charCodeAt(i) !== 46) return NaN; // '.'
    const fracStart = ++i;
    for (; i < end; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return NaN;
      v = v * 10 + d;
    }
    fracDigits = i - fracStart;
    if (fracDigits === 0 || fracDigits > 9) return NaN;
  }
  if (intDigits + fracDigits > 15) return Number(text.slice(start, end));
  if (fracDigits > 0) v /= POW10[fracDigits]!;
  return neg ? -v : v;
}

/** Index of the first character at or after `i` that ends a field (a space, a newline or any control character, or a non-ASCII one), or `end`. */
export function fieldEnd(text: string, i: number, end: number): number {
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c >= 127) return i;
  }
  return end;
}
