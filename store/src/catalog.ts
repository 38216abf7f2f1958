/**
 * The metric catalog: every metric the exporter serves on /metrics, with its type, unit, help,
 * labels and where its values are in the Snapshot, plus the derived metrics (utilisation, IPC,
 * miss ratios) defined over them. Pure: no SQL, no I/O.
 *
 * It is the one place metric names are made: the exporter renders /metrics from forEachSample
 * (exporter/src/families.ts), and store/test/catalog.test.ts holds it against the golden /metrics
 * files of both fixture machines. Most families are fixed; those of
 * /proc/meminfo, /proc/vmstat, /proc/net/{snmp,netstat}, /proc/net/sockstat and the perf events
 * are generated from the keys a snapshot holds (metricsOf, or metricInfo for a name alone).
 *
 * One walk (forEachSample) serves two purposes: over a Snapshot it yields the samples; over a
 * stored shape (codec.ts: numbers replaced by Slot objects) it yields which slot holds which
 * sample, computed once per shape (series.ts, rollups.ts). Values the exporter computes from
 * strings and booleans (collector success, filesystem read-only, perf availability) come out as
 * numbers in both cases.
 */
import { CGROUP_METRICS, walkCgroup } from './catalog-cgroup.js';
import { HOST_METRICS, hostMetricInfo, walkHost } from './catalog-host.js';
import { Slot } from './codec.js';
import { CPU_MODES, NETDEV_FIELDS, type Snapshot } from './snapshot.js';

export type MetricType = 'counter' | 'gauge';
export type Labels = Record<string, string>;

export interface MetricInfo {
  name: string;
  type: MetricType;
  /** base unit: seconds, bytes, ratio, the hardware collectors' (catalog-host.ts), or '' for a count or a plain number. */
  unit: 'seconds' | 'bytes' | 'ratio' | 'celsius' | 'volts' | 'amperes' | 'watts' | 'joules' | 'hertz' | '';
  help: string;
  /** label names, in the order the exporter writes them. */
  labels: readonly string[];
  /** where the values are in the Snapshot (docs/snapshot.md), e.g. "cpu.t[cpu][0..7]". */
  path: string;
}

/** A sample value: a number, or (walking a shape) the slot that holds it. */
export type SampleValue = number | Slot;

export interface Sample {
  metric: MetricInfo;
  labels: Labels;
  value: number;
}

// ---- the fixed families ------------------------------------------------------------------------

const FIXED: MetricInfo[] = [];
const FIXED_BY_NAME = new Map<string, MetricInfo>();

function def(name: string, type: MetricType, unit: MetricInfo['unit'], labels: readonly string[], path: string, help: string): MetricInfo {
  const m: MetricInfo = Object.freeze({ name, type, unit, labels: Object.freeze([...labels]), path, help });
  FIXED.push(m);
  FIXED_BY_NAME.set(name, m);
  return m;
}

