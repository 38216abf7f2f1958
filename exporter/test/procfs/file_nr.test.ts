import { expect } from 'chai';
import { parseFileNr, readFileNr, type FileNr } from '../../src/procfs/file_nr.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/sys/fs/file-nr';

const cases: Case<FileNr>[] = [
  { name: 'real sample (tab-separated)', input: '751\t0\t2466160\n', expect: { allocated: 751, unused: 0, max: 2466160 } },
  {
    name: 'max at LONG_MAX-ish (fs.file-max raised) stays a Number',
    input: '1024\t0\t9223372036854775807\n',
    expect: { allocated: 1024, unused: 0, max: 9223372036854775807 },
  },
  { name: 'empty input (the file is never empty)', input: '', error: { line: 1, contains: 'empty file' } },
  { name: 'truncated line', input: '751\t0\n', error: { line: 1, contains: 'expected 3 fields, got 2' } },
  { name: 'extra column (error)', input: '751\t0\t2466160\t4\n', error: { line: 1, contains: 'got 4' } },
  { name: 'non-numeric value names the token', input: '751\t-\t2466160\n', error: { line: 1, contains: '"-"' } },
];

describe('procfs/file_nr', () => {
  runTable(FILE, (text) => parseFileNr(text), cases);

  it('reader: this machine has some handles allocated, below the maximum', () => {
    const nr = readFileNr('/proc');
    expect(nr.allocated).to.be.greaterThan(0);
    expect(nr.allocated).to.be.at.most(nr.max);
  });

  itPropagatesEnoent(readFileNr);
  runTable(FILE, (text) => parseFileNr(text), malformedCases('751\t0\t2466160\n', { nan: { input: '751\t0\tNaN\n', line: 1 } }));
  itRejectsDirectory(readFileNr, 'sys/fs/file-nr');
});
