import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { hasSwapDevice, parseSwaps, type SwapDevice } from '../../src/procfs/swaps.js';
import { malformedCases, runTable } from './table.js';

const FILE = '/proc/swaps';
const HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';

describe('procfs/swaps', () => {
  runTable<SwapDevice[]>(FILE, (t) => parseSwaps(t, FILE), [
    { name: 'no swap: the header only', input: HEADER, expect: [] },
    {
      name: 'a partition and a file (name escaped by the kernel)',
      input: `${HEADER}/dev/sda2                               partition\t8388604\t\t1024\t\t-2\n/swap\\040file                          file\t\t1048572\t\t0\t\t-3\n`,
      expect: [
        { filename: '/dev/sda2', type: 'partition', size: 8388604, used: 1024, priority: -2 },
        { filename: '/swap\\040file', type: 'file', size: 1048572, used: 0, priority: -3 },
      ],
    },
    { name: 'no header', input: '/dev/sda2 partition 1 0 -2\n', error: { line: 1, contains: 'header' } },
    { name: 'a field missing', input: `${HEADER}/dev/sda2 partition 1 0\n`, error: { line: 2, contains: 'expected "filename type size used priority"' } },
    ...malformedCases<SwapDevice[]>(`${HEADER}/dev/sda2 partition 1 0 -2\n`, { nan: { input: `${HEADER}/dev/sda2 partition NaN 0 -2\n`, line: 2 } }),
  ]);
  it('hasSwapDevice: any device listed', () => {
    expect(hasSwapDevice([])).to.equal(false);
    expect(hasSwapDevice(parseSwaps(`${HEADER}/dev/sda2 partition 1 0 -2\n`, FILE))).to.equal(true);
  });
  it("reader: this machine's /proc/swaps parses", function () {
    if (!existsSync(FILE)) this.skip();
    expect(parseSwaps(readFileSync(FILE, 'utf8'), FILE)).to.be.an('array');
  });
});
