// The per-cgroup control files, cgroup v2 and v1, read and parsed only (the collector in
// collectors/cgroup.ts names and selects the groups).
// v2: https://www.kernel.org/doc/html/latest/admin-guide/cgroup-v2.html
//   cpu.stat, memory.stat, memory.events, memory.current, memory.max, memory.swap.current,
//   io.stat, pids.current, pids.max, {cpu,memory,io}.pressure (the format of /proc/pressure:
//   pressure.ts parses them).
// v1: https://www.kernel.org/doc/html/latest/admin-guide/cgroup-v1/index.html
//   cpuacct.stat (USER_HZ ticks), cpuacct.usage (ns), cpu.stat (CFS: nr_periods, nr_throttled,
//   throttled_time ns), memory.usage_in_bytes, memory.limit_in_bytes, memory.stat,
//   memory.oom_control, blkio.throttle.io_service_bytes, blkio.throttle.io_serviced, pids.*.
import { ParseError } from './errors.js';
import { decimalAt, fieldEnd, fields, isDigit, kernelLines, MAX_LINE, parseNumber, quote } from './util.js';

/**
 * "key value" per line (cpu.stat, memory.stat, memory.events, cpuacct.stat, memory.oom_control),
 * in the kernel's order (keys may hold a dot: core_sched.force_idle_usec). A key the kernel does
 * not print is absent; a key printed twice keeps its last value. memory.events.local and a
 * cgroup whose controller prints nothing yet still print their keys, so an empty file is an error.
 */
export function parseFlatKeyed(text: string, file: string): Map<string, number> {
  const out = new Map<string, number>();
  return scanFlatKeyed(text, undefined, out, undefined) ? out : parseFlatKeyedLines(text, file);
}

/**
 * The values of `keys` in a flat-keyed file, in their order (undefined: not printed), without the
 * Map of every key: checked as parseFlatKeyed checks it, every line (not only the keys wanted).
 */
export function pickFlatKeyed(text: string, file: string, keys: readonly string[]): (number | undefined)[] {
  const vals: (number | undefined)[] = [];
  for (let k = 0; k < keys.length; k++) vals.push(undefined);
  if (scanFlatKeyed(text, keys, undefined, vals)) return vals;
  const all = parseFlatKeyedLines(text, file);
  return keys.map((k) => all.get(k));
}

/** The fast path of parseFlatKeyed (util.ts decimalAt): false where the text is not byte for byte what the kernel writes. */
function scanFlatKeyed(text: string, keys: readonly string[] | undefined, map: Map<string, number> | undefined, vals: (number | undefined)[] | undefined): boolean {
  const len = text.length;
  if (len === 0 || text.charCodeAt(len - 1) !== 10) return false;
  for (let s = 0; s < len; ) {
    const nl = text.indexOf('\n', s);
    if (nl - s > MAX_LINE) return false;
    let c = text.charCodeAt(s);
    if (c < 97 || c > 122) return false; // a-z
    let i = s + 1;
    for (; i < nl; i++) {
      c = text.charCodeAt(i);
      if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 46)) break; // a-z 0-9 _ .
    }
    if (i >= nl || c !== 32) return false;
    const v = decimalAt(text, i + 1, nl);
    if (v !== v) return false;
    if (map !== undefined) map.set(text.slice(s, i), v);
    else {
      for (let k = 0; k < keys!.length; k++) {
        const key = keys![k]!;
        if (key.length === i - s && text.startsWith(key, s)) {
          vals![k] = v;
          break;
        }
      }
    }
    s = nl + 1;
  }
  return true;
}

/** parseFlatKeyed line by line: the reference of the fast path, and the parse of whatever it does not take. */
export function parseFlatKeyedLines(text: string, file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [line, n] of kernelLines(text, file)) {
    const f = fields(line);
    if (f.length !== 2) throw new ParseError(file, n, `expected "key value", got ${quote(line)}`);
    if (!/^[a-z][a-z0-9_.]*$/.test(f[0]!)) throw new ParseError(file, n, `not a key: ${quote(f[0]!)}`);
    out.set(f[0]!, parseNumber(f[1], file, n, f[0]));
  }
  return out;
}

/**
 * One number on one line (memory.current, pids.current, memory.usage_in_bytes, cpuacct.usage,
 * memory.max, pids.max). "max" (v2: no limit) is undefined; so is v1's "no limit" in
 * memory.limit_in_bytes, which is PAGE_COUNTER_MAX pages (LONG_MAX rounded down to a page: any
 * value at or above 2^62 bytes).
 */
export function parseSingleValue(text: string, file: string): number | undefined {
  // the fast path: "max\n" or digits and a newline, at most 64 characters
  const len = text.length;
  if (len >= 2 && len <= 65 && text.charCodeAt(len - 1) === 10) {
    if (len === 4 && text.startsWith('max')) return undefined;
    const v = decimalAt(text, 0, len - 1);
    if (v === v) return v >= 2 ** 62 ? undefined : v;
  }
  return parseSingleValueLines(text, file);
}

