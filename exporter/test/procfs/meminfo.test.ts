import { expect } from 'chai';
import { totalmem } from 'node:os';
import { parseMeminfo, readMeminfo } from '../../src/procfs/meminfo.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/meminfo';

// From this machine, a selection of lines.
const REAL = `MemTotal:       24683620 kB
MemFree:        23974192 kB
Active(anon):      23716 kB
SwapTotal:             0 kB
VmallocTotal:   34359738367 kB
HugePages_Total:       0
HugePages_Free:        0
Hugepagesize:       2048 kB
DirectMap2M:    25137152 kB
`;

const cases: Case<Record<string, number>>[] = [
  {
    name: 'real sample: kB becomes bytes, unit-less counts stay as they are',
    input: REAL,
    expect: {
      MemTotal: 24683620 * 1024,
      MemFree: 23974192 * 1024,
      'Active(anon)': 23716 * 1024,
      SwapTotal: 0,
      VmallocTotal: 34359738367 * 1024,
      HugePages_Total: 0,
      HugePages_Free: 0,
      Hugepagesize: 2048 * 1024,
      DirectMap2M: 25137152 * 1024,
    },
  },
  {
    name: 'old kernel without MemAvailable (absent, not 0)',
    input: 'MemTotal:  1000 kB\nMemFree:  500 kB\nHugePages_Total:  2\n',
    expect: { MemTotal: 1024000, MemFree: 512000, HugePages_Total: 2 },
  },
  { name: 'line without a colon', input: 'MemTotal: 1 kB\nMemFree 2 kB\n', error: { line: 2, contains: 'MemFree 2 kB' } },
  { name: 'truncated line (no value)', input: 'MemTotal:\n', error: { line: 1, contains: 'missing MemTotal value' } },
  { name: 'empty key', input: ': 1 kB\n', error: { line: 1 } },
  { name: 'non-numeric value names the token', input: 'MemTotal: 1 kB\nCached: lots kB\n', error: { line: 2, contains: '"lots"' } },
  { name: 'unknown unit (error)', input: 'MemTotal: 1 MB\n', error: { line: 1, contains: '"1 MB"' } },
  { name: 'extra column after the unit (error)', input: 'MemTotal: 1 kB 2\n', error: { line: 1 } },
];

describe('procfs/meminfo', () => {
  runTable(FILE, (text) => parseMeminfo(text), cases);

  it('reader: MemTotal on this machine equals os.totalmem()', () => {
    const mem = readMeminfo('/proc');
    expect(mem['MemTotal']).to.equal(totalmem());
    expect(mem['MemFree']).to.be.within(1, totalmem());
  });

  itPropagatesEnoent(readMeminfo);
  runTable(FILE, (text) => parseMeminfo(text), malformedCases(REAL, { nan: { input: 'MemTotal:       24683620 kB\nMemFree:        NaN kB\n', line: 2 } }));
  itRejectsDirectory(readMeminfo, 'meminfo');
});
