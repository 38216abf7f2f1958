/**
 * One cgroup's values, v2 or v1, into its Snapshot entry (units converted: usec/ns/ticks to
 * seconds). A file the group does not have (its controller not enabled there, an older kernel,
 * PSI turned off) leaves its values absent; a file that cannot be parsed sets `err` to the first
 * such message and leaves only that file's values out, so one malformed file fails only its own
 * group, and only partly. A group whose directory is gone (removed between the walk and the
 * read) comes back undefined: its series end.
 *
 * A collection reads the files of every group in two batches (procfs/read_small.ts
 * keptFileReader: one native call each where the addon is built). First the CPU files
 * (v2 cpu.stat; v1 cpuacct.stat, cpuacct.usage, cpu.stat), exact at every collection; then the
 * others (memory, io, PSI, pids) of the groups whose CPU usage moved since the last collection,
 * that are new, whose last read failed, or whose values are older than SLOW_MAX_AGE_MS: a group
 * whose tasks did not run has kept the values of its last read, served again (as cAdvisor's
 * dynamic housekeeping reads an idle container less often). What can still move in a group
 * that did not run (memory reclaimed or swapped out, writeback of its dirty pages, a stall with
 * every task waiting, a task moved in) shows at most SLOW_MAX_AGE_MS late; counters stay exact
 * as of their read and never go back. docs/metrics.md says so.
 */
import { readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { CgroupEntry, CgroupMemField } from '@perfwatch/store/snapshot';
import { parseBlkio, parseFlatKeyed, parseIoStat, parseSingleValue, pickFlatKeyed } from '../procfs/cgroup.js';
import { parsePressure } from '../procfs/pressure.js';
import { errnoCode, controlFileError, keptFileReader, type ControlFileReader, type ControlText } from '../procfs/read_small.js';
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

// The keys read from each flat-keyed file, picked as it is parsed (pickFlatKeyed: no Map of all
// ~30 keys of memory.stat), and the parse of each.
const V2_MEM_KEYS = [...V2_MEM.map(([k]) => k), 'pgfault', 'pgmajfault'];
const V2_CPU_KEYS = ['user_usec', 'system_usec', 'usage_usec', 'nr_periods', 'nr_throttled', 'throttled_usec'];
const EVENTS_KEYS = ['oom', 'oom_kill'];
const CPUACCT_KEYS = ['user', 'system'];
const V1_CPU_KEYS = ['nr_periods', 'nr_throttled', 'throttled_time'];
const OOM_CONTROL_KEYS = ['oom_kill'];
const picking = (keys: readonly string[]) => (t: string, f: string) => pickFlatKeyed(t, f, keys);
const parseV2MemStat = picking(V2_MEM_KEYS);
const parseV2CpuStat = picking(V2_CPU_KEYS);
const parseMemoryEvents = picking(EVENTS_KEYS);
const parseCpuacctStat = picking(CPUACCT_KEYS);
const parseV1CpuStat = picking(V1_CPU_KEYS);
const parseOomControl = picking(OOM_CONTROL_KEYS);
const V1_MEM: CgroupMemField[] = ['rss', 'cache', 'mapped_file', 'shmem', 'dirty', 'writeback', 'inactive_file', 'swap'];

/** major:minor -> block device name, from <sys>/dev/block/<maj:min> (a symlink into devices/). */
export class DeviceNames {
  private readonly names = new Map<string, string>();
  constructor(private readonly sysRoot: string) {}
  name(dev: string): string {
    let n = this.names.get(dev);
    if (n === undefined) {
      try {
        n = basename(readlinkSync(`${this.sysRoot}/dev/block/${dev}`));
      } catch {
        n = dev;
      }
      if (this.names.size < 10_000) this.names.set(dev, n);
    }
    return n;
  }
}

/**
 * Limits (memory.max, pids.max; v1 memory.limit_in_bytes) change only when someone changes them:
 * read once a minute per group, which saves two of a group's ~12 reads per collection.
 */
type Limits = { lim?: number; pidsl?: number };

export class LimitCache {
  private readonly byPath = new Map<string, { at: number; lim?: number; pidsl?: number }>();
  constructor(private readonly maxAgeMs = 60_000) {}
  /** the cached limits of `path`, or undefined when they are to be read again. */
  get(path: string, now: number): { lim?: number; pidsl?: number } | undefined {
    const c = this.byPath.get(path);
    return c && now - c.at < this.maxAgeMs ? c : undefined;
  }
  set(path: string, now: number, v: { lim?: number; pidsl?: number }): void {
    this.byPath.set(path, { at: now, ...v });
  }
  /** forgets groups that are gone. */
  keep(paths: Set<string>): void {
    for (const p of this.byPath.keys()) if (!paths.has(p)) this.byPath.delete(p);
  }
}

/**
 * A group's files as a batch read them. The same read functions run twice: once to list the
 * files they read (`plan`), once over the batch's texts in that order (`serve`), so the
 * decisions made in them (a cached limit) must not change between the two.
 */
class Reader {
  readonly e: CgroupEntry = {};
  /** files read (present); 0 at the end means the group is gone. */
  found = 0;
  missing = 0;
  constructor(private readonly batch: Batch) {}
  read<T>(file: string, parse: (text: string, file: string) => T): T | undefined {
    const b = this.batch;
    if (b.texts === undefined) {
      b.files.push(file);
      return undefined;
    }
    if (b.files[b.i] !== file) throw new Error(`cgroup read: ${file} out of its batch's order (${b.files[b.i]})`);
    const text = b.texts[b.i++]!;
    if (typeof text === 'number') {
      if (ABSENT.has(errnoCode(text))) this.missing++;
      else this.fail(controlFileError(file, text));
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

/** The files of one batch: listed (texts undefined), then read. */
interface Batch {
  files: string[];
  texts?: ControlText[];
  i: number;
}

function newBatch(): Batch {
  return { files: [], i: 0 };
}

function readBatch(b: Batch, reader: ControlFileReader): void {
  b.texts = reader.read(b.files);
  b.i = 0;
}

/** Values of a group's memory, io, PSI and pids files: what a group that did not run keeps. */
type Slow = Omit<CgroupEntry, 'cpu' | 'cpuu' | 'thr' | 'err' | 'ctr' | 'img' | 'id' | 'unit' | 'pod' | 'qos'>;

/** Longest a group that did not run serves the values of its memory, io, PSI and pids files. */
export const SLOW_MAX_AGE_MS = 30_000;

interface GroupState {
  /** CPU usage (cpuu) at the last collection. */
  usage: number | undefined;
  /** when the slow files are due again even if the group does not run. */
  due: number;
  slow: Slow;
  found: number;
}

/**
 * A group's period in [max/2, max], from its path and the time of the read (`at`, ms): groups
 * read together (all of them at the first collection) do not come due together again, and
 * since the time is part of it, a group's next period differs from its last, so the reads spread
 * evenly over the collections. A period from the path alone repeated with each group's own
 * cycle of 3-6 collections: every 60th collection read every idle group, lumps of 0 to 2,211
 * files a collection over the benchmark's 200 groups.
 */
export function periodOf(path: string, max: number, at: number): number {
  let h = Math.floor(at) | 0;
  for (let i = 0; i < path.length; i++) h = (Math.imul(h, 31) + path.charCodeAt(i)) | 0;
  // murmur3's finalizer: every input bit moves every output bit
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return max / 2 + ((h >>> 0) % 1024) * (max / 2 / 1024);
}

/**
 * Reads groups across collections: the limits of each once LimitCache's age, and the slow files
 * of a group only when it ran (above). forget() drops the groups gone.
 */
export class CgroupReader {
  private readonly state = new Map<string, GroupState>();
  /** the CPU files, read at every collection: their descriptors kept open between collections */
  private readonly cpuFiles: ControlFileReader = keptFileReader();
  /** the other files, kept open likewise while their group keeps running (due at each collection) */
  private readonly restFiles: ControlFileReader = keptFileReader();
  constructor(
    private readonly devices: DeviceNames,
    private readonly limits = new LimitCache(),
    private readonly slowMaxAgeMs = SLOW_MAX_AGE_MS,
  ) {}

  /** closes the files kept open. */
  close(): void {
    this.cpuFiles.close();
    this.restFiles.close();
  }

  /** keeps the state of these groups only. */
  keep(paths: Set<string>): void {
    this.limits.keep(paths);
    for (const p of this.state.keys()) if (!paths.has(p)) this.state.delete(p);
  }

  /** Each group's entry, undefined for a group that is gone. */
  read(layout: CgroupLayout, paths: readonly string[], now: number): (CgroupEntry | undefined)[] {
    const fast = newBatch();
    for (const p of paths) readCpu(new Reader(fast), layout, p);
    readBatch(fast, this.cpuFiles);
    const cpu = paths.map((p) => {
      const r = new Reader(fast);
      readCpu(r, layout, p);
      return r;
    });
    const slow = newBatch();
    const due: boolean[] = [];
    const cached: (Limits | undefined)[] = [];
    paths.forEach((p, k) => {
      const st = this.state.get(p);
      const usage = cpu[k]!.e.cpuu;
      // no usage to tell by, a new group, one that ran, or values too old: read again
      const d = st === undefined || usage === undefined || usage !== st.usage || now >= st.due;
      due.push(d);
      cached.push(d ? this.limits.get(p, now) : undefined);
      if (d) readRest(new Reader(slow), layout, p, this.devices, cached[k]);
    });
    readBatch(slow, this.restFiles);
    return paths.map((p, k) => {
      const c = cpu[k]!;
      const st = this.state.get(p);
      let rest: Slow & { err?: string };
      let found: number;
      if (due[k]) {
        const r = new Reader(slow);
        readRest(r, layout, p, this.devices, cached[k]);
        rest = r.e;
        found = r.found;
        if (r.e.err === undefined) {
          if (!cached[k]) this.limits.set(p, now, pick(r.e));
          this.state.set(p, { usage: c.e.cpuu, due: now + periodOf(p, this.slowMaxAgeMs, now), slow: r.e, found });
        } else {
          // a failed read is not kept: read again next time
          this.state.delete(p);
        }
      } else {
        st!.usage = c.e.cpuu;
        rest = st!.slow;
        found = st!.found;
      }
      if (c.found + found === 0 && c.e.err === undefined && rest.err === undefined) {
        this.state.delete(p);
        return undefined;
      }
      // in the order of the reads, the first error kept (as when one Reader read them all).
      // Object.assign, not { ...c.e, ...rest }: the same keys in the same order, but Node 20's V8
      // copies a second spread property by property through the runtime, ~10 us an entry here
      // (a quarter of the idle collection's CPU between this and the collector's own spread).
      const e: CgroupEntry = Object.assign({}, c.e, rest);
      if (c.e.err !== undefined) e.err = c.e.err;
      return e;
    });
  }
}

function pick(e: CgroupEntry): Limits {
  const v: Limits = {};
  if (e.lim !== undefined) v.lim = e.lim;
  if (e.pidsl !== undefined) v.pidsl = e.pidsl;
  return v;
}

function setIf<T extends object, K extends keyof T>(e: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) e[k] = v;
}

/** One group's entry, read now (no state kept): undefined when it is gone. */
export function readCgroup(layout: CgroupLayout, path: string, devices: DeviceNames): CgroupEntry | undefined {
  return new CgroupReader(devices).read(layout, [path], Date.now())[0];
}

/** The CPU files: every collection. */
function readCpu(r: Reader, layout: CgroupLayout, path: string): void {
  if (layout.version === 2) readV2Cpu(r, `${layout.root}${path}`);
  else readV1Cpu(r, layout, path);
}

/** The others: when the group ran, or is due. */
function readRest(r: Reader, layout: CgroupLayout, path: string, devices: DeviceNames, cached: Limits | undefined): void {
  if (layout.version === 2) readV2Rest(r, `${layout.root}${path}`, devices, cached);
  else readV1Rest(r, layout, path, devices, cached);
}

function readV2Cpu(r: Reader, dir: string): void {
  const e = r.e;
  const cpu = r.read(`${dir}/cpu.stat`, parseV2CpuStat);
  if (cpu) {
    const [u, s, usage, p, t, ts] = cpu;
    if (u !== undefined && s !== undefined) e.cpu = [u / 1e6, s / 1e6];
    if (usage !== undefined) e.cpuu = usage / 1e6;
    if (p !== undefined && t !== undefined && ts !== undefined) e.thr = [p, t, ts / 1e6];
  }
}

function readV2Rest(r: Reader, dir: string, devices: DeviceNames, cached: Limits | undefined): void {
  const e = r.e;
  setIf(e, 'mem', r.read(`${dir}/memory.current`, parseSingleValue));
  setIf(e, 'lim', cached ? cached.lim : r.read(`${dir}/memory.max`, parseSingleValue));
  const ms = r.read(`${dir}/memory.stat`, parseV2MemStat);
  const swap = r.read(`${dir}/memory.swap.current`, parseSingleValue);
  if (ms || swap !== undefined) {
    const out: NonNullable<CgroupEntry['ms']> = {};
    if (ms) for (let i = 0; i < V2_MEM.length; i++) setIf(out, V2_MEM[i]![1], ms[i]);
    if (swap !== undefined) out.swap = swap;
    e.ms = out;
    const f = ms?.[V2_MEM.length];
    const m = ms?.[V2_MEM.length + 1];
    if (f !== undefined && m !== undefined) e.pgf = [f, m];
  }
  const ev = r.read(`${dir}/memory.events`, parseMemoryEvents);
  if (ev) {
    setIf(e, 'oom', ev[0]);
    setIf(e, 'oomk', ev[1]);
  }
  const io = r.read(`${dir}/io.stat`, parseIoStat);
  if (io) {
    e.io = {};
    for (const [dev, v] of io) e.io[devices.name(dev)] = [v.rbytes, v.wbytes, v.rios, v.wios];
  }
  readPsi(r, dir);
  setIf(e, 'pids', r.read(`${dir}/pids.current`, parseSingleValue));
  setIf(e, 'pidsl', cached ? cached.pidsl : r.read(`${dir}/pids.max`, parseSingleValue));
}

/** {cpu,memory,io}.pressure of a v2 group: total stall seconds. */
function readPsi(r: Reader, dir: string): void {
  for (const res of ['cpu', 'memory', 'io'] as const) {
    const p = r.read(`${dir}/${res}.pressure`, parsePressure);
    if (!p) continue;
    r.e.psi ??= {};
    const k: { some?: number; full?: number } = {};
    if (p.some) k.some = p.some.total / 1e6;
    if (p.full) k.full = p.full.total / 1e6;
    r.e.psi[res] = k;
  }
}

function memFaults(e: CgroupEntry, ms: Map<string, number> | undefined, prefix: string): void {
  const f = ms?.get(`${prefix}pgfault`);
  const m = ms?.get(`${prefix}pgmajfault`);
  if (f !== undefined && m !== undefined) e.pgf = [f, m];
}

function readV1Cpu(r: Reader, layout: Extract<CgroupLayout, { version: 1 }>, path: string): void {
  const { roots } = layout;
  const e = r.e;
  if (roots.cpuacct) {
    const dir = `${roots.cpuacct}${path}`;
    const st = r.read(`${dir}/cpuacct.stat`, parseCpuacctStat);
    const u = st?.[0];
    const s = st?.[1];
    if (u !== undefined && s !== undefined) e.cpu = [u / USER_HZ, s / USER_HZ];
    const usage = r.read(`${dir}/cpuacct.usage`, parseSingleValue);
    if (usage !== undefined) e.cpuu = usage / 1e9;
  }
  if (roots.cpu) {
    const st = r.read(`${roots.cpu}${path}/cpu.stat`, parseV1CpuStat);
    const p = st?.[0];
    const t = st?.[1];
    const ts = st?.[2];
    if (p !== undefined && t !== undefined && ts !== undefined) e.thr = [p, t, ts / 1e9];
  }
}

function readV1Rest(r: Reader, layout: Extract<CgroupLayout, { version: 1 }>, path: string, devices: DeviceNames, cached: Limits | undefined): void {
  const { roots } = layout;
  const e = r.e;
  if (roots.memory) {
    const dir = `${roots.memory}${path}`;
    setIf(e, 'mem', r.read(`${dir}/memory.usage_in_bytes`, parseSingleValue));
    setIf(e, 'lim', cached ? cached.lim : r.read(`${dir}/memory.limit_in_bytes`, parseSingleValue));
    const ms = r.read(`${dir}/memory.stat`, parseFlatKeyed);
    if (ms) {
      // total_* include the descendants, as v2's memory.stat does; without use_hierarchy there are none
      const hier = ms.has('total_rss');
      const prefix = hier ? 'total_' : '';
      const out: NonNullable<CgroupEntry['ms']> = {};
      for (const f of V1_MEM) setIf(out, f, ms.get(`${prefix}${f}`));
      e.ms = out;
      memFaults(e, ms, prefix);
    }
    const oc = r.read(`${dir}/memory.oom_control`, parseOomControl);
    setIf(e, 'oomk', oc?.[0]);
  }
  if (roots.blkio) {
    const dir = `${roots.blkio}${path}`;
    const bytes = r.read(`${dir}/blkio.throttle.io_service_bytes`, parseBlkio);
    const ops = r.read(`${dir}/blkio.throttle.io_serviced`, parseBlkio);
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
    const dir = `${roots.pids}${path}`;
    setIf(e, 'pids', r.read(`${dir}/pids.current`, parseSingleValue));
    setIf(e, 'pidsl', cached ? cached.pidsl : r.read(`${dir}/pids.max`, parseSingleValue));
  }
  // a hybrid host: PSI where systemd mirrors the group in the v2 mount (absent elsewhere)
  if (layout.unified) readPsi(r, `${layout.unified}${path}`);
}
