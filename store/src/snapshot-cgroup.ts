/**
 * The Snapshot section of the cgroup collector: containers, systemd units and Kubernetes pods,
 * one entry per cgroup (issue #15). Kept beside snapshot.ts like snapshot-host.ts; `Snapshot`
 * extends `CgroupSections`. docs/snapshot.md documents every key.
 *
 * Same conventions as snapshot.ts: base units (seconds, bytes), a value the kernel did not report
 * (an absent file, a controller not enabled for the group, a field an older kernel lacks) is
 * absent, never 0.
 */
import type { PsiResource } from './snapshot.js';

/** The memory.stat fields kept, by their cgroup v1 names (cAdvisor's); v2's names in parentheses:
 *  rss (anon), cache (file), mapped_file (file_mapped), shmem, kernel (kernel; v1 has none),
 *  dirty (file_dirty), writeback (file_writeback), inactive_file, swap (memory.swap.current). */
export const CGROUP_MEM_FIELDS = ['rss', 'cache', 'mapped_file', 'shmem', 'kernel', 'dirty', 'writeback', 'inactive_file', 'swap'] as const;
export type CgroupMemField = (typeof CGROUP_MEM_FIELDS)[number];

/** Order of the per-device array (cgroups.g[path].io[device]). */
export const CGROUP_IO_FIELDS = ['read_bytes', 'written_bytes', 'reads', 'writes'] as const;

export interface CgroupEntry {
  /** the container's name (Docker's config.v2.json, without its leading "/"). */
  ctr?: string;
  /** the container's image as it was asked for (Config.Image). */
  img?: string;
  /** the container id (Docker, containerd, CRI-O: 64 hex digits) found in the path. */
  id?: string;
  /** the systemd unit the cgroup is (nginx.service, docker-<id>.scope, user.slice). */
  unit?: string;
  /** the Kubernetes pod uid, for a pod's cgroup and its containers'. */
  pod?: string;
  /** the pod's QoS class: guaranteed, burstable, besteffort. */
  qos?: string;
  /** cumulative CPU seconds [user, system] (v2 cpu.stat user/system_usec; v1 cpuacct.stat). */
  cpu?: [number, number];
  /** cumulative CPU seconds in all (v2 usage_usec; v1 cpuacct.usage). */
  cpuu?: number;
  /** CFS bandwidth: [periods, throttled periods, throttled seconds] (cpu.stat). */
  thr?: [number, number, number];
  /** memory in use, bytes (memory.current; v1 memory.usage_in_bytes). */
  mem?: number;
  /** memory limit, bytes; absent where there is none ("max"). */
  lim?: number;
  /** CGROUP_MEM_FIELDS from memory.stat (v1: the hierarchical total_* ones), bytes. */
  ms?: Partial<Record<CgroupMemField, number>>;
  /** page faults and major page faults (memory.stat pgfault, pgmajfault). */
  pgf?: [number, number];
  /** times the group hit its limit and the OOM killer ran for it (v2 memory.events oom; v1 has no count). */
  oom?: number;
  /** processes the OOM killer killed in the group (memory.events oom_kill; v1 memory.oom_control oom_kill, 4.13+). */
  oomk?: number;
  /** device name (or "major:minor" when sysfs does not name it) -> CGROUP_IO_FIELDS. */
  io?: Record<string, number[]>;
  /** PSI of the group: total stall seconds, some and full (v2 only). */
  psi?: Partial<Record<PsiResource, { some?: number; full?: number }>>;
  /** tasks in the group (pids.current). */
  pids?: number;
  /** pids.max; absent where there is none. */
  pidsl?: number;
  /** why the group's values are missing or partial: the first file that could not be parsed. */
  err?: string;
}

export interface CgroupSection {
  /** the cgroup version read: 2 (unified) or 1 (the cpuacct, cpu, memory, blkio, pids hierarchies). */
  v: 1 | 2;
  /** cgroup path relative to the hierarchy root ("/system.slice/nginx.service") -> values; at most
   *  PERFWATCH_CGROUP_MAX of them, plus "other": the sum of the groups left over (only counters
   *  and gauges that add up; no names, limits or PSI). */
  g: Record<string, CgroupEntry>;
  /** cgroups discovered that the include/exclude regexes let through. */
  n: number;
  /** of those, how many were summed into "other". */
  o: number;
}

/** The processes of one command name in one cgroup, summed (pids are not kept: bounded cardinality). */
export interface ProcessGroup {
  /** the command name (/proc/<pid>/stat comm, at most 15 characters). */
  c: string;
  /** the cgroup path of its processes (/proc/<pid>/cgroup: v2's, else v1's cpuacct/cpu/memory one). */
  cg: string;
  /** CPU seconds [user, system] of the group's processes, counted since the exporter first saw the
   *  group; a process that exits or leaves the group keeps its share, so it never goes down. */
  cpu: [number, number];
  /** resident bytes of the live processes (stat rss x page size). */
  rss: number;
  /** live processes and their threads. */
  n: number;
  thr: number;
  /** swapped-out bytes of the live processes (status VmSwap); absent for kernel threads. */
  swap?: number;
  /** bytes the live processes read from and wrote to storage (io read_bytes, write_bytes); absent
   *  where /proc/<pid>/io is not readable. Falls when a process exits (rate() sees a reset). */
  io?: [number, number];
}

export interface ProcessSection {
  /** processes seen in this collection. */
  n: number;
  /** (command, cgroup) groups they form. */
  ng: number;
  /** the PERFWATCH_PROCESS_TOP groups that used the most CPU since the last collection, and those
   *  with the most resident memory (the union), in CPU order. */
  g: ProcessGroup[];
}

export interface CgroupSections {
  /** <sys>/fs/cgroup: per-cgroup CPU, memory, IO, PSI and pids, named (docs/snapshot.md). */
  cgroups?: CgroupSection;
  /** /proc/<pid>: the top processes by CPU and by memory, grouped by command and cgroup. */
  procs?: ProcessSection;
}
