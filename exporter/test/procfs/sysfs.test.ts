import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSysfsInteger, parseSysfsList, parseSysfsString, readAttr } from '../../src/procfs/sysfs.js';
import { randomBytes, runTable, type Case } from './table.js';

const FILE = '/sys/class/hwmon/hwmon1/temp1_input';

const integers: Case<number>[] = [
  { name: 'millidegrees', input: '45000\n', expect: 45000 },
  { name: 'negative (nvme temp1_min)', input: '-273150\n', expect: -273150 },
  { name: 'no trailing newline: a read cut short (error)', input: '1500', error: { line: 1, contains: 'cut short' } },
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
  { name: 'bonding_masters without bonds: an empty file is what the kernel writes', input: '', expect: [] },
  { name: 'bond0 bond1 (the last separator became the newline)', input: 'bond0 bond1\n', expect: ['bond0', 'bond1'] },
  { name: 'no trailing newline: cut short (error)', input: 'bond0 bo', error: { line: 1, contains: 'cut short' } },
];

/**
 * What the kernel never writes into any attribute (issue #20), for each of the helpers: `NaN`,
 * random bytes, a NUL byte, a 1 MB line, a value cut short, a second line.
 */
function malformedAttr<T>(opts: { empty: 'error' | T; nan: 'error' | T }): Case<T>[] {
  const random = randomBytes(4096, 20).toString('utf8');
  return [
    opts.empty === 'error' ? { name: 'malformed: empty file', input: '', error: { line: 1, contains: 'empty attribute' } } : { name: 'malformed: empty file is legitimate here', input: '', expect: opts.empty },
    opts.nan === 'error' ? { name: 'malformed: NaN text', input: 'NaN\n', error: { line: 1, contains: '"NaN"' } } : { name: 'malformed: NaN text is a string', input: 'NaN\n', expect: opts.nan },
    { name: 'malformed: random bytes', input: random, error: { line: 'any' } },
    { name: 'malformed: random text without NUL', input: `${random.replaceAll('\0', ' ')}\n`, error: { line: 'any' } },
    { name: 'malformed: a NUL byte', input: '45\u00000\n', error: { line: 1, contains: 'NUL' } },
    { name: 'malformed: a 1 MB line', input: `${'9'.repeat(1 << 20)}\n`, error: { line: 1, contains: 'at most a page' } },
    { name: 'malformed: cut short (no newline)', input: '4500', error: { line: 1, contains: 'cut short' } },
    { name: 'malformed: a second line', input: '45000\n1\n', error: { line: 2, contains: 'single line' } },
  ];
}

describe('procfs/sysfs attributes', () => {
  describe('parseSysfsInteger', () => runTable(FILE, (t) => parseSysfsInteger(t, FILE), integers));
  describe('parseSysfsString', () => runTable(FILE, (t) => parseSysfsString(t, FILE), strings));
  describe('parseSysfsList', () => runTable(FILE, (t) => parseSysfsList(t, FILE), lists));
  describe('parseSysfsInteger: what the kernel never writes', () => runTable(FILE, (t) => parseSysfsInteger(t, FILE), malformedAttr<number>({ empty: 'error', nan: 'error' })));
  describe('parseSysfsString: what the kernel never writes', () => runTable(FILE, (t) => parseSysfsString(t, FILE), malformedAttr<string>({ empty: 'error', nan: 'NaN' })));
  describe('parseSysfsList: what the kernel never writes', () => runTable(FILE, (t) => parseSysfsList(t, FILE), malformedAttr<string[]>({ empty: [], nan: ['NaN'] })));

  it('readAttr: a directory in place of the attribute is an error naming the file (not a missing value)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-sysfs-'));
    mkdirSync(join(dir, 'temp1_input'));
    expect(() => readAttr(join(dir, 'temp1_input'), parseSysfsInteger)).to.throw(`${join(dir, 'temp1_input')}: a directory, not the kernel file`);
  });

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