const M = {
  collectorDuration: def('perfwatch_scrape_collector_duration_seconds', 'gauge', 'seconds', ['collector'], 'col[collector].s', 'How long the collector took in the last collection.'),
  collectorSuccess: def('perfwatch_scrape_collector_success', 'gauge', '', ['collector'], 'col[collector].ok', '1 when the collector succeeded in the last collection, 0 when it failed.'),
  cpuSeconds: def('perfwatch_cpu_seconds_total', 'counter', 'seconds', ['cpu', 'mode'], 'cpu.t[cpu][0..7]', 'Seconds each CPU spent in each mode (user and nice include guest time).'),
  cpuGuest: def('perfwatch_cpu_guest_seconds_total', 'counter', 'seconds', ['cpu', 'mode'], 'cpu.t[cpu][8..9]', 'Seconds each CPU spent running guests (already counted in user and nice).'),
  interrupts: def('perfwatch_system_interrupts_total', 'counter', '', [], 'cpu.intr', 'Interrupts serviced since boot.'),
  contextSwitches: def('perfwatch_system_context_switches_total', 'counter', '', [], 'cpu.ctxt', 'Context switches since boot.'),
  forks: def('perfwatch_system_forks_total', 'counter', '', [], 'cpu.forks', 'Processes and threads created since boot.'),
  procsRunning: def('perfwatch_system_procs_running', 'gauge', '', [], 'cpu.run', 'Processes in runnable state.'),
  procsBlocked: def('perfwatch_system_procs_blocked', 'gauge', '', [], 'cpu.blk', 'Processes blocked waiting for I/O.'),
  bootTime: def('perfwatch_system_boot_time_seconds', 'gauge', 'seconds', [], 'cpu.btime', 'Boot time, seconds since the Unix epoch.'),
  load1: def('perfwatch_load_average_1m', 'gauge', '', [], 'load.l[0]', '1 minute load average.'),
  load5: def('perfwatch_load_average_5m', 'gauge', '', [], 'load.l[1]', '5 minute load average.'),
  load15: def('perfwatch_load_average_15m', 'gauge', '', [], 'load.l[2]', '15 minute load average.'),
  loadRunnable: def('perfwatch_load_runnable_entities', 'gauge', '', [], 'load.run', 'Currently runnable scheduling entities (processes, threads).'),
  loadEntities: def('perfwatch_load_scheduling_entities', 'gauge', '', [], 'load.ent', 'Scheduling entities that exist.'),
  uptime: def('perfwatch_system_uptime_seconds', 'gauge', 'seconds', [], 'up.s', 'Seconds since boot (/proc/uptime).'),
  idle: def('perfwatch_system_idle_seconds_total', 'counter', 'seconds', [], 'up.idle', 'Idle seconds summed over all CPUs (/proc/uptime).'),
  fsSize: def('perfwatch_filesystem_size_bytes', 'gauge', 'bytes', ['device', 'mountpoint', 'fstype'], 'fs[].size', 'Filesystem size.'),
  fsFree: def('perfwatch_filesystem_free_bytes', 'gauge', 'bytes', ['device', 'mountpoint', 'fstype'], 'fs[].free', 'Free space, including blocks reserved for root.'),
  fsAvail: def('perfwatch_filesystem_avail_bytes', 'gauge', 'bytes', ['device', 'mountpoint', 'fstype'], 'fs[].avail', 'Space available to unprivileged users.'),
  fsFiles: def('perfwatch_filesystem_files', 'gauge', '', ['device', 'mountpoint', 'fstype'], 'fs[].files', 'Inodes in total.'),
  fsFilesFree: def('perfwatch_filesystem_files_free', 'gauge', '', ['device', 'mountpoint', 'fstype'], 'fs[].ffree', 'Free inodes.'),
  fsReadonly: def('perfwatch_filesystem_readonly', 'gauge', '', ['device', 'mountpoint', 'fstype'], 'fs[].ro', '1 when mounted read-only.'),
  fsError: def('perfwatch_filesystem_device_error', 'gauge', '', ['device', 'mountpoint', 'fstype'], 'fs[].err', '1 when statfs failed or timed out (the mount may be hung).'),
  psiTotal: def('perfwatch_pressure_stalled_seconds_total', 'counter', 'seconds', ['resource', 'kind'], 'psi[resource][kind][3]', 'Time some or all non-idle tasks were stalled on the resource (PSI total).'),
  psiRatio: def('perfwatch_pressure_stalled_ratio', 'gauge', 'ratio', ['resource', 'kind', 'window'], 'psi[resource][kind][0..2]', 'Share of time stalled on the resource, averaged over the window (PSI avg).'),
  fdAllocated: def('perfwatch_filefd_allocated', 'gauge', '', [], 'fd.alloc', 'Allocated file handles.'),
  fdMaximum: def('perfwatch_filefd_maximum', 'gauge', '', [], 'fd.max', 'Maximum file handles (fs.file-max).'),
  perfScaling: def('perfwatch_perf_scaling_ratio', 'gauge', 'ratio', ['event', 'cpu'], 'perf.r[cpu][event]', 'Share of its enabled time the event was counted (running / enabled): 1 = exact, below 1 = multiplexed and scaled.'),
  perfAvailable: def('perfwatch_perf_event_available', 'gauge', '', ['event', 'reason'], 'perf.un[event]', '1 when the event is counted on every online CPU; 0 when not, with the reason (docs/perf.md).'),
  perfCgroupScaling: def('perfwatch_perf_cgroup_scaling_ratio', 'gauge', 'ratio', ['cgroup', 'event', 'cpu'], 'perf.cg[cgroup].r[cpu][event]', 'Share of its enabled time the event was counted (running / enabled): 1 = exact, below 1 = multiplexed and scaled.'),
  perfCgroupAvailable: def('perfwatch_perf_cgroup_event_available', 'gauge', '', ['cgroup', 'event', 'reason'], 'perf.cg[cgroup].un[event]', '1 when the event is counted on every online CPU; 0 when not, with the reason (docs/perf.md). For the cgroup.'),
};

