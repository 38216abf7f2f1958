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
import { fields, kernelLines, parseNumber, quote } from './util.js';

/**
 * "key value" per line (cpu.stat, memory.stat, memory.events, cpuacct.stat, memory.oom_control),
 * in the kernel's order (keys may hold a dot: core_sched.force_idle_usec). A key the kernel does not print is absent. memory.events.local and a
 * cgroup whose controller prints nothing yet still print their keys, so an empty file is an error.
 */
export function parseFlatKeyed(text: string, file: string): Map<string, number> {
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
