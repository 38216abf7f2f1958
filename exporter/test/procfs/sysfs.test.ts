import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSysfsInteger, parseSysfsList, parseSysfsString, readAttr } from '../../src/procfs/sysfs.js';
import { runTable, type Case } from './table.js';

const FILE = '/sys/class/hwmon/hwmon1/temp1_input';

const integers: Case<number>[] = [
  { name: 'millidegrees', input: '45000\n', expect: 45000 },
  { name: 'negative (nvme temp1_min)', input: '-273150\n', expect: -273150 },
  { name: 'no trailing newline', input: '1500', expect: 1500 },
  { name: 'empty attribute (error)', input: '', error: { line: 1, contains: 'empty attribute' } },
  { name: 'just a newline (error)', input: '\n', error: { line: 1, contains: 'empty attribute' } },
  { name: 'not an integer names it', input: '45.5\n', error: { line: 1, contains: '"45.5"' } },
  { name: 'text where a number belongs', input: 'up\n', error: { line: 1, contains: '"up"' } },
  { name: 'two lines (error)', input: '1\n2\n', error: { line: 2, contains: 'single line' } },
];

const strings: Case<string>[] = [
  { name: 'a driver name', input: 'coretemp\n', expect: 'coretemp' },
  { name: 'a label with spaces', input: 'Package id 0\n', expect: 'Package id 0' },
  { name: 'empty (error)', input: '\n', error: { line: 1, contains: 'empty attribute' } },
  { name: 'two lines (error)', input: 'a\nb\n', error: { line: 2 } },
];

const lists: Case<string[]>[] = [
  { name: 'available_clocksource with its trailing space', input: 'tsc hpet acpi_pm \n', expect: ['tsc', 'hpet', 'acpi_pm'] },
  { name: 'empty list', input: '\n', expect: [] },
  { name: 'two lines (error)', input: 'tsc\nhpet\n', error: { line: 2 } },
];

describe('procfs/sysfs attributes', () => {
  describe('parseSysfsInteger', () => runTable(FILE, (t) => parseSysfsInteger(t, FILE), integers));
  describe('parseSysfsString', () => runTable(FILE, (t) => parseSysfsString(t, FILE), strings));
  describe('parseSysfsList', () => runTable(FILE, (t) => parseSysfsList(t, FILE), lists));

  it('readAttr: a missing attribute, or one under a plain file, has no value (not an error)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-sysfs-'));
    writeFileSync(join(dir, 'bonding_masters'), 'bond0\n');
    expect(readAttr(join(dir, 'nope'), parseSysfsInteger)).to.equal(undefined);
    expect(readAttr(join(dir, 'bonding_masters/operstate'), parseSysfsString)).to.equal(undefined);
  });

  it('readAttr: a malformed attribute is an error naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-sysfs-'));
    writeFileSync(join(dir, 'mtu'), 'x\n');
    expect(() => readAttr(join(dir, 'mtu'), parseSysfsInteger)).to.throw(`${join(dir, 'mtu')}:1:`);
  });
});
