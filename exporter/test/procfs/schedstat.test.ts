import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { parseSchedstat, readSchedstat, type SchedstatCpu } from '../../src/procfs/schedstat.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/schedstat';

const cases: Case<SchedstatCpu[]>[] = [
  {
    name: 'version 15 with domain lines',
    input: 'version 15\ntimestamp 4380116672\ncpu0 0 0 0 0 0 0 412345678901234 23456789012 98765432\n'
      + 'domain0 00000000,00000003 1234 1200 30 40 5 0 2 1100 88 80 3 4 1 0 0 70 120 110 9 8 2 0 1 105 0 0 0 0 0 0 0 0 0 2345 300 0\n'
      + 'cpu1 0 0 0 0 0 0 3 4 5\n',
    expect: [
      { cpu: '0', runningNs: 412345678901234, waitingNs: 23456789012, timeslices: 98765432 },
      { cpu: '1', runningNs: 3, waitingNs: 4, timeslices: 5 },
    ],
  },
  { name: 'version 17 (6.x) reads the same cpu fields', input: 'version 17\ntimestamp 1\ncpu0 0 0 0 0 0 0 7 8 9\n', expect: [{ cpu: '0', runningNs: 7, waitingNs: 8, timeslices: 9 }] },
  { name: 'empty file (error)', input: '', error: { line: 1, contains: 'empty file' } },
  { name: 'no version line', input: 'cpu0 0 0 0 0 0 0 7 8 9\n', error: { line: 1, contains: 'expected "version N"' } },
  { name: 'an old version (error)', input: 'version 14\ncpu0 0 0 0 0 0 0 7 8 9\n', error: { line: 1, contains: 'version 14' } },
  { name: 'short cpu line', input: 'version 15\ncpu0 1 2 3\n', error: { line: 2, contains: 'expected 9 numbers after cpu0, got 3' } },
  { name: 'non-numeric field names it', input: 'version 15\ncpu0 0 0 0 0 0 0 x 8 9\n', error: { line: 2, contains: '"x"' } },
  { name: 'unknown line', input: 'version 15\nnode0 1 2\n', error: { line: 2, contains: '"node0"' } },
];

describe('procfs/schedstat', () => {
  runTable(FILE, (t) => parseSchedstat(t, FILE), cases);

  it('reader: this machine (when the kernel has CONFIG_SCHEDSTATS)', function () {
    if (!existsSync('/proc/schedstat')) return this.skip();
    expect(readSchedstat('/proc').length).to.be.greaterThan(0);
  });

  itPropagatesEnoent(readSchedstat);
  runTable(FILE, (t) => parseSchedstat(t, FILE), malformedCases('version 15\ntimestamp 4380116672\ncpu0 0 0 0 0 0 0 3 4 5\n', { nan: { input: 'version 15\ncpu0 0 0 0 0 0 0 NaN 4 5\n', line: 2 } }));
  itRejectsDirectory(readSchedstat, 'schedstat');
});
