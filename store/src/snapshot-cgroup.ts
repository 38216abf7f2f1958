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

export interface CgroupSections {
  /** <sys>/fs/cgroup: per-cgroup CPU, memory, IO, PSI and pids, named (docs/snapshot.md). */
  cgroups?: CgroupSection;
}