const DISK: MetricInfo[] = (
  [
    ['perfwatch_disk_reads_completed_total', 'counter', '', 'Reads completed successfully.'],
    ['perfwatch_disk_reads_merged_total', 'counter', '', 'Adjacent reads merged into one.'],
    ['perfwatch_disk_read_bytes_total', 'counter', 'bytes', 'Bytes read.'],
    ['perfwatch_disk_read_time_seconds_total', 'counter', 'seconds', 'Time spent on reads (sum over all reads).'],
    ['perfwatch_disk_writes_completed_total', 'counter', '', 'Writes completed successfully.'],
    ['perfwatch_disk_writes_merged_total', 'counter', '', 'Adjacent writes merged into one.'],
    ['perfwatch_disk_written_bytes_total', 'counter', 'bytes', 'Bytes written.'],
    ['perfwatch_disk_write_time_seconds_total', 'counter', 'seconds', 'Time spent on writes (sum over all writes).'],
    ['perfwatch_disk_io_now', 'gauge', '', 'I/Os currently in progress.'],
    ['perfwatch_disk_io_time_seconds_total', 'counter', 'seconds', 'Time the device had I/O in flight (utilisation = rate of this).'],
    ['perfwatch_disk_io_time_weighted_seconds_total', 'counter', 'seconds', 'I/O time weighted by I/Os in flight (average queue size = rate of this).'],
    ['perfwatch_disk_discards_completed_total', 'counter', '', 'Discards completed successfully.'],
    ['perfwatch_disk_discards_merged_total', 'counter', '', 'Adjacent discards merged into one.'],
    ['perfwatch_disk_discarded_bytes_total', 'counter', 'bytes', 'Bytes discarded.'],
    ['perfwatch_disk_discard_time_seconds_total', 'counter', 'seconds', 'Time spent on discards.'],
    ['perfwatch_disk_flush_requests_total', 'counter', '', 'Flush requests completed successfully.'],
    ['perfwatch_disk_flush_requests_time_seconds_total', 'counter', 'seconds', 'Time spent on flush requests.'],
  ] as const
).map(([name, type, unit, help], i) => def(name, type, unit, ['device'], `disk[device][${i}]`, help));

const NET_NAMES: Record<string, string> = {
  bytes: 'bytes', packets: 'packets', errs: 'errors', drop: 'dropped', fifo: 'fifo_errors', frame: 'frame_errors',
  compressed: 'compressed', multicast: 'multicast', colls: 'collisions', carrier: 'carrier_errors',
};
const NET: MetricInfo[] = NETDEV_FIELDS.map((f, i) => {
  const [dir, what] = f.split('_') as [string, string];
  const direction = dir === 'rx' ? 'receive' : 'transmit';
  const name = NET_NAMES[what]!;
  return def(`perfwatch_network_${direction}_${name}_total`, 'counter', what === 'bytes' ? 'bytes' : '', ['device'], `net[device][${i}]`, `Interface ${direction} ${name.replace('_', ' ')} (/proc/net/dev ${f}).`);
});

const PSI_WINDOWS = ['10s', '60s', '300s'] as const;

// hwmon, thermal, cpufreq, ... textfile: catalog-host.ts, then the containers' (catalog-cgroup.ts),
// served after the families above.
for (const m of [...HOST_METRICS, ...CGROUP_METRICS]) {
  FIXED.push(m);
  FIXED_BY_NAME.set(m.name, m);
}

// ---- the generated families: names from the kernel's keys ------------------------------------

