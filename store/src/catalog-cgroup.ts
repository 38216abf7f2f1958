/**
 * The catalog's families of the cgroup collector (snapshot-cgroup.ts): per container, systemd
 * unit and pod, in the style of cAdvisor's container_* names under perfwatch_container_. Every
 * per-cgroup family carries cgroup (the path, or "other"), container (Docker's name, or "") and
 * unit (the systemd unit, or ""); image, id, pod uid and QoS class are in perfwatch_container_info,
 * to join on. The processes collector's perfwatch_process_* families (top processes grouped by
 * command name and cgroup) are here too. catalog.ts registers CGROUP_METRICS among its fixed
 * families and calls walkCgroup after walkHost. Types only are imported from catalog.ts, so there is no import cycle at run time.
 */
import type { Labels, MetricInfo } from './catalog.js';
import { CGROUP_IO_FIELDS, CGROUP_MEM_FIELDS, type CgroupEntry, type CgroupSections } from './snapshot-cgroup.js';

type Add = (m: MetricInfo, v: unknown, labels?: Labels) => void;
type MakeLabels = (...kv: string[]) => Labels;

export const CGROUP_METRICS: MetricInfo[] = [];

const CG = ['cgroup', 'container', 'unit'] as const;

function def(name: string, type: MetricInfo['type'], unit: MetricInfo['unit'], labels: readonly string[], path: string, help: string): MetricInfo {
  const m: MetricInfo = Object.freeze({ name, type, unit, labels: Object.freeze([...labels]), path, help });
  CGROUP_METRICS.push(m);
  return m;
}

const MEM_HELP: Record<(typeof CGROUP_MEM_FIELDS)[number], string> = {
  rss: 'anon (v1 rss): anonymous memory, bytes',
  cache: 'file (v1 cache): page cache, bytes',
  mapped_file: 'file_mapped (v1 mapped_file): page cache mapped into processes, bytes',
  shmem: 'shmem: shared memory and tmpfs, bytes',
  kernel: 'kernel: kernel memory (stacks, slab, page tables; v2 only), bytes',
  dirty: 'file_dirty (v1 dirty): page cache waiting to be written, bytes',
  writeback: 'file_writeback (v1 writeback): page cache being written, bytes',
  inactive_file: 'inactive_file: reclaimable page cache (working set = usage - this), bytes',
  swap: 'swap (v2 memory.swap.current): swap used, bytes',
};
const IO_NAMES = ['reads_bytes', 'writes_bytes', 'reads', 'writes'] as const;
const IO_HELP = ['Bytes read', 'Bytes written', 'Read operations', 'Write operations'] as const;

