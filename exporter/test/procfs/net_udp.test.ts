import { expect } from 'chai';
import { parseNetUdp, readNetUdp } from '../../src/procfs/net_udp.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/net/udp';
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n';

const cases: Case<[number, number]>[] = [
  {
    name: 'queues summed over sockets',
    input: HEADER
      + '  113: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 18372 2 0000000000000000 0\n'
      + '  127: 0A01A8C0:0044 00000000:0000 07 00000000:00000A00 00:00000000 00000000   100        0 19021 2 0000000000000000 0\n'
      + '  334: 00000000:0202 00000000:0000 07 00000200:00000000 00:00000000 00000000     0        0 20113 2 0000000000000000 5\n',
    expect: [0x200, 0xa00],
  },
  { name: 'no sockets: the header alone', input: HEADER, expect: [0, 0] },
  { name: 'empty file (error: the kernel always prints the header)', input: '', error: { line: 1, contains: 'header' } },
  { name: 'missing header', input: '  113: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0 0\n', error: { line: 1, contains: 'header' } },
  { name: 'queues not hex pairs', input: `${HEADER}  1: 00000000:0035 00000000:0000 07 12:34 00:00000000 00000000 0 0 1 2 0 0\n`, error: { line: 2, contains: '"12:34"' } },
  { name: 'truncated line', input: `${HEADER}  1: 00000000:0035\n`, error: { line: 2, contains: 'column 5' } },
];

describe('procfs/net_udp', () => {
  runTable(FILE, (t) => parseNetUdp(t, FILE), cases);

  it('reader: this machine', () => {
    const [tx, rx] = readNetUdp('/proc', 'v4');
    expect(tx).to.be.at.least(0);
    expect(rx).to.be.at.least(0);
  });

  itPropagatesEnoent((root) => readNetUdp(root, 'v4'));
  runTable(FILE, (t) => parseNetUdp(t, FILE), malformedCases(`${HEADER}  113: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 18372 2 0000000000000000 0\n`));
  itRejectsDirectory((root) => readNetUdp(root, 'v4'), 'net/udp');
});