const snakeCache = new Map<string, string>();
/** "Active(anon)" -> "active_anon", "TCPSynRetrans" -> "tcp_syn_retrans", "DirectMap2M" -> "direct_map2m". */
export function snake(name: string): string {
  let s = snakeCache.get(name);
  if (s === undefined) {
    s = name
      .replace(/\(([^)]*)\)/g, '_$1')
      .replace(/([A-Z]{2,})s(?=[A-Z_]|$)/g, '$1S')
      .replace(/([a-z])([A-Z])/g, '$1_$2')
      .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
      .replace(/[^A-Za-z0-9_]/g, '_')
      .replace(/_+/g, '_')
      .replace(/^_|_$/g, '')
      .toLowerCase();
    if (snakeCache.size < 10_000) snakeCache.set(name, s);
  }
  return s;
}

const MEM_RENAMES: Record<string, string> = {
  SReclaimable: 'slab_reclaimable',
  SUnreclaim: 'slab_unreclaimable',
  SecPageTables: 'secondary_page_tables',
};
const VM_RENAMES: Record<string, string> = { nr_sec_page_table_pages: 'nr_secondary_page_table_pages' };
const MEM_UNITLESS = /^HugePages_/;
const VM_COUNTER_NR = new Set(['nr_dirtied', 'nr_written', 'nr_foll_pin_acquired', 'nr_foll_pin_released', 'nr_unaccepted_total']);
const VM_GAUGES = new Set(['workingset_nodes']);
const NSTAT_GAUGES = new Set(['Ip_Forwarding', 'Ip_DefaultTTL', 'Tcp_RtoAlgorithm', 'Tcp_RtoMin', 'Tcp_RtoMax', 'Tcp_MaxConn', 'Tcp_CurrEstab']);
const PERF_SECONDS = new Set(['task-clock', 'cpu-clock']);

const generated = new Map<string, MetricInfo>();
// The same, by metric name (metricInfo runs per series row of a query); the first made wins.
const generatedByName = new Map<string, MetricInfo>();
function gen(key: string, make: () => MetricInfo): MetricInfo {
  let m = generated.get(key);
  if (!m) {
    m = Object.freeze(make());
    if (generated.size < 50_000) {
      generated.set(key, m);
      if (!generatedByName.has(m.name)) generatedByName.set(m.name, m);
    }
  }
  return m;
}

function memMetric(field: string): MetricInfo {
  return gen(`mem|${field}`, () => {
    const bytes = !MEM_UNITLESS.test(field);
    let base = MEM_RENAMES[field] ?? snake(field);
    // HugePages_Total is a gauge: a gauge must not end in _total.
    if (!bytes) base = base.replace(/_total$/, '');
    return {
      name: `perfwatch_memory_${base}${bytes ? '_bytes' : ''}`, type: 'gauge', unit: bytes ? 'bytes' : '', labels: [],
      path: `mem[${JSON.stringify(field)}]`, help: `/proc/meminfo ${field}${bytes ? ', bytes' : ''}.`,
    };
  });
}

function vmMetric(key: string): MetricInfo {
  return gen(`vm|${key}`, () => {
    const gauge = VM_GAUGES.has(key) || (key.startsWith('nr_') && !VM_COUNTER_NR.has(key));
    return {
      name: `perfwatch_vmstat_${VM_RENAMES[key] ?? key}${gauge ? '' : '_total'}`, type: gauge ? 'gauge' : 'counter', unit: '', labels: [],
      path: `vm[${JSON.stringify(key)}]`, help: `/proc/vmstat ${key}.`,
    };
  });
}

function nstatMetric(key: string): MetricInfo {
  return gen(`nstat|${key}`, () => {
    const i = key.indexOf('_');
    const gauge = NSTAT_GAUGES.has(key);
    return {
      name: `perfwatch_netstat_${key.slice(0, i).toLowerCase()}_${snake(key.slice(i + 1))}${gauge ? '' : '_total'}`,
      type: gauge ? 'gauge' : 'counter', unit: '', labels: [],
      path: `nstat[${JSON.stringify(key)}]`, help: `/proc/net/snmp or /proc/net/netstat ${key.replace('_', ' ')}.`,
    };
  });
}

function sockMetric(key: string): MetricInfo {
  return gen(`sock|${key}`, () => ({
    name: `perfwatch_sockstat_${key.toLowerCase()}`, type: 'gauge', unit: key.endsWith('_bytes') ? 'bytes' : '', labels: [],
    path: `sock[${JSON.stringify(key)}]`, help: `/proc/net/sockstat ${key.replace('_', ' ').replace(/_bytes$/, ' (bytes)')}.`,
  }));
}

