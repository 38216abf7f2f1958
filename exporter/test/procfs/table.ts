// Runs a parser over a table of cases; shared by the procfs tests (not itself a *.test.ts file).
import { expect } from 'chai';
import { ParseError } from '../../src/procfs/errors.js';

export type Case<T> =
  | { name: string; input: string; expect: T }
  /** `contains`: a piece of the message, e.g. the offending token. */
  | { name: string; input: string; error: { line: number; contains?: string } };

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
      expect(err.line).to.equal(c.error.line);
      const prefix = `${file}:${c.error.line}: `;
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

