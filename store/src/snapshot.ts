/**
 * The Snapshot: one collection of one host, exactly as the exporter serves it on /metrics and
 * writes it to Postgres (snapshots.data, JSONB). Keys are short on purpose: at 64 CPUs compact
 * keys make the stored JSON 26-40% smaller than exporter-style names. docs/snapshot.md is the
 * reference for every key; bump SNAPSHOT_VERSION when a key changes meaning.
 *
 * Conventions: values are in base units (seconds, bytes); a value the kernel did not report is
 * absent (a shorter array or a missing key), never 0.
 */
import type { CgroupSections } from './snapshot-cgroup.js';
import type { HostSections } from './snapshot-host.js';

export * from './snapshot-cgroup.js';
export * from './snapshot-host.js';

export const SNAPSHOT_VERSION = 1 as const;

/** Order of the per-CPU time array (cpu.t), as in /proc/stat. */
export const CPU_MODES = [
  'user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice',
] as const;
export type CpuMode = (typeof CPU_MODES)[number];

/** Order of the per-device array (disk[device]); see Documentation/admin-guide/iostats.rst. */
export const DISK_FIELDS = [
  'reads', 'reads_merged', 'read_bytes', 'read_seconds',
  'writes', 'writes_merged', 'written_bytes', 'write_seconds',
  'io_now', 'io_seconds', 'io_weighted_seconds',
  'discards', 'discards_merged', 'discarded_bytes', 'discard_seconds',
  'flushes', 'flush_seconds',
] as const;
export type DiskField = (typeof DISK_FIELDS)[number];

/** Order of the per-interface array (net[iface]), as in /proc/net/dev. */
export const NETDEV_FIELDS = [
  'rx_bytes', 'rx_packets', 'rx_errs', 'rx_drop', 'rx_fifo', 'rx_frame', 'rx_compressed', 'rx_multicast',
  'tx_bytes', 'tx_packets', 'tx_errs', 'tx_drop', 'tx_fifo', 'tx_colls', 'tx_carrier', 'tx_compressed',
] as const;
export type NetdevField = (typeof NETDEV_FIELDS)[number];

export const PSI_RESOURCES = ['cpu', 'memory', 'io'] as const;
export type PsiResource = (typeof PSI_RESOURCES)[number];

/** [avg10, avg60, avg300] as ratios 0..1, then the total stall time in seconds. */
export type PsiLine = [number, number, number, number];

export interface CollectorStatus {
  /** true when the collector finished without an error. */
  ok: boolean;
  /** wall time the collector took, seconds. */
  s: number;
  /** the error, when ok is false. */
  err?: string;
}

export interface CpuSection {
  /** cpu id ("0", "1", ...) -> cumulative seconds per CPU_MODES, possibly shorter on old kernels. */
  t: Record<string, number[]>;
  /** interrupts serviced since boot (the intr line's total). */
  intr?: number;
  /** context switches since boot. */
  ctxt?: number;
  /** forks since boot (the processes line). */
  forks?: number;
  /** processes in runnable state. */
  run?: number;
  /** processes blocked on I/O. */
  blk?: number;
  /** boot time, unix seconds. */
  btime?: number;
}

export interface LoadSection {
  /** 1, 5 and 15 minute load averages. */
  l: [number, number, number];
  /** runnable scheduling entities. */
  run?: number;
  /** existing scheduling entities. */
  ent?: number;
}

export interface UptimeSection {
  /** seconds since boot. */
  s: number;
  /** idle seconds summed over all CPUs. */
  idle: number;
}

export interface FsEntry {
  dev: string;
  mp: string;
  type: string;
  ro: boolean;
  size?: number;
  free?: number;
  avail?: number;
  files?: number;
  ffree?: number;
  /** why the sizes are missing (statfs failed, timed out, or the mount is still hung). */
  err?: string;
}

/**
 * Counts of one perf target (system-wide, or one cgroup), per CPU. Counters run from when the
 * exporter opened them (not from boot); a re-opened counter continues from its last value.
 */
export interface PerfCounts {
  /** cpu id -> count per `PerfSection.ev` entry, scaled for multiplexing (raw x enabled / running);
   *  task-clock and cpu-clock in seconds; null where that event is not counted on that CPU. */
  c: Record<string, (number | null)[]>;
  /** cpu id -> scaling ratio (running / enabled; 1 = never multiplexed) per `ev` entry; null where
   *  not counted or nothing was enabled yet (a cgroup that has not run on that CPU). */
  r: Record<string, (number | null)[]>;
  /** event -> why it is not counted on every online CPU (a reason such as "not supported",
   *  "permission", "fd budget"; docs/perf.md); events counted everywhere are absent. */
  un: Record<string, string>;
}

export interface PerfSection extends PerfCounts {
  /** the configured events (PERFWATCH_PERF_EVENTS) in order: the positions of every c and r array. */
  ev: string[];
  /** cgroup directory (PERFWATCH_PERF_CGROUPS) -> what that cgroup's tasks counted, same layout. */
  cg?: Record<string, PerfCounts>;
}

/** The core sections below; the hardware, kernel and textfile ones in snapshot-host.ts (adding a
 *  section is not a change of meaning: v stays 1). */
export interface Snapshot extends HostSections, CgroupSections {
  v: typeof SNAPSHOT_VERSION;
  host: string;
  /** unix milliseconds at the start of the collection. */
  ts: number;
  /** the collection interval in seconds. */
  iv: number;
  /** every enabled collector, by name. */
  col: Record<string, CollectorStatus>;
  cpu?: CpuSection;
  /** /proc/meminfo by kernel field name; kB fields in bytes, page counts as they are. */
  mem?: Record<string, number>;
  load?: LoadSection;
  /** /proc/vmstat as it is. */
  vm?: Record<string, number>;
  up?: UptimeSection;
  /** block device -> DISK_FIELDS, base units. */
  disk?: Record<string, number[]>;
  /** interface -> NETDEV_FIELDS. */
  net?: Record<string, number[]>;
  /** /proc/net/snmp and /proc/net/netstat, "Proto_Field" -> value (only the configured fields). */
  nstat?: Record<string, number>;
  /** /proc/net/sockstat, "PROTO_key" -> value; mem in bytes. */
  sock?: Record<string, number>;
  fs?: FsEntry[];
  psi?: Partial<Record<PsiResource, { some?: PsiLine; full?: PsiLine }>>;
  /** /proc/sys/fs/file-nr. */
  fd?: { alloc: number; max: number };
  /** perf_event_open counters per CPU (and per configured cgroup), with why an event is not counted. */
  perf?: PerfSection;
}
