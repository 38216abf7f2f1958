import { expect } from 'chai';
import { networkInterfaces } from 'node:os';
import { parseNetDev, readNetDev, type NetDev } from '../../src/procfs/net_dev.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/net/dev';

const HEADER = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
`;

const cases: Case<NetDev[]>[] = [
  {
    name: 'real sample',
    input: `${HEADER}    lo:   39887     546    0    0    0     0          0         0    39887     546    0    0    0     0       0          0
  eth0: 105698299    4496    0    0    0     0          0         0   392183    3097    0    0    0     0       0          0
`,
    expect: [
      { device: 'lo', fields: [39887, 546, 0, 0, 0, 0, 0, 0, 39887, 546, 0, 0, 0, 0, 0, 0] },
      { device: 'eth0', fields: [105698299, 4496, 0, 0, 0, 0, 0, 0, 392183, 3097, 0, 0, 0, 0, 0, 0] },
    ],
  },
  {
    name: 'counter running into the name, names with dots and dashes',
    input: `${HEADER}  eth0:12345678901 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\nbond0.100-x: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n`,
    expect: [
      { device: 'eth0', fields: [12345678901, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16] },
      { device: 'bond0.100-x', fields: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16] },
    ],
  },
  { name: 'header only', input: HEADER, expect: [] },
  {
    name: 'missing header is an error rather than two lost interfaces',
    input: 'lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n',
    error: { line: 1, contains: 'column header' },
  },
  {
    name: 'second header line missing',
    input: 'Inter-|   Receive |  Transmit\nlo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n',
    error: { line: 2, contains: 'column header starting "face |"' },
  },
  {
    name: 'truncated line (15 columns) is an error',
    input: `${HEADER}lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n`,
    error: { line: 3, contains: 'lo: expected 16 columns, got 15' },
  },
  {
    name: 'extra column (error)',
    input: `${HEADER}lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n`,
    error: { line: 3, contains: 'got 17' },
  },
  { name: 'line without a colon', input: `${HEADER}lo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n`, error: { line: 3 } },
  {
    name: 'non-numeric column names the token',
    input: `${HEADER}lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 1_6\n`,
    error: { line: 3, contains: '"1_6"' },
  },
];

describe('procfs/net_dev', () => {
  runTable(FILE, (text) => parseNetDev(text), cases);

  it('reader: this machine lists lo and every interface os.networkInterfaces() knows', () => {
    const devices = readNetDev('/proc').map((d) => d.device);
    expect(devices).to.include('lo');
    expect(devices).to.include.members(Object.keys(networkInterfaces()));
  });

  itPropagatesEnoent(readNetDev);
  runTable(FILE, (text) => parseNetDev(text), malformedCases(`${HEADER}    lo:   39887     546    0    0    0     0          0         0    39887     546    0    0    0     0       0          0\n`, { nan: { input: `${HEADER}lo: 1 2 3 4 5 6 7 8 NaN 10 11 12 13 14 15 16\n`, line: 3 } }));
  itRejectsDirectory(readNetDev, 'net/dev');
});
