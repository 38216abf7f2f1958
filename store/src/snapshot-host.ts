/**
 * The Snapshot sections of the node_exporter-style hardware, kernel and textfile collectors
 * (hwmon, thermal, cpufreq, rapl, softnet, schedstat, conntrack, entropy, netclass, udp queues,
 * arp, os-release, uname, textfile). Kept beside snapshot.ts so the core shape stays readable;
 * `Snapshot` extends `HostSections`. docs/snapshot.md documents every key.
 *
 * Same conventions as snapshot.ts: base units (celsius, volts, amperes, watts, joules, hertz,
 * seconds, bytes), a value the kernel did not report is absent, never 0, and a section whose
 * files do not exist on the host is missing.
 */

/** One hwmon sensor (temp1, fan2, in0, curr1, power1, energy1), values in base units. */
export interface HwmonSensor {
  /** the sensor's `<sensor>_label`, when the driver has one. */
  l?: string;
  /** `<sensor>_input` (power: `_input`, else `_average`); energy in joules. */
  v?: number;
  min?: number;
  max?: number;
  crit?: number;
  /** `<sensor>_alarm`: 1 when the chip raised an alarm. */
  alarm?: number;
}

export interface HwmonChip {
  /** the chip's driver name (`name` file: coretemp, nvme, k10temp, ...). */
  name?: string;
  /** sensor ("temp1", "fan1", ...) -> values. */
  s: Record<string, HwmonSensor>;
}

/** Order of the per-CPU array (softnet[cpu]), as /proc/net/softnet_stat prints its columns. */
export const SOFTNET_FIELDS = ['processed', 'dropped', 'time_squeeze', 'cpu_collision', 'received_rps', 'flow_limit_count', 'backlog_len'] as const;

/** Order of the per-CPU array (sched[cpu]): /proc/schedstat's last three cpu fields. */
export const SCHEDSTAT_FIELDS = ['running_seconds', 'waiting_seconds', 'timeslices'] as const;

/** One network interface of /sys/class/net. */
export interface NetClassEntry {
  /** operstate: up, down, unknown, dormant, lowerlayerdown, notpresent, testing. */
  op: string;
  /** hardware address. */
  addr?: string;
  /** full, half, unknown. */
  dup?: string;
  /** link speed in bytes per second (the kernel prints Mbit/s); absent while the link is down. */
  speed?: number;
  /** 1 when the physical link is up; absent while the interface is administratively down. */
  carrier?: number;
  /** MTU in bytes. */
  mtu?: number;
  /** carrier changes since the interface appeared. */
  cc?: number;
}

/** One textfile family as validated from a *.prom file. */
export interface TextfileFamily {
  /** metric name. */
  n: string;
  /** counter or gauge (untyped families are served as gauges). */
  t: 'counter' | 'gauge';
  /** help text (the file's, or "Metric read from <file>."). */
  h: string;
  /** the family's label names, in order: every sample carries all of them ("" where the file had none). */
  l: string[];
  /** samples: label values in `l` order, then the value. */
  s: [string[], number][];
}

export interface TextfileSection {
  /** file path -> its modification time (unix seconds) and, when it was skipped, why (the
   *  directory itself, without mt, when it cannot be listed). */
  files: Record<string, { mt?: number; err?: string }>;
  /** the families of the files that were read cleanly, in file then family order. */
  fam: TextfileFamily[];
  /** 1 when any file or the directory could not be used. */
  err: number;
}

