import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { parsePressure, readPressure, type Pressure } from '../../src/procfs/pressure.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/pressure/io';

const cases: Case<Pressure>[] = [
  {
    name: 'real sample (io)',
    input: `some avg10=0.00 avg60=0.04 avg300=0.49 total=4950844
full avg10=0.00 avg60=0.04 avg300=0.44 total=4380960
`,
    expect: {
      some: { avg10: 0, avg60: 0.04, avg300: 0.49, total: 4950844 },
      full: { avg10: 0, avg60: 0.04, avg300: 0.44, total: 4380960 },
    },
  },
  {
    name: 'cpu before Linux 5.13: no full line (absent, not 0)',
    input: 'some avg10=29.19 avg60=7.84 avg300=3.22 total=17344674\n',
    expect: { some: { avg10: 29.19, avg60: 7.84, avg300: 3.22, total: 17344674 } },
  },
  {
    name: 'extra key (tolerated): an unknown key=value is ignored',
    input: 'some avg10=1.00 avg60=2.00 avg300=3.00 total=4 avg3600=5.00\n',
    expect: { some: { avg10: 1, avg60: 2, avg300: 3, total: 4 } },
  },
  { name: 'no some line (the kernel always prints it)', input: 'full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n', error: { line: 1, contains: 'no "some" line' } },
  { name: 'truncated line (no total)', input: 'some avg10=0.00 avg60=0.00 avg300=0.00\n', error: { line: 1, contains: 'missing total' } },
  {
    name: 'extra bare column (error): not key=value',
    input: 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0 7\n',
    error: { line: 2, contains: 'key=value, got "7"' },
  },
  { name: 'unknown line kind', input: 'partial avg10=0.00 avg60=0.00 avg300=0.00 total=0\n', error: { line: 1, contains: '"partial"' } },
  { name: 'non-numeric value names the token', input: 'some avg10=0.00 avg60=0.00 avg300=-.5 total=0\n', error: { line: 1, contains: '"-.5"' } },
];

describe('procfs/pressure', () => {
  runTable(FILE, (text) => parsePressure(text, FILE), cases);

  for (const resource of ['cpu', 'memory', 'io'] as const) {
    it(`reader: this machine's ${resource} pressure has a some line`, function () {
      // PSI is off with psi=0 or CONFIG_PSI=n; nothing to check there.
      if (!existsSync(`/proc/pressure/${resource}`)) this.skip();
      const psi = readPressure('/proc', resource);
      expect(psi.some?.avg10).to.be.within(0, 100);
      expect(psi.some?.total).to.be.at.least(0);
    });
  }

  itPropagatesEnoent((root) => readPressure(root, 'cpu'));
  runTable(FILE, (text) => parsePressure(text, FILE), malformedCases('some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n', { nan: { input: 'some avg10=NaN avg60=0.00 avg300=0.00 total=0\n', line: 1 } }));
  itRejectsDirectory((root) => readPressure(root, 'memory'), 'pressure/memory');
  itRejectsDirectory((root) => readPressure(root, 'io'), 'pressure/io');
});
