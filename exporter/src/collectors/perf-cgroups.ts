/**
 * Which cgroups the perf collector counts on its own when PERFWATCH_PERF_CGROUP_DISCOVERY is on:
 * the configured PERFWATCH_PERF_CGROUPS, then the discovered groups of the hierarchy perf can
 * count in (cgroup v2's; on a v1 host the perf_event hierarchy, else the hybrid's v2 mount at
 * fs/cgroup/unified, where perf_event is free), after the cgroup collector's include/exclude
 * regexes and in its order (named groups first, then the shallower), as many as the fd budget
 * and RLIMIT_NOFILE allow (events x CPUs x (1 + cgroups) + 1). The rest are reported with the
 * reason "fd budget", like any event the budget keeps from being counted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkFdBudget, fdsNeeded, openFdCount } from '@perfwatch/native';
import { walkCgroups } from '../cgroup/discover.js';
import { cgroupName } from '../cgroup/names.js';
import type { ExporterConfig } from '../config.js';

/** The hierarchy perf_event_open's cgroup mode can use, or undefined. */
export function perfCgroupRoot(sysRoot: string): string | undefined {
  const base = join(sysRoot, 'fs/cgroup');
  if (existsSync(join(base, 'cgroup.controllers'))) return base;
  if (existsSync(join(base, 'perf_event/tasks'))) return join(base, 'perf_event');
  if (existsSync(join(base, 'unified/cgroup.controllers'))) return join(base, 'unified');
  return undefined;
}

/** The most cgroups (at most `wanted`) that fit the budget and the fd limit, `heldFds` perf fds
 *  being open already (a rebuild gives them back first). */
export function cgroupCapacity(events: number, cpus: number, budget: number, heldFds: number, wanted: number): number {
  let open: number;
  try {
    open = Math.max(0, openFdCount() - heldFds);
  } catch {
    return 0;
  }
  let k = wanted;
  while (k > 0 && !checkFdBudget(fdsNeeded({ events, cpus, cgroups: k }), { budget, openFds: open }).ok) k--;
  return k;
}

export interface PerfCgroupPlan {
  /** absolute directories to count, configured ones first. */
  counted: string[];
  /** discovered ones the fd budget leaves out (reported with "fd budget"). */
  left: string[];
}

export function planPerfCgroups(config: ExporterConfig, capacity: (wanted: number) => number): PerfCgroupPlan {
  const root = perfCgroupRoot(config.sysRoot);
  const configured = [...config.perfCgroups];
  if (!root) return { counted: configured, left: [] };
  const rank = (p: string) => (Object.keys(cgroupName(p)).length > 0 ? 0 : 1000) + p.split('/').length;
  const rel = [...walkCgroups(root)]
    .filter((p) => (!config.cgroupInclude || config.cgroupInclude.test(p)) && !config.cgroupExclude.test(p))
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1))
    .slice(0, config.cgroupMax);
  const discovered = rel.map((p) => join(root, p)).filter((d) => !configured.includes(d));
  const fit = Math.max(0, capacity(configured.length + discovered.length) - configured.length);
  return { counted: [...configured, ...discovered.slice(0, fit)], left: discovered.slice(fit) };
}