function perfMetric(event: string, cgroup: boolean): MetricInfo {
  return gen(`perf|${cgroup}|${event}`, () => {
    const seconds = PERF_SECONDS.has(event);
    const base = event.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
    const help = `perf event ${event}${seconds ? ' in seconds' : ''}, counted since the exporter opened it, scaled for multiplexing (raw x enabled / running).`;
    return {
      name: `perfwatch_perf_${cgroup ? 'cgroup_' : ''}${base}${seconds ? '_seconds' : ''}_total`, type: 'counter', unit: seconds ? 'seconds' : '',
      labels: cgroup ? ['cgroup', 'cpu'] : ['cpu'],
      path: cgroup ? `perf.cg[cgroup].c[cpu][${JSON.stringify(event)}]` : `perf.c[cpu][${JSON.stringify(event)}]`,
      help: `${help} ${cgroup ? 'Per CPU, tasks of the cgroup only.' : 'Per CPU, system-wide.'}`,
    };
  });
}

// ---- the walk ----------------------------------------------------------------------------------

export type Emit = (metric: MetricInfo, labels: Labels, value: SampleValue) => void;

/** Label sets repeat (every cpu x mode, every scrape): built once each. */
const labelCache = new Map<string, Labels>();
function L(...kv: string[]): Labels {
  const key = kv.join('\u0000');
  let l = labelCache.get(key);
  if (!l) {
    l = {};
    for (let i = 0; i < kv.length; i += 2) l[kv[i]!] = kv[i + 1]!;
    Object.freeze(l);
    if (labelCache.size < 50_000) labelCache.set(key, l);
  }
  return l;
}
const NONE: Labels = Object.freeze({});

function isValue(v: unknown): v is SampleValue {
  return typeof v === 'number' || v instanceof Slot;
}

/**
 * Every sample of a snapshot (or of a shape: values are then Slots), family by family in the
 * exporter's order; a family's samples in its order. Absent and null values yield nothing.
 */
