import { expect } from 'chai';
import { cpus } from 'node:os';
import { parseStat, readStat, type ProcStat } from '../../src/procfs/stat.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/stat';

// From this machine (a 2-CPU VM, Linux 6.x); the intr line is cut short.
const REAL = `cpu  8288 0 6208 59207 572 0 316 0 0 0
cpu0 3389 0 2592 31071 43 0 156 0 0 0
cpu1 4899 0 3616 28135 529 0 160 0 0 0
intr 357427 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 10 0 0 0 0 74 38 0 18 1 62607
ctxt 873435
btime 1795644350
processes 6680
procs_running 2
procs_blocked 0
softirq 180942 0 17922 4 5692 62606 0 3 56650 0 38065
`;

const cases: Case<ProcStat>[] = [
  {
    name: 'real sample (10 cpu columns)',
    input: REAL,
    expect: {
      cpus: [
        { cpu: 0, jiffies: [3389, 0, 2592, 31071, 43, 0, 156, 0, 0, 0] },
        { cpu: 1, jiffies: [4899, 0, 3616, 28135, 529, 0, 160, 0, 0, 0] },
      ],
      intr: 357427,
      ctxt: 873435,
      btime: 1795644350,
      processes: 6680,
      procsRunning: 2,
      procsBlocked: 0,
    },
  },
  {
    name: '2.6.11-era kernel: 8 cpu columns, no procs_running/procs_blocked lines (absent, not 0)',
    input: 'cpu  10 1 20 300 4 0 2 0\ncpu0 10 1 20 300 4 0 2 0\nintr 99 3 4\nctxt 5\nbtime 1100000000\nprocesses 42\n',
    expect: {
      cpus: [{ cpu: 0, jiffies: [10, 1, 20, 300, 4, 0, 2, 0] }],
      intr: 99,
      ctxt: 5,
      btime: 1100000000,
      processes: 42,
    },
  },
  {
    name: '2.4-era kernel: 4 cpu columns is the minimum',
    input: 'cpu  6 8 10 12\ncpu0 1 2 3 4\ncpu3 5 6 7 8\n',
    expect: { cpus: [{ cpu: 0, jiffies: [1, 2, 3, 4] }, { cpu: 3, jiffies: [5, 6, 7, 8] }] },
  },
  {
    name: 'extra cpu column (tolerated): a future 11th column is dropped',
    input: 'cpu  1 2 3 4 5 6 7 8 9 10 11\ncpu0 1 2 3 4 5 6 7 8 9 10 11\n',
    expect: { cpus: [{ cpu: 0, jiffies: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }] },
  },
  {
    name: 'unknown lines and the aggregate cpu line are ignored',
    input: 'cpu  1 2 3 4\ncpu0 1 2 3 4\npage 1 2\nswap 0 0\nsomething_new 7\n',
    expect: { cpus: [{ cpu: 0, jiffies: [1, 2, 3, 4] }] },
  },
  { name: 'no aggregate cpu line first', input: 'cpu0 1 2 3 4\nctxt 5\n', error: { line: 1, contains: 'aggregate "cpu" line first' } },
  { name: 'no per-CPU line', input: 'cpu  1 2 3 4\nctxt 5\n', error: { line: 2, contains: 'no "cpuN" line' } },
  {
    name: 'a long intr line (a host with half a million interrupts) is what the kernel writes',
    input: `cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 7${' 0'.repeat(512 * 1024)}\nctxt 5\n`,
    expect: { cpus: [{ cpu: 0, jiffies: [1, 2, 3, 4] }], intr: 7, ctxt: 5 },
  },
  { name: 'a 1 MB cpu line is not', input: `cpu  1 2 3 4\ncpu0 1 2 3 4${' 0'.repeat(512 * 1024)}\n`, error: { line: 2, contains: 'line of 1048588 characters' } },
  {
    name: 'truncated cpu line (3 columns) is an error',
    input: 'cpu  1 2 3 4\ncpu0 1 2 3\n',
    error: { line: 2, contains: 'at least 4 columns, got 3' },
  },
  {
    name: 'line numbers count blank lines',
    input: 'cpu0 1 2 3 4\n\ncpu1 1 2\n',
    error: { line: 3 },
  },
  {
    name: 'non-numeric cpu column names the token',
    input: 'cpu0 1 2 x3 4\n',
    error: { line: 1, contains: '"x3"' },
  },
  {
    name: 'non-numeric ctxt names the token',
    input: 'cpu0 1 2 3 4\nctxt 12abc\n',
    error: { line: 2, contains: '"12abc"' },
  },
  {
    name: 'extra column on a single-value line (error)',
    input: 'btime 1 2\n',
    error: { line: 1, contains: 'expected 1 field, got 2' },
  },
  {
    name: 'truncated intr line (no total) is an error',
    input: 'ctxt 1\nintr\n',
    error: { line: 2, contains: 'missing intr total' },
  },
];

describe('procfs/stat', () => {
  runTable(FILE, (text) => parseStat(text), cases);

  it('reader: this machine has one cpuN line per CPU and sane counters', () => {
    const stat = readStat('/proc');
    expect(stat.cpus).to.have.length(cpus().length);
    for (const { jiffies } of stat.cpus) expect(jiffies.length).to.be.within(4, 10);
    expect(stat.btime).to.be.within(1e9, Date.now() / 1000);
    expect(stat.procsRunning).to.be.at.least(1);
    expect(stat.ctxt).to.be.greaterThan(0);
  });

  it('the file argument (what readers pass: root + relative path) is the one named in errors', () => {
    expect(() => parseStat('cpu0 1\n', '/host/proc/stat')).to.throw('/host/proc/stat:1: ');
  });

  itPropagatesEnoent(readStat);
  runTable(FILE, (text) => parseStat(text), malformedCases(REAL, { nan: { input: 'cpu  1 2 3 4\ncpu0 1 NaN 3 4\n', line: 2 } }));
  itRejectsDirectory(readStat, 'stat');
});
