import { expect } from 'chai';
import { parseNetArp, readNetArp } from '../../src/procfs/net_arp.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/net/arp';
const HEADER = 'IP address       HW type     Flags       HW address            Mask     Device\n';

const cases: Case<Record<string, number>>[] = [
  {
    name: 'entries per device, incomplete ones counted too',
    input: HEADER
      + '192.0.2.1        0x1         0x2         52:54:00:12:35:02     *        eth0\n'
      + '198.51.100.7     0x1         0x2         3c:ec:ef:10:30:01     *        bond0\n'
      + '192.0.2.3        0x1         0x0         00:00:00:00:00:00     *        eth0\n',
    expect: { eth0: 2, bond0: 1 },
  },
  { name: 'empty table: the header alone', input: HEADER, expect: {} },
  { name: 'empty file (error)', input: '', error: { line: 1, contains: 'header' } },
  { name: 'missing header', input: '192.0.2.1 0x1 0x2 52:54:00:12:35:02 * eth0\n', error: { line: 1, contains: 'header' } },
  { name: 'short line', input: `${HEADER}192.0.2.1 0x1 0x2 52:54:00:12:35:02 eth0\n`, error: { line: 2, contains: 'expected 6 columns, got 5' } },
  { name: 'flags not hex', input: `${HEADER}192.0.2.1 0x1 2 52:54:00:12:35:02 * eth0\n`, error: { line: 2, contains: 'hex' } },
];

describe('procfs/net_arp', () => {
  runTable(FILE, (t) => parseNetArp(t, FILE), cases);

  it('reader: this machine', () => {
    for (const n of Object.values(readNetArp('/proc'))) expect(n).to.be.greaterThan(0);
  });

  itPropagatesEnoent(readNetArp);
  runTable(FILE, (t) => parseNetArp(t, FILE), malformedCases(`${HEADER}192.0.2.1        0x1         0x2         52:54:00:12:35:02     *        eth0\n`));
  itRejectsDirectory(readNetArp, 'net/arp');
});