export function forEachSample(snapshot: Snapshot | unknown, emit: Emit): void {
  const s = snapshot as Snapshot;
  const add = (m: MetricInfo, v: unknown, labels: Labels = NONE) => {
    if (isValue(v)) emit(m, labels, v);
  };
  const col = Object.entries(s.col ?? {});
  for (const [c, st] of col) add(M.collectorDuration, st.s, L('collector', c));
  for (const [c, st] of col) add(M.collectorSuccess, st.ok ? 1 : 0, L('collector', c));

  if (s.cpu) {
    const c = s.cpu;
    const cpus = Object.entries(c.t);
    for (const [cpu, t] of cpus) for (let i = 0; i < 8 && i < t.length; i++) add(M.cpuSeconds, t[i], L('cpu', cpu, 'mode', CPU_MODES[i]!));
    for (const [cpu, t] of cpus) {
      if (t.length > 8) add(M.cpuGuest, t[8], L('cpu', cpu, 'mode', 'user'));
      if (t.length > 9) add(M.cpuGuest, t[9], L('cpu', cpu, 'mode', 'nice'));
    }
    add(M.interrupts, c.intr);
    add(M.contextSwitches, c.ctxt);
    add(M.forks, c.forks);
    add(M.procsRunning, c.run);
    add(M.procsBlocked, c.blk);
    add(M.bootTime, c.btime);
  }
  if (s.mem) for (const [field, v] of Object.entries(s.mem)) add(memMetric(field), v);
  if (s.load) {
    add(M.load1, s.load.l[0]);
    add(M.load5, s.load.l[1]);
    add(M.load15, s.load.l[2]);
    add(M.loadRunnable, s.load.run);
    add(M.loadEntities, s.load.ent);
  }
  if (s.vm) for (const [k, v] of Object.entries(s.vm)) add(vmMetric(k), v);
  if (s.up) {
    add(M.uptime, s.up.s);
    add(M.idle, s.up.idle);
  }
  if (s.disk) {
    const disks = Object.entries(s.disk);
    DISK.forEach((m, i) => {
      for (const [device, vals] of disks) add(m, vals[i], L('device', device));
    });
  }
  if (s.net) {
    const ifaces = Object.entries(s.net);
    NET.forEach((m, i) => {
      for (const [device, vals] of ifaces) add(m, vals[i], L('device', device));
    });
  }
  if (s.nstat) for (const [k, v] of Object.entries(s.nstat)) add(nstatMetric(k), v);
  if (s.sock) for (const [k, v] of Object.entries(s.sock)) add(sockMetric(k), v);
  if (s.fs) {
    const ok = s.fs.filter((e) => e.err === undefined);
    const fl = (e: (typeof s.fs)[number]) => L('device', e.dev, 'mountpoint', e.mp, 'fstype', e.type);
    for (const e of ok) add(M.fsSize, e.size, fl(e));
    for (const e of ok) add(M.fsFree, e.free, fl(e));
    for (const e of ok) add(M.fsAvail, e.avail, fl(e));
    for (const e of ok) add(M.fsFiles, e.files, fl(e));
    for (const e of ok) add(M.fsFilesFree, e.ffree, fl(e));
    for (const e of s.fs) add(M.fsReadonly, e.ro ? 1 : 0, fl(e));
    for (const e of s.fs) add(M.fsError, e.err === undefined ? 0 : 1, fl(e));
  }
  if (s.psi) {
    const psi = Object.entries(s.psi);
    for (const [resource, kinds] of psi) {
      for (const kind of ['some', 'full'] as const) {
        const l = kinds?.[kind];
        if (l) add(M.psiTotal, l[3], L('resource', resource, 'kind', kind));
      }
    }
    for (const [resource, kinds] of psi) {
      for (const kind of ['some', 'full'] as const) {
        const l = kinds?.[kind];
        if (l) PSI_WINDOWS.forEach((window, i) => add(M.psiRatio, l[i], L('resource', resource, 'kind', kind, 'window', window)));
      }
    }
  }
  if (s.fd) {
    add(M.fdAllocated, s.fd.alloc);
    add(M.fdMaximum, s.fd.max);
  }
  if (s.perf) {
    const p = s.perf;
    const cgroups = Object.entries(p.cg ?? {});
    p.ev.forEach((event, i) => {
      const m = perfMetric(event, false);
      for (const [cpu, v] of Object.entries(p.c)) add(m, v[i], L('cpu', cpu));
    });
    p.ev.forEach((event, i) => {
      for (const [cpu, v] of Object.entries(p.r)) add(M.perfScaling, v[i], L('event', event, 'cpu', cpu));
    });
    for (const event of p.ev) add(M.perfAvailable, p.un[event] === undefined ? 1 : 0, L('event', event, 'reason', p.un[event] ?? ''));
    p.ev.forEach((event, i) => {
      const m = perfMetric(event, true);
      for (const [cgroup, g] of cgroups) for (const [cpu, v] of Object.entries(g.c)) add(m, v[i], L('cgroup', cgroup, 'cpu', cpu));
    });
    p.ev.forEach((event, i) => {
      for (const [cgroup, g] of cgroups) for (const [cpu, v] of Object.entries(g.r)) add(M.perfCgroupScaling, v[i], L('cgroup', cgroup, 'event', event, 'cpu', cpu));
    });
    for (const [cgroup, g] of cgroups) {
      for (const event of p.ev) add(M.perfCgroupAvailable, g.un[event] === undefined ? 1 : 0, L('cgroup', cgroup, 'event', event, 'reason', g.un[event] ?? ''));
    }
  }
  walkHost(s, add, L);
  walkCgroup(s, add, L);
}

/** The samples of a snapshot. */
export function snapshotSamples(s: Snapshot): Sample[] {
  const out: Sample[] = [];
  forEachSample(s, (metric, labels, value) => out.push({ metric, labels, value: value as number }));
  return out;
}

/** The metrics a snapshot has samples of, in the exporter's order. */
export function metricsOf(s: Snapshot | unknown): MetricInfo[] {
  const seen = new Set<MetricInfo>();
  forEachSample(s, (m) => seen.add(m));
  return [...seen];
}

/** The fixed families (those whose names do not come from the kernel's keys). */
export const FIXED_METRICS: readonly MetricInfo[] = Object.freeze(FIXED);

// perf event families are counters (_total); the other perf names are fixed or derived.
const GENERATED_PREFIX = /^perfwatch_(?:(memory|vmstat|netstat|sockstat)_[a-z0-9_]+|(perf)_[a-z0-9_]+_total)$/;

