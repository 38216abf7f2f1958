/**
 * Snapshot -> metric families. Pure and deterministic: the same Snapshot always renders the same
 * families in the same order, which is what the golden-file tests pin. Names follow
 * perfwatch_<subsystem>_<name>_<unit>, base units, counters end in _total; docs/metrics.md lists them.
 */
import { CPU_MODES, DISK_FIELDS, NETDEV_FIELDS, type Snapshot } from '@perfwatch/store/snapshot';

export type Labels = Record<string, string>;
export interface Sample {
  labels: Labels;
  value: number;
}
export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values: Sample[];
}

const NO_LABELS: Labels = {};

// Label sets repeat every scrape ({cpu:"3",mode:"idle"}): intern them, so a scrape allocates no
// label objects and the exposition formats each set once. Bounded in case names churn.
const labelSets = new Map<string, Labels>();
const MAX_LABEL_SETS = 50_000;
function L(...kv: string[]): Labels {
  const key = kv.join('\u0000');
  let l = labelSets.get(key);
  if (!l) {
    if (labelSets.size >= MAX_LABEL_SETS) labelSets.clear();
    l = {};
    for (let i = 0; i < kv.length; i += 2) l[kv[i]!] = kv[i + 1]!;
    labelSets.set(key, l);
  }
  return l;
}

class Families {
  readonly list: Family[] = [];
  private readonly byName = new Map<string, Family>();

  add(name: string, type: Family['type'], help: string, value: number | undefined, labels: Labels = NO_LABELS): void {
    if (value === undefined || value === null) return;
    let f = this.byName.get(name);
    if (!f) {
      f = { name, help, type, values: [] };
      this.byName.set(name, f);
      this.list.push(f);
    }
    f.values.push({ labels, value });
  }
}

// ---- name conversions (cached: the same kernel names come back every scrape) ----------------

const snakeCache = new Map<string, string>();
/** "Active(anon)" -> "active_anon", "TCPSynRetrans" -> "tcp_syn_retrans", "DirectMap2M" -> "direct_map2m". */
export function snake(name: string): string {
  let s = snakeCache.get(name);
  if (s === undefined) {
    s = name
      .replace(/\(([^)]*)\)/g, '_$1')
      // plural acronyms: "ReasmOKs" -> "reasm_oks", not "reasm_o_ks"
      .replace(/([A-Z]{2,})s(?=[A-Z_]|$)/g, '$1S')
      .replace(/([a-z])([A-Z])/g, '$1_$2')
      .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
      .replace(/[^A-Za-z0-9_]/g, '_')
      .replace(/_+/g, '_')
      .replace(/^_|_$/g, '')
      .toLowerCase();
    snakeCache.set(name, s);
  }
  return s;
}

// Kernel abbreviations that promtool would read as units ("s", "sec").
const MEM_RENAMES: Record<string, string> = {
  SReclaimable: 'slab_reclaimable',
  SUnreclaim: 'slab_unreclaimable',
  SecPageTables: 'secondary_page_tables',
};
const VM_RENAMES: Record<string, string> = { nr_sec_page_table_pages: 'nr_secondary_page_table_pages' };

const memCache = new Map<string, [string, string]>();
/** meminfo field -> [metric name, help]. Fields the kernel prints in kB are bytes; page counts are not. */
function memName(field: string, bytes: boolean): [string, string] {
  const key = `${field}|${bytes}`;
  let r = memCache.get(key);
  if (!r) {
    let base = MEM_RENAMES[field] ?? snake(field);
    // HugePages_Total is a gauge: a gauge must not end in _total.
    if (!bytes) base = base.replace(/_total$/, '');
    r = [`perfwatch_memory_${base}${bytes ? '_bytes' : ''}`, `/proc/meminfo ${field}${bytes ? ', bytes' : ''}.`];
    memCache.set(key, r);
  }
  return r;
}

