/**
 * Every sysfs reader (hwmon, thermal, cpufreq, powercap, netclass, edac, nvme, dmi, bonding, btrfs,
 * power_supply, the zfs pool state) over a tree where one of its attributes holds what the kernel
 * never writes there (issue #20): empty, random bytes, `NaN` (for a number), a 1 MB line, a NUL
 * byte, a value cut short (no newline), a directory. Each must throw a ParseError naming that
 * attribute, so its collector reports success 0 with the reason. The parsers themselves are
 * tabled in sysfs.test.ts; this checks that each reader goes through them and lets the error out.
 */
import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBonding } from '../../src/procfs/bonding.js';
import { readBtrfs } from '../../src/procfs/btrfs.js';
import { readCpufreq } from '../../src/procfs/cpufreq.js';
import { readDmi, readNvme } from '../../src/procfs/class_info.js';
import { readEdac } from '../../src/procfs/edac.js';
import { ParseError } from '../../src/procfs/errors.js';
import { readHwmon } from '../../src/procfs/hwmon.js';
import { readNetClass } from '../../src/procfs/netclass.js';
import { readPowerSupplies } from '../../src/procfs/power_supply.js';
import { readRapl } from '../../src/procfs/powercap.js';
import { readThermal } from '../../src/procfs/thermal.js';
import { readZfs } from '../../src/procfs/zfs.js';
import { FIXTURES } from '../helpers.js';
import { randomBytes } from './table.js';

type Kind = 'number' | 'text' | 'list';

interface Reader {
  name: string;
  read(root: string): unknown;
  /** the attribute corrupted, under the root */
  attr: string;
  kind: Kind;
}

const UUID = '3f4c8e2a-1b2c-4d5e-8f90-a1b2c3d4e5f6';

/** Files beside the large fixture's sys tree for the readers it has no hardware for. */
const EXTRA: Record<string, string> = {
  [`fs/btrfs/${UUID}/label`]: 'pool\n',
  [`fs/btrfs/${UUID}/allocation/data/total_bytes`]: '1073741824\n',
  'class/power_supply/BAT0/type': 'Battery\n',
  'class/power_supply/BAT0/capacity': '87\n',
  'spl/kstat/zfs/tank/state': 'ONLINE\n',
};

const READERS: Reader[] = [
  { name: 'hwmon', read: readHwmon, attr: 'class/hwmon/hwmon0/temp1_input', kind: 'number' },
  { name: 'thermal', read: readThermal, attr: 'class/thermal/thermal_zone0/temp', kind: 'number' },
  { name: 'thermal (zone type)', read: readThermal, attr: 'class/thermal/thermal_zone0/type', kind: 'text' },
  { name: 'cpufreq', read: readCpufreq, attr: 'devices/system/cpu/cpu0/cpufreq/scaling_cur_freq', kind: 'number' },
  { name: 'cpufreq (governor)', read: readCpufreq, attr: 'devices/system/cpu/cpu0/cpufreq/scaling_governor', kind: 'text' },
  { name: 'powercap', read: readRapl, attr: 'class/powercap/intel-rapl:0/energy_uj', kind: 'number' },
  { name: 'netclass', read: (r) => readNetClass(r), attr: 'class/net/eno1/mtu', kind: 'number' },
  { name: 'netclass (operstate)', read: (r) => readNetClass(r), attr: 'class/net/eno1/operstate', kind: 'text' },
  { name: 'edac', read: readEdac, attr: 'devices/system/edac/mc/mc0/csrow0/ce_count', kind: 'number' },
  { name: 'nvme', read: readNvme, attr: 'class/nvme/nvme0/model', kind: 'text' },
  { name: 'dmi', read: readDmi, attr: 'class/dmi/id/bios_version', kind: 'text' },
  { name: 'bonding', read: readBonding, attr: 'class/net/bond0/bonding/slaves', kind: 'list' },
  { name: 'btrfs', read: readBtrfs, attr: `fs/btrfs/${UUID}/allocation/data/total_bytes`, kind: 'number' },
  { name: 'btrfs (label)', read: readBtrfs, attr: `fs/btrfs/${UUID}/label`, kind: 'text' },
  { name: 'power_supply', read: readPowerSupplies, attr: 'class/power_supply/BAT0/capacity', kind: 'number' },
  { name: 'power_supply (type)', read: readPowerSupplies, attr: 'class/power_supply/BAT0/type', kind: 'text' },
  { name: 'zfs pool state', read: readZfs, attr: 'spl/kstat/zfs/tank/state', kind: 'text' },
];

interface Corruption {
  name: string;
  apply(path: string, good: string): void;
  /** kinds for which this is what the kernel may write (the reader then succeeds). */
  legit?: Kind[];
  /** the line the error names (0: the file as a whole). */
  line: number | 'any';
}

const CORRUPTIONS: Corruption[] = [
  // an empty list is an empty file (bonding's show() prints nothing then)
  { name: 'empty', apply: (p) => writeFileSync(p, ''), legit: ['list'], line: 1 },
  { name: 'random bytes', apply: (p) => writeFileSync(p, randomBytes(4096, 3)), line: 'any' },
  // "NaN" can be a name, a label or a list entry
  { name: 'NaN text', apply: (p) => writeFileSync(p, 'NaN\n'), legit: ['text', 'list'], line: 1 },
  { name: 'a 1 MB line', apply: (p, good) => writeFileSync(p, `${'7'.repeat(1 << 20)}\n${good}`), line: 1 },
  { name: 'a NUL byte', apply: (p, good) => writeFileSync(p, `\0${good}`), line: 1 },
  { name: 'cut short (no newline)', apply: (p, good) => writeFileSync(p, good.slice(0, -1)), line: 1 },
  {
    name: 'a directory',
    apply: (p) => {
      rmSync(p);
      mkdirSync(p);
    },
    line: 0,
  },
];

describe('sysfs readers: an attribute the kernel never writes is an error naming it', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'pw-sysfs-readers-'));
    cpSync(`${FIXTURES}large/sys`, root, { recursive: true, verbatimSymlinks: true });
    for (const [p, text] of Object.entries(EXTRA)) {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), text);
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const r of READERS) {
    it(`${r.name}: reads the intact tree`, () => {
      expect(() => r.read(root)).to.not.throw();
    });
    for (const c of CORRUPTIONS) {
      const legit = c.legit?.includes(r.kind) ?? false;
      it(`${r.name}, ${r.attr}: ${c.name} ${legit ? 'is what the kernel may write (read)' : 'throws a ParseError naming the file'}`, () => {
        const path = join(root, r.attr);
        const good = readFileSync(path, 'utf8');
        try {
          c.apply(path, good);
          if (legit) {
            expect(() => r.read(root)).to.not.throw();
            return;
          }
          let caught: unknown;
          try {
            r.read(root);
          } catch (err) {
            caught = err;
          }
          expect(caught, 'should throw').to.be.instanceOf(ParseError);
          const err = caught as ParseError;
          expect(err.file).to.equal(path);
          if (c.line === 'any') expect(err.line).to.be.at.least(1);
          else expect(err.line).to.equal(c.line);
        } finally {
          rmSync(path, { recursive: true, force: true });
          writeFileSync(path, good);
        }
      });
    }
  }
});