/**
 * What the catalog knows about a metric name without a snapshot: a fixed family, or one of the
 * generated families (type from the name: counters end in _total, and nothing else does).
 * undefined for a name no snapshot can yield.
 */
export function metricInfo(name: string): MetricInfo | undefined {
  const fixed = FIXED_BY_NAME.get(name);
  if (fixed) return fixed;
  // A derived metric is no snapshot's, even where its name has a generated family's prefix
  // (perfwatch_memory_utilisation_ratio: /proc/meminfo has no such key).
  if (DERIVED_METRICS.some((d) => d.name === name)) return undefined;
  const known = generatedByName.get(name) ?? hostMetricInfo(name);
  if (known) return known;
  const g = GENERATED_PREFIX.exec(name);
  if (!g) return undefined;
  const counter = name.endsWith('_total');
  const section = g[1] ?? g[2]!;
  return {
    name,
    type: counter ? 'counter' : 'gauge',
    unit: /_seconds(_total)?$/.test(name) ? 'seconds' : /_bytes(_total)?$/.test(name) ? 'bytes' : '',
    labels: section === 'perf' ? (name.startsWith('perfwatch_perf_cgroup_') ? ['cgroup', 'cpu'] : ['cpu']) : [],
    path: { memory: 'mem', vmstat: 'vm', netstat: 'nstat', sockstat: 'sock', perf: 'perf' }[section]!,
    help: '',
  };
}

// ---- derived metrics ---------------------------------------------------------------------------

export type MatchOp = '=' | '!=' | '=~' | '!~';
export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
}

/**
 * An expression over catalog metrics, evaluated per output point (series.ts):
 * - `rate`: the per-second rate of a counter (or a gauge's value), summed by the given labels;
 * - `div`, `sub`: series with equal labels combined point by point; a number is a constant.
 */
export type Expr =
  | { op: 'rate' | 'value'; metric: string; matchers?: Matcher[]; sumBy: string[] }
  | { op: 'div' | 'sub'; left: Expr | number; right: Expr | number };

export interface DerivedMetric {
  name: string;
  type: 'gauge';
  unit: MetricInfo['unit'];
  help: string;
  labels: readonly string[];
  expr: Expr;
}

const rateBy = (metric: string, by: string[], matchers?: Matcher[]): Expr => ({ op: 'rate', metric, sumBy: by, ...(matchers ? { matchers } : {}) });
const valueBy = (metric: string, by: string[]): Expr => ({ op: 'value', metric, sumBy: by });
const FS_LABELS = ['device', 'mountpoint', 'fstype'];
const CG_LABELS = ['cgroup', 'container', 'unit'];

