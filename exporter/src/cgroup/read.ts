/**
 * One cgroup's values, v2 or v1, into its Snapshot entry (units converted: usec/ns/ticks to
 * seconds). A file the group does not have (its controller not enabled there, an older kernel,
 * PSI turned off) leaves its values absent; a file that cannot be parsed sets `err` to the first
 * such message and leaves only that file's values out, so one malformed file fails only its own
 * group, and only partly. A group whose directory is gone (removed between the walk and the
 * read) comes back undefined: its series end.
 */
import { readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CgroupEntry, CgroupMemField } from '@perfwatch/store/snapshot';
import { parseBlkio, parseFlatKeyed, parseIoStat, parseSingleValue } from '../procfs/cgroup.js';
import { parsePressure } from '../procfs/pressure.js';
import { readKernelFile } from '../procfs/util.js';
import type { CgroupLayout } from './discover.js';

/** cpuacct.stat counts in USER_HZ, which the kernel ABI fixes at 100. */
const USER_HZ = 100;
// ENOENT: no such file (or the group went away); EOPNOTSUPP: PSI compiled in but off (psi=0);
// ENODEV/EINVAL: a controller file that exists but is not usable in this group.
const ABSENT = new Set(['ENOENT', 'EOPNOTSUPP', 'ENODEV', 'EINVAL']);

/** v2 memory.stat names -> the entry's (v1 uses the v1 names, hierarchical total_* first). */
const V2_MEM: [string, CgroupMemField][] = [
  ['anon', 'rss'], ['file', 'cache'], ['file_mapped', 'mapped_file'], ['shmem', 'shmem'], ['kernel', 'kernel'],
  ['file_dirty', 'dirty'], ['file_writeback', 'writeback'], ['inactive_file', 'inactive_file'],
];
const V1_MEM: CgroupMemField[] = ['rss', 'cache', 'mapped_file', 'shmem', 'dirty', 'writeback', 'inactive_file', 'swap'];

/** major:minor -> block device name, from <sys>/dev/block/<maj:min> (a symlink into devices/). */
export class DeviceNames {
  private readonly names = new Map<string, string>();
  constructor(private readonly sysRoot: string) {}
  name(dev: string): string {
    let n = this.names.get(dev);
    if (n === undefined) {
      try {
        n = basename(readlinkSync(join(this.sysRoot, 'dev/block', dev)));
      } catch {
        n = dev;
      }
      if (this.names.size < 10_000) this.names.set(dev, n);
    }
    return n;
  }
}

class Reader {
  readonly e: CgroupEntry = {};
  /** files read (present); 0 at the end means the group is gone. */
  found = 0;
  missing = 0;
  read<T>(file: string, parse: (text: string, file: string) => T): T | undefined {
    let text: string;
    try {
      text = readKernelFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code && ABSENT.has(code)) {
        this.missing++;
        return undefined;
      }
      this.fail(err);
      return undefined;
    }
    this.found++;
    try {
      return parse(text, file);
    } catch (err) {
      this.fail(err);
      return undefined;
    }
  }
  fail(err: unknown): void {
    this.e.err ??= err instanceof Error ? err.message : String(err);
  }
}

function setIf<T extends object, K extends keyof T>(e: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) e[k] = v;
}

export function readCgroup(layout: CgroupLayout, path: string, devices: DeviceNames): CgroupEntry | undefined {
  const r = new Reader();
  if (layout.version === 2) readV2(r, join(layout.root, path), devices);
  else readV1(r, layout.roots, path, devices);
  if (r.found === 0 && r.e.err === undefined) return undefined;
  return r.e;
}