export interface HostSections {
  /** /sys/class/hwmon: chip label (node_exporter's naming: "platform_coretemp_0") -> chip. */
  hwmon?: Record<string, HwmonChip>;
  /** /sys/class/thermal: thermal zones and cooling devices by number. */
  thermal?: {
    /** zone number -> its type and temperature (celsius). */
    z?: Record<string, { type: string; t: number }>;
    /** cooling device number -> its type, current and max state. */
    cd?: Record<string, { type: string; cur?: number; max?: number }>;
  };
  /** /sys/devices/system/cpu/cpu<N>/cpufreq, hertz; cpu id -> values. */
  cpufreq?: Record<string, {
    /** cpuinfo_cur_freq (hardware; readable by root only). */
    cur?: number;
    min?: number;
    max?: number;
    /** scaling_cur_freq, scaling_min_freq, scaling_max_freq. */
    scur?: number;
    smin?: number;
    smax?: number;
    /** scaling_governor. */
    gov?: string;
  }>;
  /** /sys/class/powercap RAPL zones ("intel-rapl:0", "intel-rapl:0:1"). */
  rapl?: Record<string, {
    /** zone name: package-0, core, uncore, dram, psys. */
    n: string;
    /** energy counter, joules (wraps at max). */
    j?: number;
    /** max_energy_range_uj in joules: where the counter wraps. */
    max?: number;
  }>;
  /** /proc/net/softnet_stat: cpu id -> SOFTNET_FIELDS (shorter on older kernels). */
  softnet?: Record<string, number[]>;
  /** /proc/schedstat: cpu id -> SCHEDSTAT_FIELDS. */
  sched?: Record<string, number[]>;
  /** /proc/sys/net/netfilter: conntrack entries and their limit; `st`: /proc/net/stat/nf_conntrack
   *  counters summed over CPUs (found, invalid, ignore, insert, insert_failed, drop, early_drop, search_restart). */
  ct?: { n?: number; max?: number; st?: Record<string, number> };
  /** /proc/sys/kernel/random: entropy available and the pool size, bytes (the kernel counts bits). */
  entropy?: { avail?: number; pool?: number };
  /** /sys/devices/system/clocksource/clocksource0. */
  clock?: { cur: string; avail: string[] };
  /** adjtimex(2), in base units as node_exporter's timex collector gives them (native/lib/timex.ts):
   *  TIMEX_FIELDS in order; and the system clock when read (seconds since the epoch) with the
   *  local time zone's name and offset from UTC (seconds). */
  tx?: { v: number[]; now: number; tz: string; tzoff: number };
  /** /sys/class/net: interface -> link state. */
  ncls?: Record<string, NetClassEntry>;
  /** /proc/net/udp and udp6: summed [tx_queue, rx_queue] bytes, per IP version. */
  udpq?: { v4?: [number, number]; v6?: [number, number] };
  /** /proc/net/arp: interface -> entries. */
  arp?: Record<string, number>;
  /** /etc/os-release (or /usr/lib/os-release) as KEY -> value. */
  os?: Record<string, string>;
  /** /proc/sys/kernel/{ostype,osrelease,version,hostname,domainname,arch}. */
  uname?: { sys: string; rel: string; ver: string; node: string; dom: string; mach: string };
  /** PERFWATCH_TEXTFILE_DIR/*.prom. */
  tf?: TextfileSection;
  /** /sys/devices/system/edac/mc: controller -> corrected and uncorrected errors, in all and per
   *  csrow as [ce, ue] (null where the driver has no such count); "unknown" holds the noinfo counts. */
  edac?: Record<string, { ce?: number; ue?: number; rows: Record<string, [number | null, number | null]> }>;
  /** /sys/class/nvme: controller -> model, serial, firmware revision and state. */
  nvme?: Record<string, { model?: string; serial?: string; fw?: string; state?: string }>;
  /** /sys/class/dmi/id: field -> value (serials and the UUID only as root). */
  dmi?: Record<string, string>;
  /** /sys/class/power_supply: name -> type, text attributes and numbers in base units. */
  psu?: Record<string, { type: string; info: Record<string, string>; v: Record<string, number> }>;
  /** bonding: bond -> [slaves, slaves with MII up]. */
  bond?: Record<string, [number, number]>;
  /** /proc/mdstat: array -> state, level, member counts [active, failed, spare], members required,
   *  size and, while an action runs, what it is and how far it got (bytes). */
  md?: Record<string, MdSection>;
  /** /proc/net/rpc/nfs: the NFS client's lines `net`, `rpc`, `proc2`, `proc3`, `proc4` (the
   *  leading count dropped), numbers as the kernel prints them. */
  nfs?: RpcSection;
  /** /proc/net/rpc/nfsd: the NFS server's `rc`, `fh`, `io`, `th`, `net`, `rpc`, `proc2..4`, `proc4ops`. */
  nfsd?: RpcSection;
  /** /sys/fs/xfs/<device>/stats/stats: device -> keyword -> counters as printed (xpc in bytes). */
  xfs?: Record<string, Record<string, number[]>>;
  /** /sys/fs/btrfs/<uuid>: uuid -> label, global reserve, per block group type
   *  [total_bytes, bytes_used, bytes_reserved, disk_total, disk_used] (null where missing), member device sizes. */
  btrfs?: Record<string, { label: string; rsv?: number; g: Record<string, (number | null)[]>; dev: Record<string, number> }>;
  /** /proc/spl/kstat/zfs: kstat (arcstats, zfetchstats, dmu_tx, zil, abdstats) -> name -> value,
   *  and `pools`: pool -> state (ONLINE, DEGRADED, ...). */
  zfs?: { k: Record<string, Record<string, number>>; pools: Record<string, string> };
}

export type RpcSection = Record<string, number[]>;

export interface MdSection {
  st: 'active' | 'inactive';
  lvl?: string;
  dk: [number, number, number];
  req?: number;
  size?: number;
  act?: string;
  done?: number;
}

/** The values of `tx.v`, in order, with their node_exporter names (node_timex_<name>). */
export const TIMEX_FIELDS = [
  'sync_status', 'offset_seconds', 'frequency_adjustment_ratio', 'maxerror_seconds', 'estimated_error_seconds', 'status',
  'loop_time_constant', 'tick_seconds', 'pps_frequency_hertz', 'pps_jitter_seconds', 'pps_shift_seconds', 'pps_stability_hertz',
  'pps_jitter_total', 'pps_calibration_total', 'pps_error_total', 'pps_stability_exceeded_total', 'tai_offset_seconds',
] as const;
