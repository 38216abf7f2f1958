import { expect } from 'chai';
import { loadavg } from 'node:os';
import { parseLoadavg, readLoadavg, type Loadavg } from '../../src/procfs/loadavg.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/loadavg';

const cases: Case<Loadavg>[] = [
  {
    name: 'real sample',
    input: '1.19 0.63 0.29 3/145 6681\n',
    expect: { load1: 1.19, load5: 0.63, load15: 0.29, running: 3, total: 145, lastPid: 6681 },
  },
  {
    name: 'big host',
    input: '120.50 98.00 64.25 97/31024 4194303\n',
    expect: { load1: 120.5, load5: 98, load15: 64.25, running: 97, total: 31024, lastPid: 4194303 },
  },
  { name: 'empty input (the file is never empty)', input: '', error: { line: 1, contains: 'empty file' } },
  { name: 'truncated line', input: '0.08 0.03 0.01 1/123\n', error: { line: 1, contains: 'expected 5 fields, got 4' } },
  { name: 'extra column (error)', input: '0.08 0.03 0.01 1/123 4567 9\n', error: { line: 1, contains: 'got 6' } },
  { name: 'second line (error)', input: '0.08 0.03 0.01 1/123 4567\n0.08 0.03 0.01 1/123 4567\n', error: { line: 2 } },
  { name: 'non-numeric load names the token', input: '0.08 nan 0.01 1/123 4567\n', error: { line: 1, contains: '"nan"' } },
  { name: 'tasks without a slash', input: '0.08 0.03 0.01 123 4567\n', error: { line: 1, contains: 'missing running/total' } },
  { name: 'tasks with two slashes', input: '0.08 0.03 0.01 1/2/3 4567\n', error: { line: 1, contains: '"1/2/3"' } },
  { name: 'non-numeric task count', input: '0.08 0.03 0.01 1/x 4567\n', error: { line: 1, contains: '"x"' } },
];

describe('procfs/loadavg', () => {
  runTable(FILE, (text) => parseLoadavg(text), cases);

  it('reader: this machine agrees with os.loadavg() and has running <= total', () => {
    const avg = readLoadavg('/proc');
    const [one = 0] = loadavg();
    expect(avg.load1).to.be.closeTo(one, 5);
    expect(avg.running).to.be.within(0, avg.total);
    expect(avg.lastPid).to.be.greaterThan(0);
  });

  itPropagatesEnoent(readLoadavg);
  runTable(FILE, (text) => parseLoadavg(text), malformedCases('0.08 0.03 0.01 1/123 4567\n', { nan: { input: '0.08 NaN 0.01 1/123 4567\n', line: 1 } }));
  itRejectsDirectory(readLoadavg, 'loadavg');
});
