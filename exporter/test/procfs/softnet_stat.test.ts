import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { parseSoftnetStat, readSoftnetStat, type SoftnetLine } from '../../src/procfs/softnet_stat.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/net/softnet_stat';

const cases: Case<SoftnetLine[]>[] = [
  {
    name: 'Linux 5.10+: 13 columns, the CPU index in the last (cpu 1 offline)',
    input: '00049f4b 00000000 00000002 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n'
      + '0001a2b3 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 0000000a 00000003 00000004 00000002\n',
    expect: [
      { cpu: '0', values: [0x49f4b, 0, 2, 0, 0, 0, 0] },
      { cpu: '2', values: [0x1a2b3, 1, 0, 0, 10, 3, 4] },
    ],
  },
  {
    name: 'Linux 3.11-5.9: 11 columns, the line number stands for the CPU',
    input: '0b2c1d4e 00000000 0000002a 00000000 00000000 00000000 00000000 00000000 00000000 00000005 00000000\n'
      + '09f3a1c7 00000003 00000011 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001\n',
    expect: [
      { cpu: '0', values: [0x0b2c1d4e, 0, 42, 0, 5, 0] },
      { cpu: '1', values: [0x09f3a1c7, 3, 17, 0, 0, 1] },
    ],
  },
  {
    name: 'before RPS (2.6.34): 9 columns',
    input: '00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n',
    expect: [{ cpu: '0', values: [16, 0, 0, 0] }],
  },
  { name: 'empty file (error: a line per online CPU)', input: '', error: { line: 1, contains: 'empty' } },
  { name: 'truncated line', input: '00000010 00000000 00000000\n', error: { line: 1, contains: 'at least 9 columns, got 3' } },
  { name: 'decimal instead of hex names the token', input: '00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 12\n', error: { line: 1, contains: '"12"' } },
  { name: 'non-hex token on line 2', input: '00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n0000001g 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n', error: { line: 2, contains: '"0000001g"' } },
];

describe('procfs/softnet_stat', () => {
  runTable(FILE, (t) => parseSoftnetStat(t, FILE), cases);

  it('reader: this machine has a line per online CPU', function () {
    if (!existsSync('/proc/net/softnet_stat')) return this.skip();
    const lines = readSoftnetStat('/proc');
    expect(lines.length).to.be.greaterThan(0);
    for (const l of lines) expect(l.values.length).to.be.within(4, 7);
  });

  itPropagatesEnoent(readSoftnetStat);
  runTable(FILE, (t) => parseSoftnetStat(t, FILE), malformedCases('00049f4b 00000000 00000002 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n'));
  itRejectsDirectory(readSoftnetStat, 'net/softnet_stat');
});
