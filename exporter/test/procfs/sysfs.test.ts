import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { naturalCompare, parseSysfsInteger, parseSysfsList, parseSysfsString, readAttr } from '../../src/procfs/sysfs.js';
import { randomBytes, runTable, type Case } from './table.js';
// a fixed sequence (mulberry32), so a failure repeats
import { rng } from '../../../store/test/synth.js';

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

describe('naturalCompare (sysfs names in natural order)', () => {
  it('orders digit runs as numbers and the rest by code unit', () => {
    const names = ['temp10_input', 'temp2_input', 'temp1_input', 'fan1_input', 'in0_input', 'cpu10', 'cpu9', 'cpu1', 'hwmon11', 'hwmon2', 'card0-DP-1', 'card0-HDMI-A-1', 'nvme0n1', 'nvme0n10', 'nvme0n2', 'policy0', 'x007', 'x7', 'x06', 'x01b', 'x1a'];
    expect([...names].sort(naturalCompare)).to.deep.equal([
      'card0-DP-1', 'card0-HDMI-A-1', 'cpu1', 'cpu9', 'cpu10', 'fan1_input', 'hwmon2', 'hwmon11', 'in0_input', 'nvme0n1', 'nvme0n2', 'nvme0n10', 'policy0',
      'temp1_input', 'temp2_input', 'temp10_input', 'x1a', 'x01b', 'x06', 'x7', 'x007',
    ]);
  });

  it('is a consistent order: antisymmetric, zero only for equal strings, transitive over random names', () => {
    const random = rng(7);
    const alphabet = 'ab_-0019:.';
    const rnd = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const names = Array.from({ length: 300 }, () => rnd(1 + Math.floor(random() * 6)));
    for (const a of names) {
      for (const b of names) {
        const ab = Math.sign(naturalCompare(a, b));
        expect(ab, `${a} ${b}`).to.equal(-Math.sign(naturalCompare(b, a)));
        expect(ab === 0, `${a} ${b}`).to.equal(a === b);
      }
    }
    const sorted = [...names].sort(naturalCompare);
    for (let i = 1; i < sorted.length; i++) for (let j = i; j < sorted.length; j += 37) expect(naturalCompare(sorted[i - 1]!, sorted[j]!) <= 0, `${sorted[i - 1]} ${sorted[j]}`).to.equal(true);
  });

  it('agrees with the ICU collator it replaced on names of lower-case letters and digits', () => {
    const icu = new Intl.Collator('en', { numeric: true });
    const alphabet = 'abct0123456789';
    for (const seed of [1, 2, 3, 4, 5]) {
    const random = rng(seed);
    const rnd = () => `x${Array.from({ length: Math.floor(random() * 8) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')}`;
    let compared = 0;
    for (let k = 0; k < 3000; k++) {
      const [a, b] = [rnd(), rnd()];
      const theirs = Math.sign(icu.compare(a, b));
      // (ICU calls x01 and x1 equal; naturalCompare puts the shorter first)
      if (theirs === 0) continue;
      expect(Math.sign(naturalCompare(a, b)), `${a} ${b}`).to.equal(theirs);
      compared++;
    }
    expect(compared).to.be.greaterThan(2500);
    }
  });
});
