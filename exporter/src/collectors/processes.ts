/**
 * The top processes by CPU and by resident memory, grouped by command name and cgroup (pids are
 * never labels, so a fork-heavy host does not grow series without bound), as process-exporter's
 * name groups; kernel threads by their name before its '/' (groupName). The groups are written
 * in name order, and a group exported last time wins a tie, so that the snapshot's shape stays
 * the same from one collection to the next unless the set of groups changes (a new shape is a
 * row of its own in the database, and work for the writer).
 *
 * One /proc/<pid>/stat read per process per collection, through descriptors kept open from one
 * collection to the next (keptFileReader); /proc/<pid>/cgroup only for a process not seen
 * before, one whose command changed (exec) or once REDISCOVER_MS old; /proc/<pid>/status and io
 * only for the processes of the groups exported, and status (for VmSwap) not where <proc>/swaps
 * lists no swap device (every VmSwap is 0 then) nor for a kernel thread (no VmSwap line). Each
 * kind of file is read in one batch (one call to the native addon where it is built).
 *
 * A group's CPU is a counter: what its processes used since the exporter first saw them, with
 * the share of a process that exits or leaves the group kept, so it never goes down while the
 * group has live processes. A group without live processes is forgotten (its series end).
 */
import { readdirSync } from 'node:fs';
import type { ProcessGroup, ProcessSection } from '@perfwatch/store/snapshot';
import type { ExporterConfig } from '../config.js';
import { pageSize } from '../pagesize.js';
import { join } from 'node:path';
import { mainCgroup, parsePidCgroup } from '../procfs/pid_cgroup.js';
import { parsePidIo } from '../procfs/pid_io.js';
import { parsePidStat, PF_KTHREAD, type PidStat } from '../procfs/pid_stat.js';
import { parsePidStatus } from '../procfs/pid_status.js';
import { controlFileError, errnoCode, keptFileReader, readControlFiles, type ControlText } from '../procfs/read_small.js';
import { hasSwapDevice, parseSwaps } from '../procfs/swaps.js';
import { periodOf, SLOW_MAX_AGE_MS } from '../cgroup/read.js';
import { REDISCOVER_MS } from './plan.js';
import type { CollectorDefinition } from './types.js';

/** /proc/<pid>/stat counts in USER_HZ, which the kernel ABI fixes at 100. */
const USER_HZ = 100;

interface Tracked {
  start: number;
  /** the name it is grouped by (groupName) */
  comm: string;
  cg: string;
  cgAt: number;
  key: string;
  /** the process's CPU ticks [user, system] when it joined its group, and when last seen. */
  base: [number, number];
  last: [number, number];
  /** its io and status values as last read, and its ticks then. */
  slow?: Slow;
  /** its stat's text as last read, and that parsed: a process that did not run reads the same text */
  text?: string;
  stat?: PidStat;
  /** <proc>/<pid>/stat */
  statPath: string;
  /** the collection that last saw it */
  gen: number;
}

/**
 * A process's /proc/<pid>/io bytes (null: not readable, EACCES) and VmSwap (bytes; undefined:
 * no line, or not read where no swap device is on), as read when its CPU ticks were `ticks`: read
 * again when they moved (a process that did not run did no I/O), or once `due` (SLOW_MAX_AGE_MS,
 * staggered by pid: what moves without the process running, its pages swapped out, shows that
 * late at most), as the cgroup collector reads an idle group's files.
 */
interface Slow {
  ticks: number;
  due: number;
  io: [number, number] | null;
  swap: number | undefined;
}

interface Live {
  c: string;
  cg: string;
  pids: string[];
  /** whether a process of the group has memory (not a kernel thread, nor a zombie): a VmSwap line. */
  mm: boolean;
  ticks: [number, number];
  rss: number;
  thr: number;
}

/** Whether a /proc/<pid> read failed because the process is gone (or is being reaped). */
function gone(errno: number): boolean {
  const code = errnoCode(errno);
  return code === 'ENOENT' || code === 'ESRCH';
}