/** parseSingleValue line by line: the reference of its fast path, and the parse of whatever that does not take. */
export function parseSingleValueLines(text: string, file: string): number | undefined {
  const all = kernelLines(text, file, { maxLine: 64 });
  if (all.length !== 1) throw new ParseError(file, all[1]![1], 'expected a single line');
  const [line, n] = all[0]!;
  const t = line.trim();
  if (t === 'max') return undefined;
  const v = parseNumber(t, file, n, 'value');
  return v >= 2 ** 62 ? undefined : v;
}

/** Per device ("major:minor"): bytes and operations read and written. */
export interface IoCounts {
  rbytes: number;
  wbytes: number;
  rios: number;
  wios: number;
}

const DEVICE = /^\d+:\d+$/;

/**
 * v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device with I/O. A device
 * line can carry only some keys (io cost and latency controllers add their own); a missing one of
 * the four counts as 0 here because the kernel prints the line only with all of rbytes..dios.
 * An empty io.stat is what a cgroup without I/O has.
 */
export function parseIoStat(text: string, file: string): Map<string, IoCounts> {
  return scanIoStat(text) ?? parseIoStatLines(text, file);
}

/** The fast path of parseIoStat: undefined where the text is not byte for byte what the kernel writes. */
function scanIoStat(text: string): Map<string, IoCounts> | undefined {
  const out = new Map<string, IoCounts>();
  const len = text.length;
  if (len === 0) return out;
  if (text.charCodeAt(len - 1) !== 10) return undefined;
  for (let s = 0; s < len; ) {
    const nl = text.indexOf('\n', s);
    if (nl - s > MAX_LINE) return undefined;
    // major:minor
    let i = s;
    while (i < nl && isDigit(text.charCodeAt(i))) i++;
    if (i === s || text.charCodeAt(i) !== 58) return undefined;
    const minor = ++i;
    while (i < nl && isDigit(text.charCodeAt(i))) i++;
    if (i === minor) return undefined;
    const dev = text.slice(s, i);
    const v: IoCounts = { rbytes: 0, wbytes: 0, rios: 0, wios: 0 };
    // " key=value" pairs
    while (i < nl) {
      if (text.charCodeAt(i) !== 32) return undefined;
      const k = i + 1;
      const end = fieldEnd(text, k, nl);
      if (end < nl && text.charCodeAt(end) !== 32) return undefined;
      const eq = text.indexOf('=', k);
      if (eq <= k || eq >= end) return undefined;
      const kl = eq - k;
      const key = kl === 6 ? (text.startsWith('rbytes', k) ? 'rbytes' : text.startsWith('wbytes', k) ? 'wbytes' : undefined)
        : kl === 4 ? (text.startsWith('rios', k) ? 'rios' : text.startsWith('wios', k) ? 'wios' : undefined) : undefined;
      if (key !== undefined) {
        const x = decimalAt(text, eq + 1, end);
        if (x !== x) return undefined;
        v[key] = x;
      }
      i = end;
    }
    out.set(dev, v);
    s = nl + 1;
  }
  return out;
}

/** parseIoStat line by line: the reference of the fast path, and the parse of whatever it does not take. */
export function parseIoStatLines(text: string, file: string): Map<string, IoCounts> {
  const out = new Map<string, IoCounts>();
  for (const [line, n] of kernelLines(text, file, { emptyOk: true })) {
    const [dev = '', ...pairs] = fields(line);
    if (!DEVICE.test(dev)) throw new ParseError(file, n, `expected major:minor, got ${quote(dev)}`);
    const v: IoCounts = { rbytes: 0, wbytes: 0, rios: 0, wios: 0 };
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new ParseError(file, n, `expected key=value, got ${quote(pair)}`);
      const k = pair.slice(0, eq);
      if (k === 'rbytes' || k === 'wbytes' || k === 'rios' || k === 'wios') v[k] = parseNumber(pair.slice(eq + 1), file, n, k);
    }
    out.set(dev, v);
  }
  return out;
}

/**
 * v1 blkio.throttle.io_service_bytes / io_serviced (and the blkio.io_* ones of CFQ/BFQ):
 * "8:0 Read 123" per device and operation, then "Total N" (or, where nothing was done, only
 * "Total 0"). Returns device -> [read, write]; Sync/Async/Discard/Total per device are left out.
 * The kernel always ends with the "Total" line (blkcg_print_blkgs), so a file without it was cut
 * short at a line boundary, and devices after the cut would vanish.
 */
export function parseBlkio(text: string, file: string): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  const all = kernelLines(text, file);
  const [last, lastN] = all[all.length - 1]!;
  if (!last.startsWith('Total ')) throw new ParseError(file, lastN, `expected the "Total" line last, got ${quote(last)}`);
  for (const [line, n] of all) {
    const f = fields(line);
    if (f[0] === 'Total' && f.length === 2) {
      parseNumber(f[1], file, n, 'Total');
      continue;
    }
    if (f.length !== 3 || !DEVICE.test(f[0]!)) throw new ParseError(file, n, `expected "major:minor Op value", got ${quote(line)}`);
    const v = parseNumber(f[2], file, n, f[1]);
    if (f[1] !== 'Read' && f[1] !== 'Write') continue;
    let d = out.get(f[0]!);
    if (!d) out.set(f[0]!, (d = [0, 0]));
    d[f[1] === 'Read' ? 0 : 1] = v;
  }
  return out;
}
