import { expect } from 'chai';
import { parseDiskstats, readDiskstats, type DiskStats } from '../../src/procfs/diskstats.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/diskstats';

const SAMPLE = '   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n 254       0 vda 39298 7096 1747402 10035 25234 15257 1677736 10607 0 9728 24640 9387 62 744248 2679 4715 1317\n';

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

const cases: Case<DiskStats[]>[] = [
  {
    name: 'real sample (17 fields, Linux 5.5+)',
    input: `   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 39298 7096 1747402 10035 25234 15257 1677736 10607 0 9728 24640 9387 62 744248 2679 4715 1317
`,
    expect: [
      { major: 7, minor: 0, device: 'loop0', fields: Array(17).fill(0) },
      {
        major: 254,
        minor: 0,
        device: 'vda',
        fields: [39298, 7096, 1747402, 10035, 25234, 15257, 1677736, 10607, 0, 9728, 24640, 9387, 62, 744248, 2679, 4715, 1317],
      },
    ],
  },
  {
    name: 'pre-4.18 kernel: 11 fields',
    input: '   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n',
    expect: [{ major: 8, minor: 0, device: 'sda', fields: range(11) }],
  },
  {
    name: '4.18-5.4 kernel: 15 fields (discards), device names with dashes',
    input: ' 259       1 nvme0n1p1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n 253       0 dm-0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n',
    expect: [
      { major: 259, minor: 1, device: 'nvme0n1p1', fields: range(15) },
      { major: 253, minor: 0, device: 'dm-0', fields: range(15) },
    ],
  },
  {
    name: 'extra columns (tolerated): a future 18th field is dropped',
    input: '8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\n',
    expect: [{ major: 8, minor: 0, device: 'sda', fields: range(17) }],
  },
  { name: 'empty input: no block devices (a container, a diskless host)', input: '', expect: [] },
  {
    name: 'truncated line (10 fields) is an error',
    input: '8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n8 1 sda1 1 2 3 4 5 6 7 8 9 10\n',
    error: { line: 2, contains: 'at least 11 stat fields after the device name, got 10' },
  },
  {
    name: '2.6-era 4-field partition line is an error',
    input: '8 1 sda1 1 2 3 4\n',
    error: { line: 1, contains: 'got 4' },
  },
  { name: 'non-numeric major names the token', input: 'x 0 sda 1 2 3 4 5 6 7 8 9 10 11\n', error: { line: 1, contains: '"x"' } },
  { name: 'non-numeric field names the token', input: '8 0 sda 1 2 3 4 5 6 7 8 9 10 1.1.1\n', error: { line: 1, contains: '"1.1.1"' } },
];

describe('procfs/diskstats', () => {
  runTable(FILE, (text) => parseDiskstats(text), cases);

  it('reader: every device on this machine has 11..17 fields', () => {
    const disks = readDiskstats('/proc');
    for (const d of disks) {
      expect(d.device).to.not.equal('');
      expect(d.fields.length).to.be.within(11, 17);
    }
  });

  itPropagatesEnoent(readDiskstats);
  runTable(FILE, (text) => parseDiskstats(text), malformedCases(SAMPLE, { empty: [], nan: { input: '8 0 sda 1 2 3 NaN 5 6 7 8 9 10 11\n', line: 1 } }));
  itRejectsDirectory(readDiskstats, 'diskstats');
});