// Unit-less meminfo fields (everything else is printed in kB).
const MEM_UNITLESS = /^HugePages_/;

// vmstat: nr_* are current counts (gauges) except these cumulative ones; the rest are event counters.
const VM_COUNTER_NR = new Set(['nr_dirtied', 'nr_written', 'nr_foll_pin_acquired', 'nr_foll_pin_released', 'nr_unaccepted_total']);
const VM_GAUGES = new Set(['workingset_nodes']);
function vmIsGauge(name: string): boolean {
  return VM_GAUGES.has(name) || (name.startsWith('nr_') && !VM_COUNTER_NR.has(name));
}

// /proc/net/snmp values that are settings or current counts, not event counters.
const NSTAT_GAUGES = new Set(['Ip_Forwarding', 'Ip_DefaultTTL', 'Tcp_RtoAlgorithm', 'Tcp_RtoMin', 'Tcp_RtoMax', 'Tcp_MaxConn', 'Tcp_CurrEstab']);

const nstatCache = new Map<string, [string, Family['type'], string]>();
function nstatName(key: string): [string, Family['type'], string] {
  let r = nstatCache.get(key);
  if (!r) {
    const i = key.indexOf('_');
    const proto = key.slice(0, i).toLowerCase();
    const gauge = NSTAT_GAUGES.has(key);
    r = [
      `perfwatch_netstat_${proto}_${snake(key.slice(i + 1))}${gauge ? '' : '_total'}`,
      gauge ? 'gauge' : 'counter',
      `/proc/net/snmp or /proc/net/netstat ${key.replace('_', ' ')}.`,
    ];
    nstatCache.set(key, r);
  }
  return r;
}

const vmCache = new Map<string, [string, Family['type'], string]>();
function vmName(name: string): [string, Family['type'], string] {
  let r = vmCache.get(name);
  if (!r) {
    const gauge = vmIsGauge(name);
    r = [`perfwatch_vmstat_${VM_RENAMES[name] ?? name}${gauge ? '' : '_total'}`, gauge ? 'gauge' : 'counter', `/proc/vmstat ${name}.`];
    vmCache.set(name, r);
  }
  return r;
}

const sockCache = new Map<string, [string, string]>();
function sockName(key: string): [string, string] {
  let r = sockCache.get(key);
  if (!r) {
    r = [`perfwatch_sockstat_${key.toLowerCase()}`, `/proc/net/sockstat ${key.replace('_', ' ').replace(/_bytes$/, ' (bytes)')}.`];
    sockCache.set(key, r);
  }
  return r;
}

const DISK_METRICS: [string, Family['type'], string][] = [
  ['perfwatch_disk_reads_completed_total', 'counter', 'Reads completed successfully.'],
  ['perfwatch_disk_reads_merged_total', 'counter', 'Adjacent reads merged into one.'],
  ['perfwatch_disk_read_bytes_total', 'counter', 'Bytes read.'],
  ['perfwatch_disk_read_time_seconds_total', 'counter', 'Time spent on reads (sum over all reads).'],
  ['perfwatch_disk_writes_completed_total', 'counter', 'Writes completed successfully.'],
  ['perfwatch_disk_writes_merged_total', 'counter', 'Adjacent writes merged into one.'],
  ['perfwatch_disk_written_bytes_total', 'counter', 'Bytes written.'],
  ['perfwatch_disk_write_time_seconds_total', 'counter', 'Time spent on writes (sum over all writes).'],
  ['perfwatch_disk_io_now', 'gauge', 'I/Os currently in progress.'],
  ['perfwatch_disk_io_time_seconds_total', 'counter', 'Time the device had I/O in flight (utilisation = rate of this).'],
  ['perfwatch_disk_io_time_weighted_seconds_total', 'counter', 'I/O time weighted by I/Os in flight (average queue size = rate of this).'],
  ['perfwatch_disk_discards_completed_total', 'counter', 'Discards completed successfully.'],
  ['perfwatch_disk_discards_merged_total', 'counter', 'Adjacent discards merged into one.'],
  ['perfwatch_disk_discarded_bytes_total', 'counter', 'Bytes discarded.'],
  ['perfwatch_disk_discard_time_seconds_total', 'counter', 'Time spent on discards.'],
  ['perfwatch_disk_flush_requests_total', 'counter', 'Flush requests completed successfully.'],
  ['perfwatch_disk_flush_requests_time_seconds_total', 'counter', 'Time spent on flush requests.'],
];

