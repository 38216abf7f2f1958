// sysfs attributes: "one value per file", printed as text with a trailing newline into a buffer of
// one page (https://www.kernel.org/doc/html/latest/filesystems/sysfs.html). The helpers below read
// one attribute and check that it holds exactly what the kernel writes there (one line ending in
// a newline, no NUL byte, at most a page), so the hwmon, thermal, cpufreq, powercap, net class,
// btrfs, edac, nvme, dmi and power_supply readers stay a few lines each. The same holds for the
// one-value files of /proc/sys (entropy_avail, nf_conntrack_count, hostname) read through them.
// An empty file is legitimate only for a list whose show() prints nothing when the list is empty
// (bonding_masters without bonds, <bond>/bonding/slaves without slaves): parseSysfsList says so.
import { readdirSync, readFileSync } from 'node:fs';
import { ParseError } from './errors.js';
import { isDigit, quote } from './util.js';

const INTEGER = /^-?\d+$/;

/**
 * Errors that mean "this attribute has no value here", not "the exporter is broken": missing
 * (ENOENT; ENOTDIR under a plain file such as /sys/class/net/bonding_masters), root-only (EACCES: cpuinfo_cur_freq, energy_uj since 5.10), meaningless now (EINVAL:
 * speed of a link that is down), or a driver that cannot answer (ENODEV, ENXIO, EIO, EAGAIN,
 * EOPNOTSUPP, ENODATA: hwmon reads that go out to a bus).
 */
const NO_VALUE = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EINVAL', 'ENODEV', 'ENXIO', 'EIO', 'EAGAIN', 'EOPNOTSUPP', 'ENODATA', 'EBUSY']);

/** A sysfs show() fills at most one page (PAGE_SIZE, 4 KiB on x86; up to 64 KiB on arm64/ppc64). */
const MAX_ATTR = 64 * 1024;

/**
 * The text of one attribute: a single line ending in a newline, which is dropped. Empty (0 bytes),
 * a NUL byte, a last line without its newline (a read cut short) or more than a page are not what
 * the kernel writes there: errors naming the file and line.
 */
export function parseSysfsLine(text: string, file: string): string {
  if (text === '') throw new ParseError(file, 1, 'empty attribute (the kernel ends every attribute with a newline)');
  return checkedLine(text, file);
}

function checkedLine(text: string, file: string): string {
  if (text.length > MAX_ATTR) throw new ParseError(file, 1, `${text.length} characters (a sysfs attribute holds at most a page)`);
  const nul = text.indexOf('\0');
  if (nul >= 0) throw new ParseError(file, text.slice(0, nul).split('\n').length, 'a NUL byte: binary data, not the text the kernel writes');
  const nl = text.indexOf('\n');
  if (nl < 0) throw new ParseError(file, 1, `cut short (no newline at the end): ${quote(text)}`);
  if (nl !== text.length - 1) throw new ParseError(file, 2, 'expected a single line');
  return text.slice(0, -1);
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

/**
 * A whitespace-separated list attribute (available_clocksource, bonding_masters, bonding/slaves);
 * empty when the line is empty. The bonding lists are legitimately an empty file (0 bytes): their
 * show() replaces the last separator with the newline, so an empty list prints nothing at all.
 */
export function parseSysfsList(text: string, file: string): string[] {
  const s = text === '' ? '' : checkedLine(text, file).trim();
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
    // Node's EISDIR names neither the file nor what was expected there
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new ParseError(file, 0, 'a directory, not the kernel file');
    throw err;
  }
  return parse(text, file);
}

/** Entries of a sysfs directory, sorted the way a person counts (hwmon2 before hwmon10). A
 *  missing directory throws ENOENT: the caller's section is then absent. */
export function listDir(dir: string): string[] {
  return readdirSync(dir).sort(naturalCompare);
}


/**
 * Names in natural order: runs of digits compare as numbers (temp2 before temp10, cpu9 before
 * cpu10), everything else by UTF-16 code unit; names that differ only in leading zeros (x1, x01)
 * are ordered by the first such run, the shorter first, as the last resort. Written out rather
 * than with Intl.Collator, whose ICU collation data cost ~4 MB of RSS.
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  // the first difference in leading zeros, deciding only when nothing else does
  let zeros = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      let ei = i;
      let ej = j;
      while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++;
      while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++;
      // the same number: no leading zeros past the first significant digit decide
      let si = i;
      let sj = j;
      while (si < ei - 1 && a.charCodeAt(si) === 48) si++;
      while (sj < ej - 1 && b.charCodeAt(sj) === 48) sj++;
      if (ei - si !== ej - sj) return ei - si - (ej - sj);
      for (let k = 0; k < ei - si; k++) {
        const d = a.charCodeAt(si + k) - b.charCodeAt(sj + k);
        if (d !== 0) return d;
      }
      if (zeros === 0) zeros = ei - i - (ej - j);
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  return a.length - i - (b.length - j) || zeros;
}
