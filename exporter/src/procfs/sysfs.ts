// sysfs attributes: "one value per file", printed as text with a trailing newline
// (https://www.kernel.org/doc/html/latest/filesystems/sysfs.html). The helpers below read one
// attribute and check that it holds exactly what the kernel writes there, so the hwmon, thermal,
// cpufreq, powercap and net class readers stay a few lines each.
import { readdirSync, readFileSync } from 'node:fs';
import { ParseError } from './errors.js';

const INTEGER = /^-?\d+$/;

/**
 * Errors that mean "this attribute has no value here", not "the exporter is broken": missing
 * (ENOENT; ENOTDIR under a plain file such as /sys/class/net/bonding_masters), root-only (EACCES: cpuinfo_cur_freq, energy_uj since 5.10), meaningless now (EINVAL:
 * speed of a link that is down), or a driver that cannot answer (ENODEV, ENXIO, EIO, EAGAIN,
 * EOPNOTSUPP, ENODATA: hwmon reads that go out to a bus).
 */
const NO_VALUE = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EINVAL', 'ENODEV', 'ENXIO', 'EIO', 'EAGAIN', 'EOPNOTSUPP', 'ENODATA', 'EBUSY']);

/** The text of one attribute: a single line; the trailing newline is dropped. */
export function parseSysfsLine(text: string, file: string): string {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const nl = body.indexOf('\n');
  if (nl >= 0) throw new ParseError(file, 2, 'expected a single line');
  return body;
}

/** A non-empty single-line string attribute (name, type, operstate, scaling_governor). */
export function parseSysfsString(text: string, file: string): string {
  const s = parseSysfsLine(text, file).trim();
  if (s === '') throw new ParseError(file, 1, 'empty attribute');
  return s;
}

/** A decimal integer attribute (temp1_input, energy_uj, mtu, nf_conntrack_count). */
export function parseSysfsInteger(text: string, file: string): number {
  const s = parseSysfsLine(text, file).trim();
  if (s === '') throw new ParseError(file, 1, 'empty attribute');
  if (!INTEGER.test(s)) throw new ParseError(file, 1, `not an integer: ${JSON.stringify(s)}`);
  return Number(s);
}

/** A whitespace-separated list attribute (available_clocksource); empty when the line is empty. */
export function parseSysfsList(text: string, file: string): string[] {
  const s = parseSysfsLine(text, file).trim();
  return s === '' ? [] : s.split(/\s+/);
}

function noValue(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && NO_VALUE.has(code);
}

/** Reads and parses one attribute; undefined where it has no value (see NO_VALUE). */
export function readAttr<T>(file: string, parse: (text: string, file: string) => T): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (noValue(err)) return undefined;
    throw err;
  }
  return parse(text, file);
}

/** Entries of a sysfs directory, sorted the way a person counts (hwmon2 before hwmon10). A
 *  missing directory throws ENOENT: the caller's section is then absent. */
export function listDir(dir: string): string[] {
  return readdirSync(dir).sort(naturalCompare);
}

// localeCompare with options builds a collator per call: 20x slower than one kept.
const NATURAL = new Intl.Collator('en', { numeric: true });

export function naturalCompare(a: string, b: string): number {
  return NATURAL.compare(a, b);
}
