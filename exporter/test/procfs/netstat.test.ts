import { expect } from 'chai';
import { parseNetstat, readNetNetstat, readNetSnmp, type NetStat } from '../../src/procfs/netstat.js';
import { readNetSnmp as readNetSnmpFromSnmp } from '../../src/procfs/snmp.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/net/snmp';

const cases: Case<NetStat>[] = [
  {
    name: 'real sample (snmp, MaxConn is negative)',
    input: `Ip: Forwarding DefaultTTL InReceives
Ip: 2 64 5039
IcmpMsg: InType3
IcmpMsg: 1
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens
Tcp: 1 200 120000 -1 97
UdpLite: InDatagrams NoPorts
UdpLite: 0 0
`,
    expect: {
      Ip: { Forwarding: 2, DefaultTTL: 64, InReceives: 5039 },
      IcmpMsg: { InType3: 1 },
      Tcp: { RtoAlgorithm: 1, RtoMin: 200, RtoMax: 120000, MaxConn: -1, ActiveOpens: 97 },
      UdpLite: { InDatagrams: 0, NoPorts: 0 },
    },
  },
  {
    name: 'real sample (netstat layout)',
    input: `TcpExt: SyncookiesSent TW DelayedACKs
TcpExt: 0 47 11
IpExt: InOctets OutOctets
IpExt: 105675058 387856
`,
    expect: { TcpExt: { SyncookiesSent: 0, TW: 47, DelayedACKs: 11 }, IpExt: { InOctets: 105675058, OutOctets: 387856 } },
  },
  {
    name: 'repeated section is merged (IcmpMsg is printed 16 columns per pair)',
    input: 'IcmpMsg: InType0 InType3\nIcmpMsg: 5 6\nIcmpMsg: OutType0\nIcmpMsg: 7\n',
    expect: { IcmpMsg: { InType0: 5, InType3: 6, OutType0: 7 } },
  },
  {
    name: 'truncated file: header without values line',
    input: 'Ip: Forwarding\nIp: 1\nTcp: RtoAlgorithm\n',
    error: { line: 3, contains: 'without a values line' },
  },
  {
    name: 'truncated values line (count differs)',
    input: 'Tcp: RtoAlgorithm RtoMin\nTcp: 1\n',
    error: { line: 2, contains: '1 values for 2 names on line 1' },
  },
  {
    name: 'extra value column (error)',
    input: 'Tcp: RtoAlgorithm\nTcp: 1 2\n',
    error: { line: 2, contains: '2 values for 1 names' },
  },
  {
    name: 'protocol prefixes differ',
    input: 'Ip: Forwarding\nIp: 1\nTcp: RtoAlgorithm\nUdp: 1\n',
    error: { line: 4, contains: '"Udp:" does not follow header "Tcp:" of line 3' },
  },
  { name: 'header without a Proto: prefix', input: 'Tcp RtoAlgorithm\nTcp 1\n', error: { line: 1 } },
  { name: 'non-numeric value names the token', input: 'Tcp: RtoAlgorithm RtoMin\nTcp: 1 ms\n', error: { line: 2, contains: '"ms"' } },
];

describe('procfs/netstat (shared by net/netstat and net/snmp)', () => {
  runTable(FILE, (text) => parseNetstat(text, FILE), cases);

  it('reader: net/snmp on this machine has Tcp and Udp, and snmp.ts re-exports the reader', () => {
    const snmp = readNetSnmp('/proc');
    expect(snmp['Tcp']).to.include.keys('ActiveOpens', 'CurrEstab');
    expect(snmp['Udp']).to.include.keys('InDatagrams');
    expect(readNetSnmpFromSnmp).to.equal(readNetSnmp);
  });

  it('reader: net/netstat on this machine has TcpExt and IpExt', () => {
    const netstat = readNetNetstat('/proc');
    expect(netstat).to.include.keys('TcpExt', 'IpExt');
    expect(netstat['IpExt']?.['InOctets']).to.be.a('number');
  });

  itPropagatesEnoent(readNetNetstat);
  itPropagatesEnoent(readNetSnmp);
  runTable(FILE, (text) => parseNetstat(text, FILE), malformedCases('Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm MaxConn\nTcp: 1 -1\n', { nan: { input: 'Tcp: RtoAlgorithm\nTcp: NaN\n', line: 2 } }));
  itRejectsDirectory(readNetNetstat, 'net/netstat');
  itRejectsDirectory(readNetSnmp, 'net/snmp');
});
