/** xfs, btrfs and zfs statistics: the parsers' tables, and the readers over fake trees. */
import { expect } from 'chai';
import { join } from 'node:path';
import { readBtrfs } from '../../src/procfs/btrfs.js';
import { parseXfsStats, readXfs, type XfsStats } from '../../src/procfs/xfs.js';
import { parseKstat, readZfs } from '../../src/procfs/zfs.js';
import { FIXTURES, fileTree } from '../helpers.js';
import { itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';


const XFS_FILE = '/sys/fs/xfs/sda1/stats/stats';
const xfsCases: Case<XfsStats>[] = [
  { name: 'keyword lines', input: 'extent_alloc 1 2 3 4\nrw 10 20\nxpc 100 200 300\ndebug 0\n', expect: { extent_alloc: [1, 2, 3, 4], rw: [10, 20], xpc: [100, 200, 300], debug: [0] } },
  { name: 'empty file (error)', input: '', error: { line: 1, contains: 'empty' } },
  { name: 'a keyword without values', input: 'rw\n', error: { line: 1, contains: 'without values' } },
  { name: 'a non-numeric value', input: 'rw 1 x\n', error: { line: 1, contains: '"x"' } },
  { name: 'a second line of a keyword', input: 'rw 1 2\nrw 3 4\n', error: { line: 2, contains: 'second rw' } },
];

const KSTAT_FILE = '/proc/spl/kstat/zfs/arcstats';
const KH = '13 1 0x01 123 33264 6049454212 2117958765838\nname                            type data\n';
const kstatCases: Case<Record<string, number>>[] = [
  { name: 'uint64 rows; strings left out', input: `${KH}hits                            4    12345\nc_max                           4    8589934592\nsome_name                       7    text\n`, expect: { hits: 12345, c_max: 8589934592 } },
  { name: 'header only', input: KH, expect: {} },
  { name: 'empty file (error)', input: '', error: { line: 1, contains: 'empty' } },
  { name: 'no kstat header', input: 'name type data\nhits 4 1\n', error: { line: 1, contains: 'kstat header' } },
  { name: 'no column line', input: '13 1 0x01 1 2 3 4\nhits 4 1\n', error: { line: 2, contains: 'name type data' } },
  { name: 'a numeric row without its value', input: `${KH}hits 4\n`, error: { line: 3, contains: 'one value' } },
  { name: 'a row without a type', input: `${KH}hits\n`, error: { line: 3, contains: '<name> <type> <data>' } },
];

describe('procfs: xfs, btrfs, zfs', () => {
  describe('parseXfsStats', () => runTable(XFS_FILE, (t) => parseXfsStats(t, XFS_FILE), xfsCases));
  describe('parseKstat', () => runTable(KSTAT_FILE, (t) => parseKstat(t, KSTAT_FILE), kstatCases));
  describe('parseXfsStats: what the kernel never writes', () => {
    runTable(XFS_FILE, (t) => parseXfsStats(t, XFS_FILE), malformedCases('extent_alloc 1 2 3 4\nrw 10 20\nxpc 100 200 300\n', { nan: { input: 'rw 1 NaN\n', line: 1 } }));
    itRejectsDirectory((root) => readXfs(join(root, 'sys')), 'sys/fs/xfs/sda1/stats/stats');
  });
  describe('parseKstat: what the kernel never writes', () => {
    runTable(KSTAT_FILE, (t) => parseKstat(t, KSTAT_FILE), [
      ...malformedCases<Record<string, number>>(`${KH}hits                            4    12345\nc_max                           4    8589934592\n`, { nan: { input: `${KH}hits 4 NaN\n`, line: 3 } }),
      { name: 'malformed: the column line cut off after the header', input: KH.split('\n')[0] + '\n', error: { line: 2, contains: 'name type data' } },
    ]);
    itRejectsDirectory((root) => readZfs(root), 'spl/kstat/zfs/arcstats');
  });

  it('xfs: each device of the large fixture; the global stats directory is no device; none in the VM', () => {
    const devs = readXfs(`${FIXTURES}large/sys`);
    expect(Object.keys(devs)).to.deep.equal(['md0']);
    expect(devs.md0!.xpc).to.have.length(3);
    expect(() => readXfs(`${FIXTURES}small/sys`)).to.throw().with.property('code', 'ENOENT');
  });

  it('btrfs: block groups, the global reserve and member sizes; features/ is no filesystem', () => {
    const uuid = '3f4c8e2a-1b2c-4d5e-8f90-a1b2c3d4e5f6';
    const g = (t: string, v: number) => ({ [`fs/btrfs/${uuid}/allocation/${t}/total_bytes`]: `${v}\n`, [`fs/btrfs/${uuid}/allocation/${t}/bytes_used`]: `${v / 2}\n`, [`fs/btrfs/${uuid}/allocation/${t}/disk_total`]: `${v * 2}\n` });
    const root = fileTree({
      'fs/btrfs/features/raid1c34': '0\n', [`fs/btrfs/${uuid}/label`]: 'pool\n', [`fs/btrfs/${uuid}/allocation/global_rsv_size`]: '536870912\n',
      ...g('data', 1073741824), ...g('metadata', 268435456), [`fs/btrfs/${uuid}/devices/sdb/size`]: '3907029168\n',
    });
    expect(readBtrfs(root)).to.deep.equal([{
      uuid, label: 'pool', globalRsv: 536870912, devices: { sdb: 3907029168 * 512 },
      groups: { data: [1073741824, 536870912, undefined, 2147483648, undefined], metadata: [268435456, 134217728, undefined, 536870912, undefined] },
    }]);
  });

  it('zfs: the kept kstats and the state of each pool; ENOENT without the module', () => {
    const root = fileTree({
      'spl/kstat/zfs/arcstats': `${KH}hits 4 100\nsize 4 2147483648\n`, 'spl/kstat/zfs/dmu_tx': `${KH}dmu_tx_assigned 4 7\n`,
      'spl/kstat/zfs/fm': `${KH}erpt-dropped 4 0\n`, 'spl/kstat/zfs/tank/state': 'ONLINE\n', 'spl/kstat/zfs/tank/io': 'not read\n',
    });
    expect(readZfs(root)).to.deep.equal({ kstats: { arcstats: { hits: 100, size: 2147483648 }, dmu_tx: { dmu_tx_assigned: 7 } }, pools: { tank: 'ONLINE' } });
    expect(() => readZfs('/nonexistent')).to.throw().with.property('code', 'ENOENT');
  });
});