const P = 'cgroups.g[cgroup]';
const C = {
  info: def('perfwatch_container_info', 'gauge', '', [...CG, 'image', 'id', 'pod_uid', 'qos'], `${P}.{ctr,img,id,unit,pod,qos}`, 'Always 1: what the cgroup is (Docker container, systemd unit, Kubernetes pod), to join on cgroup.'),
  readError: def('perfwatch_container_read_error', 'gauge', '', CG, `${P}.err`, '1 when a control file of the cgroup could not be read or parsed (its values are then partial).'),
  cpuUser: def('perfwatch_container_cpu_user_seconds_total', 'counter', 'seconds', CG, `${P}.cpu[0]`, 'CPU time the tasks of the cgroup spent in user mode.'),
  cpuSystem: def('perfwatch_container_cpu_system_seconds_total', 'counter', 'seconds', CG, `${P}.cpu[1]`, 'CPU time the tasks of the cgroup spent in kernel mode.'),
  cpuUsage: def('perfwatch_container_cpu_usage_seconds_total', 'counter', 'seconds', CG, `${P}.cpuu`, 'CPU time the tasks of the cgroup used in all.'),
  cfsPeriods: def('perfwatch_container_cpu_cfs_periods_total', 'counter', '', CG, `${P}.thr[0]`, 'CFS bandwidth periods that elapsed while the cgroup had runnable tasks.'),
  cfsThrottledPeriods: def('perfwatch_container_cpu_cfs_throttled_periods_total', 'counter', '', CG, `${P}.thr[1]`, 'CFS bandwidth periods in which the cgroup was throttled.'),
  cfsThrottled: def('perfwatch_container_cpu_cfs_throttled_seconds_total', 'counter', 'seconds', CG, `${P}.thr[2]`, 'Time the cgroup was throttled by its CPU quota.'),
  memUsage: def('perfwatch_container_memory_usage_bytes', 'gauge', 'bytes', CG, `${P}.mem`, 'Memory the cgroup uses, page cache included (memory.current, v1 memory.usage_in_bytes).'),
  memLimit: def('perfwatch_container_spec_memory_limit_bytes', 'gauge', 'bytes', CG, `${P}.lim`, 'Memory limit of the cgroup (memory.max, v1 memory.limit_in_bytes); absent where there is none.'),
  memStat: CGROUP_MEM_FIELDS.map((f) => ({
    f,
    m: def(`perfwatch_container_memory_${f}_bytes`, 'gauge', 'bytes', CG, `${P}.ms.${f}`, `memory.stat ${MEM_HELP[f]}.`),
  })),
  pgfault: def('perfwatch_container_memory_page_faults_total', 'counter', '', CG, `${P}.pgf[0]`, 'Page faults of the cgroup\'s tasks (memory.stat pgfault).'),
  pgmajfault: def('perfwatch_container_memory_major_page_faults_total', 'counter', '', CG, `${P}.pgf[1]`, 'Major page faults (read from disk) of the cgroup\'s tasks (memory.stat pgmajfault).'),
  oom: def('perfwatch_container_oom_events_total', 'counter', '', CG, `${P}.oom`, 'Times the cgroup reached its memory limit and the OOM killer was invoked (memory.events oom).'),
  oomKill: def('perfwatch_container_oom_kill_events_total', 'counter', '', CG, `${P}.oomk`, 'Processes in the cgroup killed by the OOM killer (memory.events oom_kill).'),
  io: CGROUP_IO_FIELDS.map((f, i) =>
    def(`perfwatch_container_fs_${IO_NAMES[i]}_total`, 'counter', f.endsWith('bytes') ? 'bytes' : '', [...CG, 'device'], `${P}.io[device][${i}]`, `${IO_HELP[i]} by the cgroup's tasks on the block device (io.stat, v1 blkio.throttle.*).`),
  ),
  psi: def('perfwatch_container_pressure_stalled_seconds_total', 'counter', 'seconds', [...CG, 'resource', 'kind'], `${P}.psi[resource][kind]`, 'Time some or all non-idle tasks of the cgroup were stalled on the resource (PSI total; cgroup v2).'),
  pids: def('perfwatch_container_pids', 'gauge', '', CG, `${P}.pids`, 'Tasks (processes and threads) in the cgroup (pids.current).'),
  pidsLimit: def('perfwatch_container_pids_limit', 'gauge', '', CG, `${P}.pidsl`, 'Most tasks the cgroup may have (pids.max); absent where there is none.'),
  discovered: def('perfwatch_container_cgroups', 'gauge', '', [], 'cgroups.n', 'Cgroups discovered that the include and exclude regexes let through.'),
  other: def('perfwatch_container_cgroups_other', 'gauge', '', [], 'cgroups.o', 'Of those, cgroups over PERFWATCH_CGROUP_MAX, summed into cgroup="other".'),
};

const PL = ['comm', 'cgroup'] as const;
const PG = 'procs.g[]';
const PR = {
  cpu: def('perfwatch_process_cpu_seconds_total', 'counter', 'seconds', [...PL, 'mode'], `${PG}.cpu[0..1]`, 'CPU time of the processes with this command name in this cgroup (exited ones included), by mode (user, system).'),
  rss: def('perfwatch_process_resident_memory_bytes', 'gauge', 'bytes', PL, `${PG}.rss`, 'Resident memory of the live processes with this command name in this cgroup.'),
  swap: def('perfwatch_process_swap_bytes', 'gauge', 'bytes', PL, `${PG}.swap`, 'Swapped-out memory of those processes (status VmSwap).'),
  count: def('perfwatch_process_processes', 'gauge', '', PL, `${PG}.n`, 'Live processes with this command name in this cgroup.'),
  threads: def('perfwatch_process_threads', 'gauge', '', PL, `${PG}.thr`, 'Threads of those processes.'),
  read: def('perfwatch_process_read_bytes_total', 'counter', 'bytes', PL, `${PG}.io[0]`, 'Bytes the live processes read from storage (/proc/<pid>/io read_bytes; drops when one exits).'),
  written: def('perfwatch_process_written_bytes_total', 'counter', 'bytes', PL, `${PG}.io[1]`, 'Bytes the live processes wrote to storage (/proc/<pid>/io write_bytes; drops when one exits).'),
  seen: def('perfwatch_process_seen', 'gauge', '', [], 'procs.n', 'Processes seen in the last collection.'),
  groups: def('perfwatch_process_groups', 'gauge', '', [], 'procs.ng', 'Command-name and cgroup groups they form (of which the top are exported).'),
};

