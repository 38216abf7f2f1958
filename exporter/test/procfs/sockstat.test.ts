import { expect } from 'chai';
import { parseSockstat, readSockstat, type Sockstat } from '../../src/procfs/sockstat.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/net/sockstat';

const cases: Case<Sockstat>[] = [
  {
    name: 'real sample (mem stays in pages)',
    input: `sockets: used 29
TCP: inuse 11 orphan 0 tw 2 alloc 14 mem 208
UDP: inuse 0 mem 0
UDPLITE: inuse 0
RAW: inuse 0
FRAG: inuse 0 memory 0
`,
    expect: {
      sockets: { used: 29 },
      TCP: { inuse: 11, orphan: 0, tw: 2, alloc: 14, mem: 208 },
      UDP: { inuse: 0, mem: 0 },
      UDPLITE: { inuse: 0 },
      RAW: { inuse: 0 },
      FRAG: { inuse: 0, memory: 0 },
    },
  },
  { name: 'no "sockets:" line first (the kernel always begins with it)', input: 'TCP: inuse 3\n', error: { line: 1, contains: 'sockets: used N' } },
  { name: 'truncated line (key without value)', input: 'sockets: used 29\nTCP: inuse 11 orphan\n', error: { line: 2, contains: '"orphan" has no value' } },
  { name: 'extra column (error): unpaired token', input: 'UDP: inuse 0 mem 0 7\n', error: { line: 1, contains: '"7" has no value' } },
  { name: 'line without a PROTO: prefix', input: 'TCP inuse 11\n', error: { line: 1 } },
  { name: 'non-numeric value names the token', input: 'TCP: inuse eleven\n', error: { line: 1, contains: '"eleven"' } },
];

describe('procfs/sockstat', () => {
  runTable(FILE, (text) => parseSockstat(text), cases);

  it('reader: this machine reports used sockets and TCP counts', () => {
    const stat = readSockstat('/proc');
    expect(stat['sockets']?.['used']).to.be.at.least(0);
    expect(stat['TCP']).to.include.keys('inuse', 'orphan', 'tw', 'alloc', 'mem');
  });

  itPropagatesEnoent(readSockstat);
  runTable(FILE, (text) => parseSockstat(text), malformedCases('sockets: used 187\nTCP: inuse 7 orphan 0 tw 3 alloc 9 mem 2\n', { nan: { input: 'sockets: used NaN\n', line: 1 } }));
  itRejectsDirectory(readSockstat, 'net/sockstat');
  describe('/proc/net/sockstat6 (no "sockets:" line)', () => {
    runTable('/proc/net/sockstat6', (text) => parseSockstat(text, '/proc/net/sockstat6'), [
      { name: 'sockstat6 layout and a protocol line without pairs', input: 'TCP6: inuse 3\nUDP6: inuse 1\nMPTCP:\n', expect: { TCP6: { inuse: 3 }, UDP6: { inuse: 1 }, MPTCP: {} } },
      { name: 'empty input', input: '', error: { line: 1, contains: 'empty file' } },
    ]);
  });
});