function readV2(r: Reader, dir: string, devices: DeviceNames): void {
  const e = r.e;
  const cpu = r.read(join(dir, 'cpu.stat'), parseFlatKeyed);
  if (cpu) {
    const u = cpu.get('user_usec');
    const s = cpu.get('system_usec');
    if (u !== undefined && s !== undefined) e.cpu = [u / 1e6, s / 1e6];
    const usage = cpu.get('usage_usec');
    if (usage !== undefined) e.cpuu = usage / 1e6;
    const p = cpu.get('nr_periods');
    const t = cpu.get('nr_throttled');
    const ts = cpu.get('throttled_usec');
    if (p !== undefined && t !== undefined && ts !== undefined) e.thr = [p, t, ts / 1e6];
  }
  setIf(e, 'mem', r.read(join(dir, 'memory.current'), parseSingleValue));
  setIf(e, 'lim', r.read(join(dir, 'memory.max'), parseSingleValue));
  const ms = r.read(join(dir, 'memory.stat'), parseFlatKeyed);
  const swap = r.read(join(dir, 'memory.swap.current'), parseSingleValue);
  if (ms || swap !== undefined) {
    const out: NonNullable<CgroupEntry['ms']> = {};
    if (ms) for (const [k, f] of V2_MEM) setIf(out, f, ms.get(k));
    if (swap !== undefined) out.swap = swap;
    e.ms = out;
    memFaults(e, ms, '');
  }
  const ev = r.read(join(dir, 'memory.events'), parseFlatKeyed);
  if (ev) {
    setIf(e, 'oom', ev.get('oom'));
    setIf(e, 'oomk', ev.get('oom_kill'));
  }
  const io = r.read(join(dir, 'io.stat'), parseIoStat);
  if (io) {
    e.io = {};
    for (const [dev, v] of io) e.io[devices.name(dev)] = [v.rbytes, v.wbytes, v.rios, v.wios];
  }
  for (const res of ['cpu', 'memory', 'io'] as const) {
    const p = r.read(join(dir, `${res}.pressure`), parsePressure);
    if (!p) continue;
    e.psi ??= {};
    const k: { some?: number; full?: number } = {};
    if (p.some) k.some = p.some.total / 1e6;
    if (p.full) k.full = p.full.total / 1e6;
    e.psi[res] = k;
  }
  setIf(e, 'pids', r.read(join(dir, 'pids.current'), parseSingleValue));
  setIf(e, 'pidsl', r.read(join(dir, 'pids.max'), parseSingleValue));
}

function memFaults(e: CgroupEntry, ms: Map<string, number> | undefined, prefix: string): void {
  const f = ms?.get(`${prefix}pgfault`);
  const m = ms?.get(`${prefix}pgmajfault`);
  if (f !== undefined && m !== undefined) e.pgf = [f, m];
}

function readV1(r: Reader, roots: Extract<CgroupLayout, { version: 1 }>['roots'], path: string, devices: DeviceNames): void {
  const e = r.e;
  if (roots.cpuacct) {
    const dir = join(roots.cpuacct, path);
    const st = r.read(join(dir, 'cpuacct.stat'), parseFlatKeyed);
    const u = st?.get('user');
    const s = st?.get('system');
    if (u !== undefined && s !== undefined) e.cpu = [u / USER_HZ, s / USER_HZ];
    const usage = r.read(join(dir, 'cpuacct.usage'), parseSingleValue);
    if (usage !== undefined) e.cpuu = usage / 1e9;
  }
  if (roots.cpu) {
    const st = r.read(join(roots.cpu, path, 'cpu.stat'), parseFlatKeyed);
    const p = st?.get('nr_periods');
    const t = st?.get('nr_throttled');
    const ts = st?.get('throttled_time');
    if (p !== undefined && t !== undefined && ts !== undefined) e.thr = [p, t, ts / 1e9];
  }
  if (roots.memory) {
    const dir = join(roots.memory, path);
    setIf(e, 'mem', r.read(join(dir, 'memory.usage_in_bytes'), parseSingleValue));
    setIf(e, 'lim', r.read(join(dir, 'memory.limit_in_bytes'), parseSingleValue));
    const ms = r.read(join(dir, 'memory.stat'), parseFlatKeyed);
    if (ms) {
      // total_* include the descendants, as v2's memory.stat does; without use_hierarchy there are none
      const hier = ms.has('total_rss');
      const prefix = hier ? 'total_' : '';
      const out: NonNullable<CgroupEntry['ms']> = {};
      for (const f of V1_MEM) setIf(out, f, ms.get(`${prefix}${f}`));
      e.ms = out;
      memFaults(e, ms, prefix);
    }
    const oc = r.read(join(dir, 'memory.oom_control'), parseFlatKeyed);
    setIf(e, 'oomk', oc?.get('oom_kill'));
  }
  if (roots.blkio) {
    const dir = join(roots.blkio, path);
    const bytes = r.read(join(dir, 'blkio.throttle.io_service_bytes'), parseBlkio);
    const ops = r.read(join(dir, 'blkio.throttle.io_serviced'), parseBlkio);
    if (bytes || ops) {
      e.io = {};
      const devs = new Set([...(bytes?.keys() ?? []), ...(ops?.keys() ?? [])]);
      for (const dev of [...devs].sort()) {
        const b = bytes?.get(dev) ?? [0, 0];
        const o = ops?.get(dev) ?? [0, 0];
        e.io[devices.name(dev)] = [b[0], b[1], o[0], o[1]];
      }
    }
  }
  if (roots.pids) {
    const dir = join(roots.pids, path);
    setIf(e, 'pids', r.read(join(dir, 'pids.current'), parseSingleValue));
    setIf(e, 'pidsl', r.read(join(dir, 'pids.max'), parseSingleValue));
  }
}