const NET_NAMES: Record<string, string> = {
  bytes: 'bytes', packets: 'packets', errs: 'errors', drop: 'dropped', fifo: 'fifo_errors', frame: 'frame_errors',
  compressed: 'compressed', multicast: 'multicast', colls: 'collisions', carrier: 'carrier_errors',
};
const NET_METRICS = NETDEV_FIELDS.map((f) => {
  const [dir, what] = f.split('_') as [string, string];
  const direction = dir === 'rx' ? 'receive' : 'transmit';
  return [`perfwatch_network_${direction}_${NET_NAMES[what]}_total`, `Interface ${direction} ${NET_NAMES[what]!.replace('_', ' ')} (/proc/net/dev ${f}).`] as const;
});

const PSI_WINDOWS = ['10s', '60s', '300s'] as const;

// The perf catalog's nanosecond events (native/lib/catalog.ts), which the Snapshot holds in seconds.
const PERF_SECONDS = new Set(['task-clock', 'cpu-clock']);
const perfCache = new Map<string, [string, string]>();
/** perf event -> [name suffix, help]: "cpu-cycles" -> "cpu_cycles_total", "task-clock" -> "task_clock_seconds_total". */
function perfName(event: string): [string, string] {
  let r = perfCache.get(event);
  if (!r) {
    const seconds = PERF_SECONDS.has(event);
    const base = event.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
    r = [`${base}${seconds ? '_seconds' : ''}_total`, `perf event ${event}${seconds ? ' in seconds' : ''}, counted since the exporter opened it, scaled for multiplexing (raw x enabled / running).`];
    perfCache.set(event, r);
  }
  return r;
}

const PERF_RATIO_HELP = 'Share of its enabled time the event was counted (running / enabled): 1 = exact, below 1 = multiplexed and scaled.';
const PERF_AVAILABLE_HELP = '1 when the event is counted on every online CPU; 0 when not, with the reason (docs/perf.md).';

