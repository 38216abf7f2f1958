import { expect } from 'chai';
import { parseVmstat, readVmstat } from '../../src/procfs/vmstat.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/vmstat';

const cases: Case<Record<string, number>>[] = [
  {
    name: 'real sample',
    input: 'nr_free_pages 1058056\nnr_zone_inactive_anon 48207\nnuma_hit 2148849\npgpgin 873701\npswpin 0\n',
    expect: { nr_free_pages: 1058056, nr_zone_inactive_anon: 48207, numa_hit: 2148849, pgpgin: 873701, pswpin: 0 },
  },
  {
    name: 'large counter stays a Number',
    input: 'pgfault 123456789012345\n',
    expect: { pgfault: 123456789012345 },
  },
  { name: 'a name the kernel does not print', input: 'pgpgin 1\npg-pg 2\n', error: { line: 2, contains: 'not a counter name' } },
  { name: 'truncated line (no value)', input: 'pgpgin 1\npgpgout\n', error: { line: 2, contains: 'expected 2 fields, got 1' } },
  { name: 'extra column (error)', input: 'pgpgin 1 2\n', error: { line: 1, contains: 'got 3' } },
  { name: 'non-numeric value names the token', input: 'pgpgin 0x10\n', error: { line: 1, contains: '"0x10"' } },
];

describe('procfs/vmstat', () => {
  runTable(FILE, (text) => parseVmstat(text), cases);

  it('reader: this machine reports free pages', () => {
    const vm = readVmstat('/proc');
    expect(vm['nr_free_pages']).to.be.greaterThan(0);
    expect(Object.keys(vm).length).to.be.greaterThan(50);
  });

  itPropagatesEnoent(readVmstat);
  runTable(FILE, (text) => parseVmstat(text), malformedCases('nr_free_pages 1058056\npgpgin 873701\npswpin 0\n', { nan: { input: 'pgpgin NaN\n', line: 1 } }));
  itRejectsDirectory(readVmstat, 'vmstat');
});