/** A file's text, undefined where the process is gone; any other failure thrown, naming the file. */
function textOf(t: ControlText, file: string): string | undefined {
  if (typeof t === 'string') return t;
  if (gone(t)) return undefined;
  throw controlFileError(file, t);
}

/** Whether <proc>/swaps lists a swap device; undefined where the file is not there (a fixture tree). */
function swapOn(procRoot: string): boolean | undefined {
  const file = join(procRoot, 'swaps');
  const [t] = readControlFiles([file]);
  if (typeof t === 'number') {
    if (errnoCode(t) === 'ENOENT') return undefined;
    throw controlFileError(file, t);
  }
  return hasSwapDevice(parseSwaps(t!, file));
}

/**
 * The top `n` by each measure, their union in the order of the first. `kept`: items that were in
 * the last top, which win ties (most groups use no CPU between two collections: without this,
 * which of them fill the last places would change with the order they were read in).
 */
export function topGroups<T>(items: T[], n: number, byCpu: (t: T) => number, byRss: (t: T) => number, kept: (t: T) => boolean = () => false): T[] {
  const tie = (a: T, b: T) => Number(kept(b)) - Number(kept(a));
  const cpu = [...items].sort((a, b) => byCpu(b) - byCpu(a) || tie(a, b)).slice(0, n);
  const rss = [...items].sort((a, b) => byRss(b) - byRss(a) || tie(a, b)).slice(0, n);
  const out = new Set(cpu);
  for (const r of rss) out.add(r);
  return [...out];
}

/**
 * The name a process is grouped by: its command name, and for a kernel thread the part before
 * the first '/' (kworker/u8:3-flush-254:0 is "kworker", ksoftirqd/1 "ksoftirqd"): a kernel
 * thread's name carries its CPU and, for a kworker, the work queue it last ran, which change.
 */
export function groupName(comm: string, flags: number): string {
  if ((flags & PF_KTHREAD) === 0) return comm;
  const slash = comm.indexOf('/');
  return slash > 0 ? comm.slice(0, slash) : comm;
}

const byGroup = (a: { c: string; cg: string }, b: { c: string; cg: string }) => (a.c < b.c ? -1 : a.c > b.c ? 1 : a.cg < b.cg ? -1 : a.cg > b.cg ? 1 : 0);

