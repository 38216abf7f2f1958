import { expect } from 'chai';
import { uptime } from 'node:os';
import { parseUptime, readUptime, type Uptime } from '../../src/procfs/uptime.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/uptime';

const cases: Case<Uptime>[] = [
  { name: 'real sample (idle summed over CPUs exceeds uptime)', input: '374.51 592.07\n', expect: { uptime: 374.51, idle: 592.07 } },
  { name: 'no trailing newline: cut short', input: '0.50 0.00', error: { line: 1, contains: 'cut short' } },
  { name: 'empty input (the file is never empty)', input: '', error: { line: 1, contains: 'empty file' } },
  { name: 'blank input counts as empty', input: '\n\n', error: { line: 1, contains: 'empty file' } },
  { name: 'truncated line', input: '374.51\n', error: { line: 1, contains: 'expected 2 fields, got 1' } },
  { name: 'extra column (error)', input: '374.51 592.07 1\n', error: { line: 1, contains: 'got 3' } },
  { name: 'non-numeric value names the token', input: '374.51 5e2\n', error: { line: 1, contains: '"5e2"' } },
];

describe('procfs/uptime', () => {
  runTable(FILE, (text) => parseUptime(text), cases);

  it('reader: this machine agrees with os.uptime()', () => {
    const up = readUptime('/proc');
    expect(up.uptime).to.be.closeTo(uptime(), 5);
    expect(up.idle).to.be.at.least(0);
  });

  itPropagatesEnoent(readUptime);
  runTable(FILE, (text) => parseUptime(text), malformedCases('374.51 592.07\n', { nan: { input: 'NaN 592.07\n', line: 1 } }));
  itRejectsDirectory(readUptime, 'uptime');
});
