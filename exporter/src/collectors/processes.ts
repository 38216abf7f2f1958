/**
 * The top processes by CPU and by resident memory, grouped by command name and cgroup (pids are
 * never labels, so a fork-heavy host does not grow series without bound), as process-exporter's
 * name groups. One /proc/<pid>/stat read per process per collection; /proc/<pid>/cgroup only
 * for a process not seen before, one whose command changed (exec) or once REDISCOVER_MS old;
 * /proc/<pid>/status and io only for the processes of the groups exported.
 *
 * A group's CPU is a counter: what its processes used since the exporter first saw them, with
 * the share of a process that exits or leaves the group kept, so it never goes down while the
 * group has live processes. A group without live processes is forgotten (its series end).
 */
import { readdirSync } from 'node:fs';
import type { ProcessGroup, ProcessSection } from '@perfwatch/store/snapshot';
import type { ExporterConfig } from '../config.js';
import { pageSize } from '../pagesize.js';
import { readPidCgroup, mainCgroup } from '../procfs/pid_cgroup.js';
import { readPidIo } from '../procfs/pid_io.js';
import { readPidStat } from '../procfs/pid_stat.js';
import { readPidStatus } from '../procfs/pid_status.js';
import { REDISCOVER_MS } from './plan.js';
import type { CollectorDefinition } from './types.js';

/** /proc/<pid>/stat counts in USER_HZ, which the kernel ABI fixes at 100. */
const USER_HZ = 100;

interface Tracked {
  start: number;
  comm: string;
  cg: string;
  cgAt: number;
  key: string;
  /** the process's CPU ticks [user, system] when it joined its group, and when last seen. */
  base: [number, number];
  last: [number, number];
}

interface Live {
  c: string;
  cg: string;
  pids: string[];
  ticks: [number, number];
  rss: number;
  thr: number;
}

/** Whether a /proc/<pid> read failed because the process is gone (or is being reaped). */
function gone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

/** The keys of the top `n` by each measure, their union in the order of the first. */
export function topGroups<T>(items: T[], n: number, byCpu: (t: T) => number, byRss: (t: T) => number): T[] {
  const cpu = [...items].sort((a, b) => byCpu(b) - byCpu(a)).slice(0, n);
  const rss = [...items].sort((a, b) => byRss(b) - byRss(a)).slice(0, n);
  const out = new Set(cpu);
  for (const r of rss) out.add(r);
  return [...out];
}

export function createProcessCollector(config: ExporterConfig) {
  const tracked = new Map<string, Tracked>();
  /** the CPU ticks a group keeps from processes that left it, by key. */
  const kept = new Map<string, [number, number]>();
  /** each group's CPU ticks at the last collection, to rank by recent use. */
  let prev = new Map<string, number>();
  const page = pageSize();

  const leave = (t: Tracked) => {
    const k = kept.get(t.key) ?? [0, 0];
    k[0] += t.last[0] - t.base[0];
    k[1] += t.last[1] - t.base[1];
    kept.set(t.key, k);
  };

  return {
    collect(): { procs?: ProcessSection } {
      // PERFWATCH_PROCESS_TOP=0: nothing to export, so nothing to read
      if (config.processTop === 0) return {};
      const now = Date.now();
      const pids = readdirSync(config.procRoot).filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57 && /^\d+$/.test(n));
      // a proc root without a process (a fixture tree, a partial mount) is no process table
      if (pids.length === 0) return {};
      const live = new Map<string, Live>();
      const seen = new Set<string>();
      for (const pid of pids) {
        let st;
        try {
          st = readPidStat(config.procRoot, pid);
        } catch (err) {
          if (gone(err)) continue;
          throw err;
        }
        seen.add(pid);
        let t = tracked.get(pid);
        if (t && t.start !== st.starttime) {
          // the pid was reused: the old process exited between two collections
          leave(t);
          t = undefined;
        }
        let cg = t?.cg;
        const reread = !t || t.comm !== st.comm || now - t.cgAt >= REDISCOVER_MS;
        if (reread) {
          try {
            cg = mainCgroup(readPidCgroup(config.procRoot, pid));
          } catch (err) {
            if (gone(err)) {
              seen.delete(pid);
              continue;
            }
            throw err;
          }
        }
        const key = `${st.comm}\u0000${cg}`;
        const ticks: [number, number] = [st.utime, st.stime];
        if (!t) {
          t = { start: st.starttime, comm: st.comm, cg: cg!, cgAt: now, key, base: [0, 0], last: ticks };
          // a process first seen keeps its CPU from before (it ran in this group); one that
          // joined by exec or a move counts from then (below)
          tracked.set(pid, t);
        } else {
          if (reread) t.cgAt = now;
          if (t.key !== key) {
            t.last = ticks;
            leave(t);
            t.base = ticks;
            t.key = key;
            t.comm = st.comm;
            t.cg = cg!;
          }
        }
        t.last = ticks;
        let g = live.get(key);
        if (!g) live.set(key, (g = { c: st.comm, cg: cg!, pids: [], ticks: [0, 0], rss: 0, thr: 0 }));
        g.pids.push(pid);
        g.ticks[0] += ticks[0] - t.base[0];
        g.ticks[1] += ticks[1] - t.base[1];
        g.rss += st.rss * page;
        g.thr += st.threads;
      }
      for (const [pid, t] of tracked) {
        if (!seen.has(pid)) {
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
      const top = topGroups(entries, config.processTop, (e) => e.recent, (e) => e.g.rss);
      const out: ProcessGroup[] = top.map(({ g, u, s }) => {
        const pg: ProcessGroup = { c: g.c, cg: g.cg, cpu: [u / USER_HZ, s / USER_HZ], rss: g.rss, n: g.pids.length, thr: g.thr };
        let swap: number | undefined;
        let io: [number, number] | undefined = [0, 0];
        for (const pid of g.pids) {
          try {
            const v = readPidStatus(config.procRoot, pid).get('VmSwap');
            if (v !== undefined) swap = (swap ?? 0) + v;
          } catch (err) {
            if (!gone(err)) throw err;
          }
          if (io) {
            try {
              const x = readPidIo(config.procRoot, pid);
              io[0] += x.readBytes;
              io[1] += x.writeBytes;
            } catch (err) {
              // EACCES: another user's process while not root; ENOENT: no task I/O accounting
              if (!gone(err) && (err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
              if (!gone(err)) io = undefined;
            }
          }
        }
        if (swap !== undefined) pg.swap = swap;
        if (io) pg.io = io;
        return pg;
      });
      return { procs: { n: seen.size, ng: live.size, g: out } };
    },
  };
}

export const processes: CollectorDefinition = {
  name: 'processes',
  defaultEnabled: true,
  description: 'the top PERFWATCH_PROCESS_TOP processes by CPU and by resident memory, grouped by command name and cgroup (/proc/<pid>/{stat,cgroup,status,io})',
  create: (config) => createProcessCollector(config),
};
