import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { parseMdstat, readMdstat, type MdArray } from '../../src/procfs/mdstat.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/mdstat';
const P = 'Personalities : [raid1] [raid6] [raid5] [raid4] [raid0] [raid10] \n';

const cases: Case<MdArray[]>[] = [
  {
    name: 'a clean RAID1 with a bitmap',
    input: `${P}md0 : active raid1 sdb1[1] sda1[0]\n      1953382400 blocks super 1.2 [2/2] [UU]\n      bitmap: 2/15 pages [8KB], 65536KB chunk\n\nunused devices: <none>\n`,
    expect: [{ device: 'md0', state: 'active', level: 'raid1', active: 2, failed: 0, spare: 0, required: 2, blocks: 1953382400 }],
  },
  {
    name: 'a degraded RAID5 recovering onto a spare, with a failed member',
    input: `${P}md1 : active raid5 sdd1[3](F) sdc1[1] sdb1[0] sde1[4](S)\n      3906764800 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/2] [UU_]\n`
      + '      [==>..................]  recovery = 12.6% (246848/1953382400) finish=1234.5min speed=12345K/sec\n\nunused devices: <none>\n',
    expect: [{ device: 'md1', state: 'active', level: 'raid5', active: 2, failed: 1, spare: 1, required: 3, blocks: 3906764800, action: 'recovery', synced: 246848 }],
  },
  {
    name: 'a delayed resync, a read-only raid0 (no [n/m]) and an inactive array of spares',
    input: `${P}md2 : active raid10 sdh[3] sdg[2] sdf[1] sde[0]\n      209584128 blocks super 1.2 512K chunks 2 near-copies [4/4] [UUUU]\n        resync=DELAYED\n\n`
      + 'md3 : active (auto-read-only) raid0 sdj[1] sdi[0]\n      419168256 blocks super 1.2 512k chunks\n\n'
      + 'md127 : inactive sdk[0](S) sdl[1]\n      1953383512 blocks super 1.2\n\nunused devices: <none>\n',
    expect: [
      { device: 'md2', state: 'active', level: 'raid10', active: 4, failed: 0, spare: 0, required: 4, blocks: 209584128, action: 'resync=DELAYED' },
      { device: 'md3', state: 'active', level: 'raid0', active: 2, failed: 0, spare: 0, blocks: 419168256 },
      { device: 'md127', state: 'inactive', active: 0, failed: 0, spare: 2, blocks: 1953383512 },
    ],
  },
  { name: 'no arrays: the md module loaded, nothing assembled', input: 'Personalities : \nunused devices: <none>\n', expect: [] },
  { name: 'empty file (error: the kernel always prints Personalities)', input: '', error: { line: 1, contains: 'empty file' } },
  { name: 'unknown array state', input: `${P}md0 : degraded raid1 sda[0]\n`, error: { line: 2, contains: '"degraded"' } },
  { name: 'a member without its index', input: `${P}md0 : active raid1 sda sdb[1]\n`, error: { line: 2, contains: '"sda"' } },
  { name: 'a status line before any array', input: `${P}      1953382400 blocks super 1.2 [2/2] [UU]\n`, error: { line: 2, contains: 'without an array line' } },
  { name: 'garbage at column 0', input: `${P}hello\n`, error: { line: 2, contains: 'unexpected line' } },
  {
    name: 'cut short at a line boundary: no "unused devices" line last (arrays after the cut would vanish)',
    input: `${P}md0 : active raid1 sdb1[1] sda1[0]\n      1953382400 blocks super 1.2 [2/2] [UU]\n`,
    error: { line: 3, contains: 'unused devices' },
  },
];

describe('procfs/mdstat', () => {
  runTable(FILE, (t) => parseMdstat(t, FILE), cases);

  it('reader: this machine (when md is loaded)', function () {
    if (!existsSync('/proc/mdstat')) return this.skip();
    expect(readMdstat('/proc')).to.be.an('array');
  });

  itPropagatesEnoent(readMdstat);
  runTable(
    FILE,
    (t) => parseMdstat(t, FILE),
    malformedCases(`${P}md0 : active raid1 sdb1[1] sda1[0]\n      1953382400 blocks super 1.2 [2/2] [UU]\n\nunused devices: <none>\n`),
  );
  itRejectsDirectory(readMdstat, 'mdstat');
});
