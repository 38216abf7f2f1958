// Runs a parser over a table of cases; shared by the procfs tests (not itself a *.test.ts file).
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ParseError } from '../../src/procfs/errors.js';

export type Case<T> =
  | { name: string; input: string; expect: T }
  /** `contains`: a piece of the message, e.g. the offending token. `line: 'any'`: some line of the input. */
  | { name: string; input: string; error: { line: number | 'any'; contains?: string } };

export function runTable<T>(file: string, parse: (text: string) => T, cases: readonly Case<T>[]): void {
  for (const c of cases) {
    it(c.name, () => {
      if ('expect' in c) {
        expect(parse(c.input)).to.deep.equal(c.expect);
        return;
      }
      let caught: unknown;
      try {
        parse(c.input);
      } catch (err) {
        caught = err;
      }
      expect(caught, 'should throw').to.be.instanceOf(ParseError);
      const err = caught as ParseError;
      expect(err.file).to.equal(file);
      if (c.error.line === 'any') expect(err.line).to.be.within(1, c.input.split('\n').length);
      else expect(err.line).to.equal(c.error.line);
      const prefix = `${file}:${err.line}: `;
      expect(err.message.slice(0, prefix.length)).to.equal(prefix);
      if (c.error.contains !== undefined) expect(err.message).to.contain(c.error.contains);
    });
  }
}

/** A reader over a root without the file must surface Node's ENOENT untouched. */
export function itPropagatesEnoent(read: (procRoot: string) => unknown): void {
  it('reader: a missing file throws ENOENT unchanged', () => {
    expect(() => read('/nonexistent-proc-root')).to.throw().with.property('code', 'ENOENT');
  });
}


/** Deterministic pseudo-random bytes (mulberry32), so a failure can be reproduced. */
export function randomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

/**
 * The inputs no kernel writes, the same for every parser (issue #20): empty (or, where the parser's
 * header says an empty file is legitimate, its empty result), `NaN` text, `NaN` where a number
 * belongs, a last line cut short, a 1 MB line, a NUL byte, random bytes, random text.
 * sample: a real file as the kernel writes it (ending in a newline, its last line over 5 characters).
 */
export function malformedCases<T>(sample: string, opts: { nan?: { input: string; line: number }; empty?: T } = {}): Case<T>[] {
  const sampleLines = sample.split('\n').length - 1;
  const random = randomBytes(4096, 20).toString('utf8');
  const nul = random.indexOf('\0');
  const cases: Case<T>[] = [
    opts.empty === undefined
      ? { name: 'malformed: empty file', input: '', error: { line: 1 } }
      : { name: 'malformed: empty file is legitimate here', input: '', expect: opts.empty },
    opts.empty === undefined
      ? { name: 'malformed: blank lines only', input: '\n\n', error: { line: 1 } }
      : { name: 'malformed: blank lines only are legitimate here', input: '\n\n', expect: opts.empty },
    { name: 'malformed: NaN text', input: 'NaN\n', error: { line: 1 } },
    { name: 'malformed: last line cut short (no newline)', input: sample.slice(0, -5), error: { line: sampleLines, contains: 'cut short' } },
    { name: 'malformed: a 1 MB line', input: `${'9'.repeat(1 << 20)}\n${sample}`, error: { line: 1, contains: 'line of 1048576 characters' } },
    { name: 'malformed: a NUL byte in a good file', input: sample.replace('\n', '\n\0'), error: { line: 2, contains: 'NUL' } },
    { name: 'malformed: random bytes', input: random, error: { line: random.slice(0, nul).split('\n').length, contains: 'NUL' } },
    { name: 'malformed: random text', input: `${random.replaceAll('\0', ' ')}\n`, error: { line: 'any' } },
  ];
  if (opts.nan) cases.push({ name: 'malformed: NaN where a number belongs', input: opts.nan.input, error: { line: opts.nan.line, contains: '"NaN"' } });
  return cases;
}

/**
 * A directory where the kernel file should be: the reader fails with an error naming the file (not
 * Node's bare EISDIR, and not ENOENT, which collectors read as "absent").
 */
export function itRejectsDirectory(read: (procRoot: string) => unknown, relPath: string): void {
  it('reader: a directory in place of the file is an error naming the file', () => {
    const root = mkdtempSync(join(tmpdir(), 'perfwatch-procdir-'));
    try {
      mkdirSync(join(root, relPath), { recursive: true });
      mkdirSync(dirname(join(root, relPath)), { recursive: true });
      let caught: unknown;
      try {
        read(root);
      } catch (err) {
        caught = err;
      }
      expect(caught, 'should throw').to.be.instanceOf(ParseError);
      expect((caught as ParseError).message).to.equal(`${join(root, relPath)}: a directory, not the kernel file`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