export const DERIVED_METRICS: readonly DerivedMetric[] = Object.freeze([
  {
    name: 'perfwatch_cpu_utilisation_ratio', type: 'gauge', unit: 'ratio', labels: ['cpu'],
    help: 'Share of time each CPU was busy: 1 - (idle + iowait) / all modes, from perfwatch_cpu_seconds_total.',
    expr: { op: 'sub', left: 1, right: { op: 'div', left: rateBy('perfwatch_cpu_seconds_total', ['cpu'], [{ label: 'mode', op: '=~', value: 'idle|iowait' }]), right: rateBy('perfwatch_cpu_seconds_total', ['cpu']) } },
  },
  {
    name: 'perfwatch_perf_instructions_per_cycle', type: 'gauge', unit: '', labels: ['cpu'],
    help: 'Instructions retired per CPU cycle (IPC): rate of perf instructions / rate of cpu-cycles.',
    expr: { op: 'div', left: rateBy('perfwatch_perf_instructions_total', ['cpu']), right: rateBy('perfwatch_perf_cpu_cycles_total', ['cpu']) },
  },
  {
    name: 'perfwatch_perf_cache_miss_ratio', type: 'gauge', unit: 'ratio', labels: ['cpu'],
    help: 'Last-level cache misses per cache reference: rate of perf cache-misses / rate of cache-references.',
    expr: { op: 'div', left: rateBy('perfwatch_perf_cache_misses_total', ['cpu']), right: rateBy('perfwatch_perf_cache_references_total', ['cpu']) },
  },
  {
    name: 'perfwatch_perf_branch_miss_ratio', type: 'gauge', unit: 'ratio', labels: ['cpu'],
    help: 'Mispredicted branches per branch instruction: rate of perf branch-misses / rate of branch-instructions.',
    expr: { op: 'div', left: rateBy('perfwatch_perf_branch_misses_total', ['cpu']), right: rateBy('perfwatch_perf_branch_instructions_total', ['cpu']) },
  },
  {
    name: 'perfwatch_disk_utilisation_ratio', type: 'gauge', unit: 'ratio', labels: ['device'],
    help: 'Share of time each device had I/O in flight: rate of perfwatch_disk_io_time_seconds_total.',
    expr: rateBy('perfwatch_disk_io_time_seconds_total', ['device']),
  },
  {
    name: 'perfwatch_disk_read_latency_seconds', type: 'gauge', unit: 'seconds', labels: ['device'],
    help: 'Average time per completed read: rate of perfwatch_disk_read_time_seconds_total / rate of perfwatch_disk_reads_completed_total (no point while nothing is read).',
    expr: { op: 'div', left: rateBy('perfwatch_disk_read_time_seconds_total', ['device']), right: rateBy('perfwatch_disk_reads_completed_total', ['device']) },
  },
  {
    name: 'perfwatch_disk_write_latency_seconds', type: 'gauge', unit: 'seconds', labels: ['device'],
    help: 'Average time per completed write: rate of perfwatch_disk_write_time_seconds_total / rate of perfwatch_disk_writes_completed_total (no point while nothing is written).',
    expr: { op: 'div', left: rateBy('perfwatch_disk_write_time_seconds_total', ['device']), right: rateBy('perfwatch_disk_writes_completed_total', ['device']) },
  },
  {
    name: 'perfwatch_memory_utilisation_ratio', type: 'gauge', unit: 'ratio', labels: [],
    help: 'Share of memory in use: 1 - MemAvailable / MemTotal (/proc/meminfo).',
    expr: { op: 'sub', left: 1, right: { op: 'div', left: valueBy('perfwatch_memory_mem_available_bytes', []), right: valueBy('perfwatch_memory_mem_total_bytes', []) } },
  },
  {
    name: 'perfwatch_filesystem_used_ratio', type: 'gauge', unit: 'ratio', labels: FS_LABELS,
    help: 'Share of each filesystem in use, as unprivileged users see it: 1 - perfwatch_filesystem_avail_bytes / perfwatch_filesystem_size_bytes.',
    expr: { op: 'sub', left: 1, right: { op: 'div', left: valueBy('perfwatch_filesystem_avail_bytes', FS_LABELS), right: valueBy('perfwatch_filesystem_size_bytes', FS_LABELS) } },
  },
  // containers and services (catalog-cgroup.ts)
  {
    name: 'perfwatch_container_memory_working_set_bytes', type: 'gauge', unit: 'bytes', labels: CG_LABELS,
    help: 'Memory the cgroup cannot easily give back (cAdvisor\'s working set): usage - inactive_file.',
    expr: { op: 'sub', left: valueBy('perfwatch_container_memory_usage_bytes', CG_LABELS), right: valueBy('perfwatch_container_memory_inactive_file_bytes', CG_LABELS) },
  },
  {
    name: 'perfwatch_container_cpu_throttled_ratio', type: 'gauge', unit: 'ratio', labels: CG_LABELS,
    help: 'Share of CFS periods in which the cgroup was throttled: rate of throttled periods / rate of periods.',
    expr: { op: 'div', left: rateBy('perfwatch_container_cpu_cfs_throttled_periods_total', CG_LABELS), right: rateBy('perfwatch_container_cpu_cfs_periods_total', CG_LABELS) },
  },
  {
    name: 'perfwatch_perf_cgroup_instructions_per_cycle', type: 'gauge', unit: '', labels: ['cgroup'],
    help: 'Instructions retired per CPU cycle (IPC) of a cgroup\'s tasks, all CPUs: rate of its perf instructions / rate of its cpu-cycles.',
    expr: { op: 'div', left: rateBy('perfwatch_perf_cgroup_instructions_total', ['cgroup']), right: rateBy('perfwatch_perf_cgroup_cpu_cycles_total', ['cgroup']) },
  },
] satisfies DerivedMetric[]);

export function derivedMetric(name: string): DerivedMetric | undefined {
  return DERIVED_METRICS.find((d) => d.name === name);
}