/** The collector; `clock` is injectable for tests (when a process's io and status come due). */
export function createProcessCollector(config: ExporterConfig, clock: () => number = Date.now) {
  const tracked = new Map<string, Tracked>();
  let generation = 0;
  /** the CPU ticks a group keeps from processes that left it, by key. */
  const kept = new Map<string, [number, number]>();
  /** each group's CPU ticks at the last collection, to rank by recent use. */
  let prev = new Map<string, number>();
  /** the groups exported last time (they win ties: topGroups). */
  let exported = new Set<string>();
  const page = pageSize();
  // every process's stat at every collection: their descriptors kept open between collections
  const statReader = keptFileReader();

  const leave = (t: Tracked) => {
    const k = kept.get(t.key) ?? [0, 0];
    k[0] += t.last[0] - t.base[0];
    k[1] += t.last[1] - t.base[1];
    kept.set(t.key, k);
  };

  return {
    close: () => statReader.close(),
    collect(): { procs?: ProcessSection } {
      // PERFWATCH_PROCESS_TOP=0: nothing to export, so nothing to read
      if (config.processTop === 0) return {};
      const now = clock();
      const pids: string[] = [];
      for (const n of readdirSync(config.procRoot)) {
        const c0 = n.charCodeAt(0);
        if (c0 >= 48 && c0 <= 57 && /^\d+$/.test(n)) pids.push(n);
      }
      // a proc root without a process (a fixture tree, a partial mount) is no process table
      if (pids.length === 0) return {};
      const n = pids.length;
      const gen = ++generation;
      const live = new Map<string, Live>();
      const base = join(config.procRoot, '/');
      // each process as tracked since the last collection (one lookup), and its stat's path
      // (the same string as last time: its hash is kept for KeptFiles' lookup)
      const was: (Tracked | undefined)[] = new Array(n);
      const statFiles: string[] = new Array(n);
      for (let k = 0; k < n; k++) {
        const t = tracked.get(pids[k]!);
        was[k] = t;
        statFiles[k] = t?.statPath ?? `${base}${pids[k]}/stat`;
      }
      const statTexts = statReader.read(statFiles);
      const stats: (PidStat | undefined)[] = new Array(n);
      const names: string[] = new Array(n);
      // /proc/<pid>/cgroup of the processes new, exec'd, or whose last read is REDISCOVER_MS old
      const reread: boolean[] = new Array(n).fill(false);
      const cgFiles: string[] = [];
      for (let k = 0; k < n; k++) {
        const text = textOf(statTexts[k]!, statFiles[k]!);
        if (text === undefined) continue;
        const t = was[k];
        // the same text as the last read (a process that did not run): the same fields and name
        const same = t !== undefined && t.text === text;
        const st = same ? t.stat! : parsePidStat(text, statFiles[k]!);
        stats[k] = st;
        const name = same ? t.comm : groupName(st.comm, st.flags);
        names[k] = name;
        if (!t || t.start !== st.starttime || t.comm !== name || now - t.cgAt >= REDISCOVER_MS) {
          reread[k] = true;
          cgFiles.push(`${base}${pids[k]}/cgroup`);
        }
      }
      const cgTexts = readControlFiles(cgFiles);
      let c = 0;
      let seen = 0;
      for (let k = 0; k < n; k++) {
        const st = stats[k];
        if (!st) continue;
        const pid = pids[k]!;
        let cg: string | undefined;
        if (reread[k]) {
          const file = cgFiles[c]!;
          const text = textOf(cgTexts[c++]!, file);
          if (text === undefined) continue;
          cg = mainCgroup(parsePidCgroup(text, file));
        }
        seen++;
        let t = was[k];
        if (t && t.start !== st.starttime) {
          // the pid was reused: the old process exited between two collections
          leave(t);
          t = undefined;
        }
        cg ??= t!.cg;
        const comm = names[k]!;
        // (no new string, nor its hash, for a process whose group is the same)
        const key = t !== undefined && t.comm === comm && t.cg === cg ? t.key : `${comm}\u0000${cg}`;
        const ticks: [number, number] = t !== undefined && t.last[0] === st.utime && t.last[1] === st.stime ? t.last : [st.utime, st.stime];
        if (!t) {
          t = { start: st.starttime, comm, cg, cgAt: now, key, base: [0, 0], last: ticks, statPath: statFiles[k]!, gen };
          // a process first seen keeps its CPU from before (it ran in this group); one that
          // joined by exec or a move counts from then (below)
          tracked.set(pid, t);
        } else {
          if (reread[k]) t.cgAt = now;
          if (t.key !== key) {
            t.last = ticks;
            leave(t);
            t.base = ticks;
            t.key = key;
            t.comm = comm;
            t.cg = cg;
          }
        }
        t.gen = gen;
        t.last = ticks;
        t.text = statTexts[k] as string;
        t.stat = st;
        let g = live.get(key);
        if (!g) live.set(key, (g = { c: comm, cg, pids: [], mm: false, ticks: [0, 0], rss: 0, thr: 0 }));
        g.pids.push(pid);
        // a kernel thread, a zombie (and a task past exit_mm) have no memory and no Vm* lines
        if ((st.flags & PF_KTHREAD) === 0 && st.state !== 'Z' && st.state !== 'X') g.mm = true;
        g.ticks[0] += ticks[0] - t.base[0];
        g.ticks[1] += ticks[1] - t.base[1];
        g.rss += st.rss * page;
        g.thr += st.threads;
      }
      for (const [pid, t] of tracked) {
        if (t.gen !== gen) {
          leave(t);
          tracked.delete(pid);
        }
      }
      for (const k of kept.keys()) if (!live.has(k)) kept.delete(k);
      const total = (key: string, g: Live) => {
        const k = kept.get(key) ?? [0, 0];
        return [g.ticks[0] + k[0], g.ticks[1] + k[1]] as const;
      };
      const entries = [...live].map(([key, g]) => {
        const [u, s] = total(key, g);
        return { key, g, u, s, recent: u + s - (prev.get(key) ?? 0) };
      });
      prev = new Map(entries.map((e) => [e.key, e.u + e.s]));
      // In name order: the snapshot's shape (and so what is stored) changes only when the set of
      // groups exported does, not each time their ranking does.
      const top = topGroups(entries, config.processTop, (e) => e.recent, (e) => e.g.rss, (e) => exported.has(e.key)).sort((a, b) => byGroup(a.g, b.g));
      exported = new Set(top.map((e) => e.key));
      // no swap device: every VmSwap is 0, status need not be read
      const swap = swapOn(config.procRoot);
      // io (and status) of the processes exported whose CPU moved, new ones, and those due
      const stale: { pid: string; t: Tracked; ticks: number }[] = [];
      for (const { g } of top) {
        for (const pid of g.pids) {
          const t = tracked.get(pid)!;
          const ticks = t.last[0] + t.last[1];
          if (!t.slow || t.slow.ticks !== ticks || now >= t.slow.due) stale.push({ pid, t, ticks });
        }
      }
      const files: string[] = [];
      for (const { pid } of stale) {
        if (swap !== false) files.push(`${base}${pid}/status`);
        files.push(`${base}${pid}/io`);
      }
      const texts = readControlFiles(files);
      let f = 0;
      /** pids gone since their stat was read: left out of their group's io and swap, as before */
      const vanished = new Set<string>();
      for (const { pid, t, ticks } of stale) {
        let gone = false;
        let swapped: number | undefined;
        if (swap !== false) {
          const file = files[f]!;
          const text = textOf(texts[f++]!, file);
          if (text === undefined) gone = true;
          else swapped = parsePidStatus(text, file).get('VmSwap');
        }
        const file = files[f]!;
        const tx = texts[f++]!;
        // null where io cannot be read (EACCES: another user's process while not root): the group has no IO
        let io: [number, number] | null = null;
        if (typeof tx !== 'number' || errnoCode(tx) !== 'EACCES') {
          const text = textOf(tx, file);
          if (text === undefined) gone = true;
          else {
            const x = parsePidIo(text, file);
            io = [x.readBytes, x.writeBytes];
          }
        }
        if (gone) vanished.add(pid);
        else t.slow = { ticks, due: now + periodOf(pid, SLOW_MAX_AGE_MS, now), io, swap: swapped };
      }
      const out: ProcessGroup[] = top.map(({ g, u, s }) => {
        const pg: ProcessGroup = { c: g.c, cg: g.cg, cpu: [u / USER_HZ, s / USER_HZ], rss: g.rss, n: g.pids.length, thr: g.thr };
        let swapped: number | undefined = swap === false && g.mm ? 0 : undefined;
        let io: [number, number] | undefined = [0, 0];
        for (const pid of g.pids) {
          if (vanished.has(pid)) continue;
          const sl = tracked.get(pid)!.slow!;
          if (swap !== false && sl.swap !== undefined) swapped = (swapped ?? 0) + sl.swap;
          if (!io) continue;
          if (sl.io === null) io = undefined;
          else {
            io[0] += sl.io[0];
            io[1] += sl.io[1];
          }
        }
        if (swapped !== undefined) pg.swap = swapped;
        if (io) pg.io = io;
        return pg;
      });
      return { procs: { n: seen, ng: live.size, g: out } };
    },
  };
}

export const processes: CollectorDefinition = {
  name: 'processes',
  defaultEnabled: true,
  description: 'the top PERFWATCH_PROCESS_TOP processes by CPU and by resident memory, grouped by command name and cgroup (/proc/<pid>/{stat,cgroup,status,io})',
  create: (config) => createProcessCollector(config),
};