/** The families of one Snapshot, in collector order. */
export function snapshotFamilies(s: Snapshot): Family[] {
  const f = new Families();

  for (const [collector, st] of Object.entries(s.col)) {
    f.add('perfwatch_scrape_collector_duration_seconds', 'gauge', 'How long the collector took in the last collection.', st.s, L('collector', collector));
  }
  for (const [collector, st] of Object.entries(s.col)) {
    f.add('perfwatch_scrape_collector_success', 'gauge', '1 when the collector succeeded in the last collection, 0 when it failed.', st.ok ? 1 : 0, L('collector', collector));
  }

  if (s.cpu) {
    const c = s.cpu;
    for (const [cpu, t] of Object.entries(c.t)) {
      for (let i = 0; i < 8 && i < t.length; i++) {
        f.add('perfwatch_cpu_seconds_total', 'counter', 'Seconds each CPU spent in each mode (user and nice include guest time).', t[i], L('cpu', cpu, 'mode', CPU_MODES[i]!));
      }
    }
    for (const [cpu, t] of Object.entries(c.t)) {
      if (t.length > 8) f.add('perfwatch_cpu_guest_seconds_total', 'counter', 'Seconds each CPU spent running guests (already counted in user and nice).', t[8], L('cpu', cpu, 'mode', 'user'));
      if (t.length > 9) f.add('perfwatch_cpu_guest_seconds_total', 'counter', 'Seconds each CPU spent running guests (already counted in user and nice).', t[9], L('cpu', cpu, 'mode', 'nice'));
    }
    f.add('perfwatch_system_interrupts_total', 'counter', 'Interrupts serviced since boot.', c.intr);
    f.add('perfwatch_system_context_switches_total', 'counter', 'Context switches since boot.', c.ctxt);
    f.add('perfwatch_system_forks_total', 'counter', 'Processes and threads created since boot.', c.forks);
    f.add('perfwatch_system_procs_running', 'gauge', 'Processes in runnable state.', c.run);
    f.add('perfwatch_system_procs_blocked', 'gauge', 'Processes blocked waiting for I/O.', c.blk);
    f.add('perfwatch_system_boot_time_seconds', 'gauge', 'Boot time, seconds since the Unix epoch.', c.btime);
  }

  if (s.mem) {
    for (const [field, v] of Object.entries(s.mem)) {
      const [name, help] = memName(field, !MEM_UNITLESS.test(field));
      f.add(name, 'gauge', help, v);
    }
  }

  if (s.load) {
    f.add('perfwatch_load_average_1m', 'gauge', '1 minute load average.', s.load.l[0]);
    f.add('perfwatch_load_average_5m', 'gauge', '5 minute load average.', s.load.l[1]);
    f.add('perfwatch_load_average_15m', 'gauge', '15 minute load average.', s.load.l[2]);
    f.add('perfwatch_load_runnable_entities', 'gauge', 'Currently runnable scheduling entities (processes, threads).', s.load.run);
    f.add('perfwatch_load_scheduling_entities', 'gauge', 'Scheduling entities that exist.', s.load.ent);
  }

  if (s.vm) {
    for (const [name, v] of Object.entries(s.vm)) {
      const [metric, type, help] = vmName(name);
      f.add(metric, type, help, v);
    }
  }

  if (s.up) {
    f.add('perfwatch_system_uptime_seconds', 'gauge', 'Seconds since boot (/proc/uptime).', s.up.s);
    f.add('perfwatch_system_idle_seconds_total', 'counter', 'Idle seconds summed over all CPUs (/proc/uptime).', s.up.idle);
  }

  if (s.disk) {
    const disks = Object.entries(s.disk);
    DISK_METRICS.forEach(([name, type, help], i) => {
      for (const [device, vals] of disks) f.add(name, type, help, vals[i], L('device', device));
    });
    void DISK_FIELDS;
  }

  if (s.net) {
    const ifaces = Object.entries(s.net);
    NET_METRICS.forEach(([name, help], i) => {
      for (const [device, vals] of ifaces) f.add(name, 'counter', help, vals[i], L('device', device));
    });
  }

  if (s.nstat) {
    for (const [key, v] of Object.entries(s.nstat)) {
      const [name, type, help] = nstatName(key);
      f.add(name, type, help, v);
    }
  }

  if (s.sock) {
    for (const [key, v] of Object.entries(s.sock)) {
      const [name, help] = sockName(key);
      f.add(name, 'gauge', help, v);
    }
  }

  if (s.fs) {
    const ok = s.fs.filter((e) => e.err === undefined);
    const fsLabels = (e: (typeof s.fs)[number]) => L('device', e.dev, 'mountpoint', e.mp, 'fstype', e.type);
    for (const e of ok) f.add('perfwatch_filesystem_size_bytes', 'gauge', 'Filesystem size.', e.size, fsLabels(e));
    for (const e of ok) f.add('perfwatch_filesystem_free_bytes', 'gauge', 'Free space, including blocks reserved for root.', e.free, fsLabels(e));
    for (const e of ok) f.add('perfwatch_filesystem_avail_bytes', 'gauge', 'Space available to unprivileged users.', e.avail, fsLabels(e));
    for (const e of ok) f.add('perfwatch_filesystem_files', 'gauge', 'Inodes in total.', e.files, fsLabels(e));
    for (const e of ok) f.add('perfwatch_filesystem_files_free', 'gauge', 'Free inodes.', e.ffree, fsLabels(e));
    for (const e of s.fs) f.add('perfwatch_filesystem_readonly', 'gauge', '1 when mounted read-only.', e.ro ? 1 : 0, fsLabels(e));
    for (const e of s.fs) f.add('perfwatch_filesystem_device_error', 'gauge', '1 when statfs failed or timed out (the mount may be hung).', e.err === undefined ? 0 : 1, fsLabels(e));
  }

  if (s.psi) {
    for (const [resource, kinds] of Object.entries(s.psi)) {
      for (const kind of ['some', 'full'] as const) {
        const l = kinds?.[kind];
        if (l) f.add('perfwatch_pressure_stalled_seconds_total', 'counter', 'Time some or all non-idle tasks were stalled on the resource (PSI total).', l[3], L('resource', resource, 'kind', kind));
      }
    }
    for (const [resource, kinds] of Object.entries(s.psi)) {
      for (const kind of ['some', 'full'] as const) {
        const l = kinds?.[kind];
        if (l) PSI_WINDOWS.forEach((window, i) => f.add('perfwatch_pressure_stalled_ratio', 'gauge', 'Share of time stalled on the resource, averaged over the window (PSI avg).', l[i], L('resource', resource, 'kind', kind, 'window', window)));
      }
    }
  }

  if (s.fd) {
    f.add('perfwatch_filefd_allocated', 'gauge', 'Allocated file handles.', s.fd.alloc);
    f.add('perfwatch_filefd_maximum', 'gauge', 'Maximum file handles (fs.file-max).', s.fd.max);
  }

  if (s.perf) {
    // System-wide counts and per-cgroup counts are separate families, so summing one never adds
    // the other in twice (a cgroup's tasks are also in the system-wide counts).
    const p = s.perf;
    const cgroups = Object.entries(p.cg ?? {});
    p.ev.forEach((event, i) => {
      const [name, help] = perfName(event);
      for (const [cpu, v] of Object.entries(p.c)) f.add(`perfwatch_perf_${name}`, 'counter', `${help} Per CPU, system-wide.`, v[i] ?? undefined, L('cpu', cpu));
    });
    p.ev.forEach((event, i) => {
      for (const [cpu, v] of Object.entries(p.r)) f.add('perfwatch_perf_scaling_ratio', 'gauge', PERF_RATIO_HELP, v[i] ?? undefined, L('event', event, 'cpu', cpu));
    });
    for (const event of p.ev) f.add('perfwatch_perf_event_available', 'gauge', PERF_AVAILABLE_HELP, p.un[event] === undefined ? 1 : 0, L('event', event, 'reason', p.un[event] ?? ''));
    p.ev.forEach((event, i) => {
      const [name, help] = perfName(event);
      for (const [cgroup, g] of cgroups) {
        for (const [cpu, v] of Object.entries(g.c)) f.add(`perfwatch_perf_cgroup_${name}`, 'counter', `${help} Per CPU, tasks of the cgroup only.`, v[i] ?? undefined, L('cgroup', cgroup, 'cpu', cpu));
      }
    });
    p.ev.forEach((event, i) => {
      for (const [cgroup, g] of cgroups) {
        for (const [cpu, v] of Object.entries(g.r)) f.add('perfwatch_perf_cgroup_scaling_ratio', 'gauge', PERF_RATIO_HELP, v[i] ?? undefined, L('cgroup', cgroup, 'event', event, 'cpu', cpu));
      }
    });
    for (const [cgroup, g] of cgroups) {
      for (const event of p.ev) f.add('perfwatch_perf_cgroup_event_available', 'gauge', `${PERF_AVAILABLE_HELP} For the cgroup.`, g.un[event] === undefined ? 1 : 0, L('cgroup', cgroup, 'event', event, 'reason', g.un[event] ?? ''));
    }
  }

  return f.list;
}