function labels(L: MakeLabels, path: string, e: CgroupEntry, ...more: string[]): Labels {
  return L('cgroup', path, 'container', e.ctr ?? '', 'unit', e.unit ?? '', ...more);
}

/** The cgroup section's samples, then the processes'. */
export function walkCgroup(s: CgroupSections, add: Add, L: MakeLabels): void {
  walkCgroups(s, add, L);
  walkProcesses(s, add, L);
}

function walkCgroups(s: CgroupSections, add: Add, L: MakeLabels): void {
  const c = s.cgroups;
  if (!c) return;
  const gs = Object.entries(c.g);
  for (const [p, e] of gs) {
    if (p !== 'other' && (e.ctr ?? e.img ?? e.id ?? e.unit ?? e.pod ?? e.qos) !== undefined) {
      add(C.info, 1, labels(L, p, e, 'image', e.img ?? '', 'id', e.id ?? '', 'pod_uid', e.pod ?? '', 'qos', e.qos ?? ''));
    }
  }
  for (const [p, e] of gs) if (p !== 'other') add(C.readError, e.err === undefined ? 0 : 1, labels(L, p, e));
  for (const [p, e] of gs) add(C.cpuUser, e.cpu?.[0], labels(L, p, e));
  for (const [p, e] of gs) add(C.cpuSystem, e.cpu?.[1], labels(L, p, e));
  for (const [p, e] of gs) add(C.cpuUsage, e.cpuu, labels(L, p, e));
  for (const [m, i] of [[C.cfsPeriods, 0], [C.cfsThrottledPeriods, 1], [C.cfsThrottled, 2]] as const) {
    for (const [p, e] of gs) add(m, e.thr?.[i], labels(L, p, e));
  }
  for (const [p, e] of gs) add(C.memUsage, e.mem, labels(L, p, e));
  for (const [p, e] of gs) add(C.memLimit, e.lim, labels(L, p, e));
  for (const { f, m } of C.memStat) for (const [p, e] of gs) add(m, e.ms?.[f], labels(L, p, e));
  for (const [p, e] of gs) add(C.pgfault, e.pgf?.[0], labels(L, p, e));
  for (const [p, e] of gs) add(C.pgmajfault, e.pgf?.[1], labels(L, p, e));
  for (const [p, e] of gs) add(C.oom, e.oom, labels(L, p, e));
  for (const [p, e] of gs) add(C.oomKill, e.oomk, labels(L, p, e));
  C.io.forEach((m, i) => {
    for (const [p, e] of gs) for (const [dev, v] of Object.entries(e.io ?? {})) add(m, v[i], labels(L, p, e, 'device', dev));
  });
  for (const [p, e] of gs) {
    for (const [resource, k] of Object.entries(e.psi ?? {})) {
      add(C.psi, k?.some, labels(L, p, e, 'resource', resource, 'kind', 'some'));
      add(C.psi, k?.full, labels(L, p, e, 'resource', resource, 'kind', 'full'));
    }
  }
  for (const [p, e] of gs) add(C.pids, e.pids, labels(L, p, e));
  for (const [p, e] of gs) add(C.pidsLimit, e.pidsl, labels(L, p, e));
  add(C.discovered, c.n);
  add(C.other, c.o);
}

function walkProcesses(s: CgroupSections, add: Add, L: MakeLabels): void {
  const p = s.procs;
  if (!p) return;
  for (const g of p.g) {
    add(PR.cpu, g.cpu[0], L('comm', g.c, 'cgroup', g.cg, 'mode', 'user'));
    add(PR.cpu, g.cpu[1], L('comm', g.c, 'cgroup', g.cg, 'mode', 'system'));
  }
  for (const g of p.g) add(PR.rss, g.rss, L('comm', g.c, 'cgroup', g.cg));
  for (const g of p.g) add(PR.swap, g.swap, L('comm', g.c, 'cgroup', g.cg));
  for (const g of p.g) add(PR.count, g.n, L('comm', g.c, 'cgroup', g.cg));
  for (const g of p.g) add(PR.threads, g.thr, L('comm', g.c, 'cgroup', g.cg));
  for (const g of p.g) add(PR.read, g.io?.[0], L('comm', g.c, 'cgroup', g.cg));
  for (const g of p.g) add(PR.written, g.io?.[1], L('comm', g.c, 'cgroup', g.cg));
  add(PR.seen, p.n);
  add(PR.groups, p.ng);
}
