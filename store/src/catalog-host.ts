/**
 * The catalog's families of the node_exporter-style collectors (snapshot-host.ts sections):
 * hwmon, thermal, cpufreq, rapl, softnet, schedstat, conntrack, entropy, time, netclass, udp
 * queues, arp, os-release, uname and the textfile collector. catalog.ts registers HOST_METRICS
 * among its fixed families and calls walkHost at the end of forEachSample, so /metrics, history
 * and queries see them like any other family. Types only are imported from catalog.ts, so there is
 * no import cycle at run time.
 *
 * Names follow node_exporter's where one exists, under perfwatch_<subsystem>_, in base units
 * (docs/metrics.md maps them to node_exporter's).
 */
import type { Labels, MetricInfo, SampleValue } from './catalog.js';
import { SCHEDSTAT_FIELDS, SOFTNET_FIELDS, TIMEX_FIELDS, type HostSections } from './snapshot-host.js';

type Add = (m: MetricInfo, v: unknown, labels?: Labels) => void;
type MakeLabels = (...kv: string[]) => Labels;

export const HOST_METRICS: MetricInfo[] = [];

function def(name: string, type: MetricInfo['type'], unit: MetricInfo['unit'], labels: readonly string[], path: string, help: string): MetricInfo {
  const m: MetricInfo = Object.freeze({ name, type, unit, labels: Object.freeze([...labels]), path, help });
  HOST_METRICS.push(m);
  return m;
}

// ---- hwmon -------------------------------------------------------------------------------------

const HWMON_TYPES = [
  ['temp', 'celsius', 'celsius', 'Temperature'],
  ['in', 'volts', 'volts', 'Voltage'],
  ['curr', 'amperes', 'amperes', 'Current'],
  ['power', 'watts', 'watts', 'Power'],
  ['fan', 'rpm', '', 'Fan speed'],
] as const;
const HWMON_ATTRS = [
  ['v', '', ''],
  ['min', 'min_', ' (minimum threshold)'],
  ['max', 'max_', ' (maximum threshold)'],
  ['crit', 'crit_', ' (critical threshold)'],
] as const;
const HW_LABELS = ['chip', 'sensor'];

const HW = {
  chip: def('perfwatch_hwmon_chip_info', 'gauge', '', ['chip', 'chip_name'], 'hwmon[chip].name', 'Always 1: the driver name of each hwmon chip (/sys/class/hwmon/hwmon*/name).'),
  sensor: def('perfwatch_hwmon_sensor_info', 'gauge', '', ['chip', 'sensor', 'label'], 'hwmon[chip].s[sensor].l', 'Always 1: the label the driver gives a sensor (<sensor>_label).'),
  values: HWMON_TYPES.flatMap(([type, unitName, unit, what]) =>
    HWMON_ATTRS.filter(([attr]) => !(type === 'fan' && attr === 'crit')).map(([attr, infix, note]) => ({
      type,
      attr,
      m: def(`perfwatch_hwmon_${type}_${infix}${unitName}`, 'gauge', unit, HW_LABELS, `hwmon[chip].s[${type}N].${attr}`, `${what}${note}, ${unitName} (hwmon ${type}N_${attr === 'v' ? (type === 'power' ? 'input or _average' : 'input') : attr}).`),
    })),
  ),
  energy: def('perfwatch_hwmon_energy_joules_total', 'counter', 'joules', HW_LABELS, 'hwmon[chip].s[energyN].v', 'Energy consumed, joules (hwmon energyN_input).'),
  alarm: def('perfwatch_hwmon_alarm', 'gauge', '', HW_LABELS, 'hwmon[chip].s[sensor].alarm', '1 when the chip flags an alarm for the sensor (<sensor>_alarm).'),
};

const SENSOR_TYPE = /^([a-z]+)\d+$/;
function sensorType(sensor: string): string | undefined {
  return SENSOR_TYPE.exec(sensor)?.[1];
}

// DMI fields as node_exporter's dmi labels (sys_vendor is its system_vendor)
const DMI_FIELDS = [
  'bios_date', 'bios_release', 'bios_vendor', 'bios_version', 'board_asset_tag', 'board_name', 'board_serial', 'board_vendor',
  'board_version', 'chassis_asset_tag', 'chassis_serial', 'chassis_vendor', 'chassis_version', 'product_family', 'product_name',
  'product_serial', 'product_sku', 'product_uuid', 'product_version', 'sys_vendor',
] as const;
const DMI_LABELS = DMI_FIELDS.map((f) => (f === 'sys_vendor' ? 'system_vendor' : f));

/** power_supply attribute, metric name after perfwatch_power_supply_, type, unit, help. */
const PSU_VALUES: [string, string, MetricInfo['type'], MetricInfo['unit'], string][] = [
  ['online', 'online', 'gauge', '', '1 when the supply is online (mains connected, or the battery in use)'],
  ['present', 'present', 'gauge', '', '1 when the supply is present'],
  ['capacity', 'capacity_ratio', 'gauge', 'ratio', 'Charge left as a share of full'],
  ['energy_now', 'energy_joules', 'gauge', 'joules', 'Energy stored now'],
  ['energy_full', 'energy_full_joules', 'gauge', 'joules', 'Energy stored when full'],
  ['energy_full_design', 'energy_full_design_joules', 'gauge', 'joules', 'Energy stored when full, as designed'],
  ['charge_now', 'charge_coulombs', 'gauge', '', 'Charge stored now'],
  ['charge_full', 'charge_full_coulombs', 'gauge', '', 'Charge stored when full'],
  ['charge_full_design', 'charge_full_design_coulombs', 'gauge', '', 'Charge stored when full, as designed'],
  ['power_now', 'power_watts', 'gauge', 'watts', 'Power drawn or delivered now'],
  ['voltage_now', 'voltage_volts', 'gauge', 'volts', 'Voltage now'],
  ['voltage_min_design', 'voltage_min_design_volts', 'gauge', 'volts', 'Lowest voltage, as designed'],
  ['current_now', 'current_amperes', 'gauge', 'amperes', 'Current now'],
  ['cycle_count', 'cycles', 'gauge', '', 'Charge cycles the battery has been through'],
  ['temp', 'temp_celsius', 'gauge', 'celsius', 'Temperature'],
];

// ---- timex and time (adjtimex(2); node_exporter's timex and time collectors) -------------------

const TIMEX_HELP: Record<(typeof TIMEX_FIELDS)[number], string> = {
  sync_status: '1 when the kernel considers the clock synchronized (adjtimex did not return TIME_ERROR), 0 otherwise.',
  offset_seconds: 'Time offset between the local system and the reference clock.',
  frequency_adjustment_ratio: 'Local clock frequency adjustment, as a ratio (1 + freq).',
  maxerror_seconds: 'Maximum error of the clock.',
  estimated_error_seconds: 'Estimated error of the clock.',
  status: 'Clock command and status bits (STA_*; adjtimex(2)).',
  loop_time_constant: 'Phase-locked loop time constant.',
  tick_seconds: 'Time between clock ticks.',
  pps_frequency_hertz: 'Pulse-per-second frequency.',
  pps_jitter_seconds: 'Pulse-per-second jitter.',
  pps_shift_seconds: 'Pulse-per-second interval duration (log2 seconds).',
  pps_stability_hertz: 'Pulse-per-second stability, the average of relative frequency changes.',
  pps_jitter_total: 'Pulse-per-second intervals whose jitter passed the limit.',
  pps_calibration_total: 'Pulse-per-second calibration intervals.',
  pps_error_total: 'Pulse-per-second calibration errors.',
  pps_stability_exceeded_total: 'Pulse-per-second intervals whose stability passed the limit.',
  tai_offset_seconds: 'International Atomic Time (TAI) offset from UTC.',
};

const TIMEX = TIMEX_FIELDS.map((f, i) =>
  def(
    `perfwatch_timex_${f}`,
    f.endsWith('_total') ? 'counter' : 'gauge',
    f.endsWith('_seconds') ? 'seconds' : f.endsWith('_hertz') ? 'hertz' : f.endsWith('_ratio') ? 'ratio' : '',
    [],
    `tx.v[${i}]`,
    `${TIMEX_HELP[f]} (adjtimex(2))`,
  ),
);
const TIME_NOW = def('perfwatch_time_seconds', 'gauge', 'seconds', [], 'tx.now', 'System time when the collector ran, seconds since the Unix epoch.');
const TIME_ZONE = def('perfwatch_time_zone_offset_seconds', 'gauge', 'seconds', ['time_zone'], 'tx.tzoff', 'Offset of the local time zone from UTC.');

// ---- the rest ----------------------------------------------------------------------------------

const T = {
  zoneTemp: def('perfwatch_thermal_zone_temp_celsius', 'gauge', 'celsius', ['zone', 'type'], 'thermal.z[zone].t', 'Temperature of the thermal zone (/sys/class/thermal/thermal_zone*/temp).'),
  cdCur: def('perfwatch_thermal_cooling_device_cur_state', 'gauge', '', ['device', 'type'], 'thermal.cd[device].cur', 'Current throttle state of the cooling device (0 = none).'),
  cdMax: def('perfwatch_thermal_cooling_device_max_state', 'gauge', '', ['device', 'type'], 'thermal.cd[device].max', 'Highest throttle state of the cooling device.'),
  freqCur: def('perfwatch_cpufreq_frequency_hertz', 'gauge', 'hertz', ['cpu'], 'cpufreq[cpu].cur', 'Current CPU frequency as the hardware reports it (cpuinfo_cur_freq; readable by root only).'),
  freqMin: def('perfwatch_cpufreq_frequency_min_hertz', 'gauge', 'hertz', ['cpu'], 'cpufreq[cpu].min', 'Lowest frequency the CPU supports (cpuinfo_min_freq).'),
  freqMax: def('perfwatch_cpufreq_frequency_max_hertz', 'gauge', 'hertz', ['cpu'], 'cpufreq[cpu].max', 'Highest frequency the CPU supports (cpuinfo_max_freq).'),
  scalingCur: def('perfwatch_cpufreq_scaling_frequency_hertz', 'gauge', 'hertz', ['cpu'], 'cpufreq[cpu].scur', 'Current frequency as the cpufreq driver sees it (scaling_cur_freq).'),
  scalingMin: def('perfwatch_cpufreq_scaling_frequency_min_hertz', 'gauge', 'hertz', ['cpu'], 'cpufreq[cpu].smin', 'Lowest frequency the governor may choose (scaling_min_freq).'),
  scalingMax: def('perfwatch_cpufreq_scaling_frequency_max_hertz', 'gauge', 'hertz', ['cpu'], 'cpufreq[cpu].smax', 'Highest frequency the governor may choose (scaling_max_freq).'),
  governor: def('perfwatch_cpufreq_scaling_governor_info', 'gauge', '', ['cpu', 'governor'], 'cpufreq[cpu].gov', 'Always 1: the scaling governor of each CPU (scaling_governor).'),
  raplEnergy: def('perfwatch_rapl_energy_joules_total', 'counter', 'joules', ['zone', 'name'], 'rapl[zone].j', 'Energy counter of the RAPL zone (powercap energy_uj; wraps at perfwatch_rapl_max_energy_range_joules; root only on kernels since 5.10).'),
  raplMax: def('perfwatch_rapl_max_energy_range_joules', 'gauge', 'joules', ['zone', 'name'], 'rapl[zone].max', 'Where the RAPL zone energy counter wraps to 0 (max_energy_range_uj).'),
  softnet: SOFTNET_FIELDS.map((f, i) =>
    f === 'backlog_len'
      ? def('perfwatch_softnet_backlog_len', 'gauge', '', ['cpu'], `softnet[cpu][${i}]`, 'Packets in the CPU\'s input backlog queue (/proc/net/softnet_stat, Linux 5.10+).')
      : def(
          `perfwatch_softnet_${f === 'time_squeeze' ? 'times_squeezed' : f}_total`, 'counter', '', ['cpu'], `softnet[cpu][${i}]`,
          {
            processed: 'Packets processed by the CPU\'s network receive softirq',
            dropped: 'Packets dropped because the CPU\'s backlog queue was full',
            time_squeeze: 'Times the receive softirq ran out of budget or time with work left',
            cpu_collision: 'Times the transmit lock was contended (always 0 since Linux 4.x)',
            received_rps: 'Times the CPU was woken by an inter-processor interrupt to process packets (RPS)',
            flow_limit_count: 'Packets dropped by the flow limit',
          }[f] + ' (/proc/net/softnet_stat).',
        ),
  ),
  sched: SCHEDSTAT_FIELDS.map((f, i) =>
    def(
      `perfwatch_schedstat_${f}_total`, 'counter', f === 'timeslices' ? '' : 'seconds', ['cpu'], `sched[cpu][${i}]`,
      { running_seconds: 'Time the CPU spent running tasks', waiting_seconds: 'Time tasks spent waiting to run on the CPU', timeslices: 'Timeslices run on the CPU' }[f] + ' (/proc/schedstat).',
    ),
  ),
  ctEntries: def('perfwatch_conntrack_entries', 'gauge', '', [], 'ct.n', 'Connection tracking entries now (nf_conntrack_count).'),
  ctLimit: def('perfwatch_conntrack_entries_limit', 'gauge', '', [], 'ct.max', 'Most connection tracking entries the table may hold (nf_conntrack_max).'),
  ctStats: (['found', 'invalid', 'ignore', 'insert', 'insert_failed', 'drop', 'early_drop', 'search_restart'] as const).map((k) => ({
    k,
    m: def(`perfwatch_conntrack_stat_${k}_total`, 'counter', '', [], `ct.st.${k}`, `Connection tracking ${k.replace('_', ' ')} events, summed over CPUs (/proc/net/stat/nf_conntrack).`),
  })),
  // node_exporter's are *_bits; bytes here, the base unit promtool's lint asks for (256 bits = 32 bytes)
  entropyAvail: def('perfwatch_entropy_available_bytes', 'gauge', 'bytes', [], 'entropy.avail', 'Entropy the kernel estimates its random pool holds (entropy_avail, which counts bits, / 8).'),
  entropyPool: def('perfwatch_entropy_pool_size_bytes', 'gauge', 'bytes', [], 'entropy.pool', 'Size of the kernel\'s random pool (poolsize, which counts bits, / 8).'),
  clockAvail: def('perfwatch_time_clocksource_available_info', 'gauge', '', ['device', 'clocksource'], 'clock.avail[]', 'Always 1: each clocksource the kernel can use (available_clocksource).'),
  clockCur: def('perfwatch_time_clocksource_current_info', 'gauge', '', ['device', 'clocksource'], 'clock.cur', 'Always 1: the clocksource the kernel uses (current_clocksource).'),
  netInfo: def('perfwatch_netclass_info', 'gauge', '', ['device', 'operstate', 'address', 'duplex'], 'ncls[device]', 'Always 1: operational state, hardware address and duplex of the interface (/sys/class/net).'),
  netUp: def('perfwatch_netclass_up', 'gauge', '', ['device'], 'ncls[device].op', '1 when the interface\'s operstate is up.'),
  netCarrier: def('perfwatch_netclass_carrier', 'gauge', '', ['device'], 'ncls[device].carrier', '1 when the interface has a physical link (carrier); absent while it is administratively down.'),
  netSpeed: def('perfwatch_netclass_speed_bytes', 'gauge', 'bytes', ['device'], 'ncls[device].speed', 'Link speed in bytes per second (speed, which the kernel prints in Mbit/s); absent while the link is down.'),
  netMtu: def('perfwatch_netclass_mtu_bytes', 'gauge', 'bytes', ['device'], 'ncls[device].mtu', 'MTU of the interface.'),
  netCarrierChanges: def('perfwatch_netclass_carrier_changes_total', 'counter', '', ['device'], 'ncls[device].cc', 'Times the link went up or down (carrier_changes).'),
  udpQueue: def('perfwatch_udp_queue_bytes', 'gauge', 'bytes', ['ip', 'queue'], 'udpq[ip][0..1]', 'Bytes queued in UDP sockets, summed (/proc/net/udp and udp6 tx_queue, rx_queue).'),
  arp: def('perfwatch_arp_entries', 'gauge', '', ['device'], 'arp[device]', 'Neighbour (ARP) entries per interface (/proc/net/arp).'),
  osInfo: def('perfwatch_os_info', 'gauge', '', ['name', 'id', 'id_like', 'pretty_name', 'version', 'version_id', 'version_codename', 'variant_id', 'build_id'], 'os', 'Always 1: the operating system as /etc/os-release names it.'),
  osVersion: def('perfwatch_os_version', 'gauge', '', ['id', 'id_like', 'name'], 'os.VERSION_ID', 'VERSION_ID of /etc/os-release as a number (absent when it is not one).'),
  uname: def('perfwatch_uname_info', 'gauge', '', ['sysname', 'release', 'version', 'machine', 'nodename', 'domainname'], 'uname', 'Always 1: what uname(2) reports, read from /proc/sys/kernel.'),
  tfError: def('perfwatch_textfile_scrape_error', 'gauge', '', [], 'tf.err', '1 when a file of PERFWATCH_TEXTFILE_DIR (or the directory) could not be used; its families are left out.'),
  tfMtime: def('perfwatch_textfile_mtime_seconds', 'gauge', 'seconds', ['file'], 'tf.files[file].mt', 'Modification time of each *.prom file of PERFWATCH_TEXTFILE_DIR, seconds since the Unix epoch.'),
};

const VERSION_NUMBER = /^\d+(\.\d+)?$/;

const D = {
  edacCe: def('perfwatch_edac_correctable_errors_total', 'counter', '', ['controller'], 'edac[controller].ce', 'Corrected memory errors of the memory controller (EDAC ce_count).'),
  edacUe: def('perfwatch_edac_uncorrectable_errors_total', 'counter', '', ['controller'], 'edac[controller].ue', 'Uncorrected memory errors of the memory controller (EDAC ue_count).'),
  edacRowCe: def('perfwatch_edac_csrow_correctable_errors_total', 'counter', '', ['controller', 'csrow'], 'edac[controller].rows[csrow][0]', 'Corrected memory errors per chip-select row; csrow "unknown": those the driver could not place.'),
  edacRowUe: def('perfwatch_edac_csrow_uncorrectable_errors_total', 'counter', '', ['controller', 'csrow'], 'edac[controller].rows[csrow][1]', 'Uncorrected memory errors per chip-select row; csrow "unknown": those the driver could not place.'),
  nvme: def('perfwatch_nvme_info', 'gauge', '', ['device', 'model', 'serial', 'firmware_revision', 'state'], 'nvme[device]', 'Always 1: model, serial, firmware revision and state of each NVMe controller (/sys/class/nvme).'),
  dmi: def('perfwatch_dmi_info', 'gauge', '', DMI_LABELS, 'dmi', 'Always 1: the machine\'s DMI/SMBIOS identity (/sys/class/dmi/id; serials and the UUID only as root).'),
  psuInfo: def('perfwatch_power_supply_info', 'gauge', '', ['power_supply', 'type', 'status', 'model_name', 'manufacturer', 'technology', 'capacity_level'], 'psu[power_supply]', 'Always 1: type and state of each power supply (/sys/class/power_supply).'),
  psu: PSU_VALUES.map(([attr, name, type, unit, help]) => ({ attr, m: def(`perfwatch_power_supply_${name}`, type, unit, ['power_supply'], `psu[power_supply].v.${attr}`, `${help} (power_supply ${attr}).`) })),
  bondSlaves: def('perfwatch_bonding_slaves', 'gauge', '', ['master'], 'bond[master][0]', 'Slave interfaces of the bond.'),
  bondActive: def('perfwatch_bonding_active_slaves', 'gauge', '', ['master'], 'bond[master][1]', 'Slave interfaces of the bond whose link (MII status) is up.'),
  mdState: def('perfwatch_md_state', 'gauge', '', ['device', 'state'], 'md[device].st', '1 for the state the md array is in (active, inactive, recovering, resync, check), 0 for the others.'),
  mdInfo: def('perfwatch_md_info', 'gauge', '', ['device', 'level'], 'md[device].lvl', 'Always 1: the RAID level of each active md array.'),
  mdDisks: def('perfwatch_md_disks', 'gauge', '', ['device', 'state'], 'md[device].dk', 'Member devices of the md array that are active, failed or spare (/proc/mdstat).'),
  mdRequired: def('perfwatch_md_disks_required', 'gauge', '', ['device'], 'md[device].req', 'Member devices the md array needs to be complete (n of [n/m]).'),
  mdSize: def('perfwatch_md_size_bytes', 'gauge', 'bytes', ['device'], 'md[device].size', 'Size of the md array.'),
  mdSynced: def('perfwatch_md_synced_bytes', 'gauge', 'bytes', ['device'], 'md[device].done', 'How far the running recovery, resync, check or reshape has got; its size while none runs.'),
};
const MD_STATES = ['active', 'inactive', 'recovering', 'resync', 'check'] as const;

// ---- nfs, nfsd: /proc/net/rpc/{nfs,nfsd} lines as parsed (snapshot-host.ts RpcSection) --------

/** NFSv2 and NFSv3 procedures in the order the kernel counts them (RFC 1094, RFC 1813). */
const NFS_PROCS: Record<string, readonly string[]> = {
  2: ['null', 'getattr', 'setattr', 'root', 'lookup', 'readlink', 'read', 'wrcache', 'write', 'create', 'remove', 'rename', 'link', 'symlink', 'mkdir', 'rmdir', 'readdir', 'fsstat'],
  3: ['null', 'getattr', 'setattr', 'lookup', 'access', 'readlink', 'read', 'write', 'create', 'mkdir', 'symlink', 'mknod', 'remove', 'rmdir', 'rename', 'link', 'readdir', 'readdirplus', 'fsstat', 'fsinfo', 'pathconf', 'commit'],
};

/** The NFSv4 client's procedures (fs/nfs/nfs4xdr.c nfs4_procedures), as prometheus/procfs names them. */
const NFS4_CLIENT_PROCS = [
  'null', 'read', 'write', 'commit', 'open', 'open_confirm', 'open_noattr', 'open_downgrade', 'close', 'setattr', 'fsinfo', 'renew',
  'setclientid', 'setclientid_confirm', 'lock', 'lockt', 'locku', 'access', 'getattr', 'lookup', 'lookup_root', 'remove', 'rename',
  'link', 'symlink', 'create', 'pathconf', 'statfs', 'readlink', 'readdir', 'server_caps', 'delegreturn', 'getacl', 'setacl',
  'fs_locations', 'release_lockowner', 'secinfo', 'fsid_present', 'exchange_id', 'create_session', 'destroy_session', 'sequence',
  'get_lease_time', 'reclaim_complete', 'layoutget', 'getdeviceinfo', 'layoutcommit', 'layoutreturn', 'secinfo_no_name',
  'test_stateid', 'free_stateid', 'getdevicelist', 'bind_conn_to_session', 'destroy_clientid', 'seek', 'allocate', 'deallocate',
  'layoutstats', 'clone',
] as const;

/** NFSv4 operations by number (RFC 8881 section 18, RFC 7862, RFC 8276); 0-2 are unused. */
const NFS4_OPS = [
  '', '', '', 'access', 'close', 'commit', 'create', 'delegpurge', 'delegreturn', 'getattr', 'getfh', 'link', 'lock', 'lockt',
  'locku', 'lookup', 'lookupp', 'nverify', 'open', 'openattr', 'open_confirm', 'open_downgrade', 'putfh', 'putpubfh', 'putrootfh',
  'read', 'readdir', 'readlink', 'remove', 'rename', 'renew', 'restorefh', 'savefh', 'secinfo', 'setattr', 'setclientid',
  'setclientid_confirm', 'verify', 'write', 'release_lockowner', 'backchannel_ctl', 'bind_conn_to_session', 'exchange_id',
  'create_session', 'destroy_session', 'free_stateid', 'get_dir_delegation', 'getdeviceinfo', 'getdevicelist', 'layoutcommit',
  'layoutget', 'layoutreturn', 'secinfo_no_name', 'sequence', 'set_ssv', 'test_stateid', 'want_delegation', 'destroy_clientid',
  'reclaim_complete', 'allocate', 'copy', 'copy_notify', 'deallocate', 'io_advise', 'layouterror', 'layoutstats', 'offload_cancel',
  'offload_status', 'read_plus', 'seek', 'write_same', 'clone', 'getxattr', 'setxattr', 'listxattrs', 'removexattr',
] as const;

const NFS = {
  packets: def('perfwatch_nfs_packets_total', 'counter', '', ['protocol'], 'nfs.net[1..2]', 'Network packets the NFS client sent, by transport (/proc/net/rpc/nfs net).'),
  connections: def('perfwatch_nfs_connections_total', 'counter', '', [], 'nfs.net[3]', 'TCP connections the NFS client made.'),
  rpcs: def('perfwatch_nfs_rpcs_total', 'counter', '', [], 'nfs.rpc[0]', 'RPC calls the NFS client made.'),
  retrans: def('perfwatch_nfs_rpc_retransmissions_total', 'counter', '', [], 'nfs.rpc[1]', 'RPC calls the NFS client had to retransmit.'),
  authRefresh: def('perfwatch_nfs_rpc_authentication_refreshes_total', 'counter', '', [], 'nfs.rpc[2]', 'RPC credential refreshes of the NFS client.'),
  requests: def('perfwatch_nfs_requests_total', 'counter', '', ['version', 'method'], 'nfs.proc<version>[i]', 'NFS procedures the client called, by NFS version and procedure.'),
};
const NFSD = {
  rcHits: def('perfwatch_nfsd_reply_cache_hits_total', 'counter', '', [], 'nfsd.rc[0]', 'NFS server reply cache hits (retransmitted requests answered from the cache).'),
  rcMisses: def('perfwatch_nfsd_reply_cache_misses_total', 'counter', '', [], 'nfsd.rc[1]', 'NFS server reply cache misses.'),
  rcNocache: def('perfwatch_nfsd_reply_cache_nocache_total', 'counter', '', [], 'nfsd.rc[2]', 'NFS server requests that bypass the reply cache.'),
  stale: def('perfwatch_nfsd_file_handles_stale_total', 'counter', '', [], 'nfsd.fh[0]', 'Stale file handles the NFS server answered.'),
  read: def('perfwatch_nfsd_disk_read_bytes_total', 'counter', 'bytes', [], 'nfsd.io[0]', 'Bytes the NFS server read from disk for clients.'),
  written: def('perfwatch_nfsd_disk_written_bytes_total', 'counter', 'bytes', [], 'nfsd.io[1]', 'Bytes the NFS server wrote to disk for clients.'),
  threads: def('perfwatch_nfsd_threads', 'gauge', '', [], 'nfsd.th[0]', 'NFS server threads.'),
  packets: def('perfwatch_nfsd_packets_total', 'counter', '', ['protocol'], 'nfsd.net[1..2]', 'Network packets the NFS server received, by transport (/proc/net/rpc/nfsd net).'),
  connections: def('perfwatch_nfsd_connections_total', 'counter', '', [], 'nfsd.net[3]', 'TCP connections the NFS server accepted.'),
  rpcs: def('perfwatch_nfsd_rpcs_total', 'counter', '', [], 'nfsd.rpc[0]', 'RPC calls the NFS server received.'),
  rpcErrors: def('perfwatch_nfsd_rpc_errors_total', 'counter', '', ['error'], 'nfsd.rpc[2..4]', 'RPC calls the NFS server rejected: bad format, bad authentication, or a client not allowed.'),
  requests: def('perfwatch_nfsd_requests_total', 'counter', '', ['version', 'method'], 'nfsd.proc<version>[i], nfsd.proc4ops[op]', 'NFS procedures the server answered, by NFS version and procedure (NFSv4: the compound\'s operations).'),
};

function procName(version: string, i: number): string {
  const table = version === '4' ? NFS4_CLIENT_PROCS : NFS_PROCS[version];
  return table?.[i] ?? `proc${i}`;
}

function walkRpc(st: Record<string, (number | SampleValue)[] | undefined>, server: boolean, add: Add, L: MakeLabels): void {
  const m = server ? NFSD : NFS;
  const net = st.net;
  if (net) {
    add(m.packets, net[1], L('protocol', 'udp'));
    add(m.packets, net[2], L('protocol', 'tcp'));
    add(m.connections, net[3]);
  }
  const rpc = st.rpc;
  if (server) {
    add(NFSD.rcHits, st.rc?.[0]);
    add(NFSD.rcMisses, st.rc?.[1]);
    add(NFSD.rcNocache, st.rc?.[2]);
    add(NFSD.stale, st.fh?.[0]);
    add(NFSD.read, st.io?.[0]);
    add(NFSD.written, st.io?.[1]);
    add(NFSD.threads, st.th?.[0]);
    add(NFSD.rpcs, rpc?.[0]);
    if (rpc) (['format', 'auth', 'client'] as const).forEach((e, i) => add(NFSD.rpcErrors, rpc[2 + i], L('error', e)));
  } else {
    add(NFS.rpcs, rpc?.[0]);
    add(NFS.retrans, rpc?.[1]);
    add(NFS.authRefresh, rpc?.[2]);
  }
  for (const version of ['2', '3', '4']) {
    const procs = st[`proc${version}`];
    if (!procs) continue;
    // the server's proc4 counts only null and compound; its operations are proc4ops
    procs.forEach((v, i) => add(m.requests, v, L('version', version, 'method', server && version === '4' ? (['null', 'compound'][i] ?? `proc${i}`) : procName(version, i))));
  }
  if (server && st.proc4ops) st.proc4ops.forEach((v, op) => NFS4_OPS[op] !== '' && add(m.requests, v, L('version', '4', 'method', NFS4_OPS[op] ?? `op${op}`)));
}

// ---- xfs: /sys/fs/xfs/<device>/stats/stats lines (snapshot-host.ts xfs) --------------------------

/** line -> the metric of each position: [name after perfwatch_xfs_, help]; a gauge where marked. */
const XFS_LINES: Record<string, [string, string, 'gauge'?][]> = {
  extent_alloc: [['extent_allocation_extents_allocated', 'Extents allocated'], ['extent_allocation_blocks_allocated', 'Blocks allocated in extents'], ['extent_allocation_extents_freed', 'Extents freed'], ['extent_allocation_blocks_freed', 'Blocks freed in extents']],
  abt: [['allocation_btree_lookups', 'Free-space btree lookups'], ['allocation_btree_compares', 'Free-space btree compares'], ['allocation_btree_records_inserted', 'Free-space btree records inserted'], ['allocation_btree_records_deleted', 'Free-space btree records deleted']],
  blk_map: [['block_mapping_reads', 'Block map read operations'], ['block_mapping_writes', 'Block map write operations'], ['block_mapping_unmaps', 'Block unmaps (deletes)'], ['block_mapping_extent_list_insertions', 'Extent list insertions'], ['block_mapping_extent_list_deletions', 'Extent list deletions'], ['block_mapping_extent_list_lookups', 'Extent list lookups'], ['block_mapping_extent_list_compares', 'Extent list compares']],
  bmbt: [['block_map_btree_lookups', 'Block map btree lookups'], ['block_map_btree_compares', 'Block map btree compares'], ['block_map_btree_records_inserted', 'Block map btree records inserted'], ['block_map_btree_records_deleted', 'Block map btree records deleted']],
  // node_exporter's names, singular as its are
  dir: [['directory_operation_lookup', 'Directory lookups'], ['directory_operation_create', 'Directory entries created'], ['directory_operation_remove', 'Directory entries removed'], ['directory_operation_getdents', 'getdents calls']],
  ig: [['inode_operation_attempts', 'Inode cache lookups'], ['inode_operation_found', 'Inode cache hits'], ['inode_operation_recycled', 'Inodes found in the cache while being reclaimed'], ['inode_operation_missed', 'Inode cache misses'], ['inode_operation_duplicates', 'Inodes inserted into the cache twice'], ['inode_operation_reclaims', 'Inodes reclaimed from the cache'], ['inode_operation_attribute_changes', 'Inode attribute changes']],
  log: [['log_operation_writes', 'Log buffer writes'], ['log_operation_blocks', 'Log blocks written'], ['log_operation_noiclogs', 'Times no in-core log buffer was free'], ['log_operation_force', 'Log forces'], ['log_operation_force_sleeps', 'Log forces that had to wait']],
  rw: [['write_calls', 'write(2) and similar calls'], ['read_calls', 'read(2) and similar calls']],
  attr: [['inode_attribute_gets', 'Extended attribute gets'], ['inode_attribute_sets', 'Extended attribute sets'], ['inode_attribute_removes', 'Extended attribute removes'], ['inode_attribute_lists', 'Extended attribute lists']],
  vnodes: [['vnode_active', 'Inodes in use', 'gauge'], ['vnode_allocate', 'Inodes allocated'], ['vnode_get', 'Inode gets'], ['vnode_hold', 'Inode holds'], ['vnode_release', 'Inode releases'], ['vnode_reclaim', 'Inodes reclaimed'], ['vnode_remove', 'Inodes removed']],
  xpc: [['xstrat_bytes', 'Bytes written by xstrat (delayed allocation)'], ['written_bytes', 'Bytes written'], ['read_bytes', 'Bytes read']],
};
const XFS: [string, MetricInfo[]][] = Object.entries(XFS_LINES).map(([line, cols]) => [
  line,
  cols.map(([name, help, gauge], i) => {
    const bytes = line === 'xpc';
    const full = gauge ? `perfwatch_xfs_${name}` : `perfwatch_xfs_${name}_total`;
    return def(full, gauge ?? 'counter', bytes ? 'bytes' : '', ['device'], `xfs[device].${line}[${i}]`, `${help} (XFS ${line}).`);
  }),
]);

// ---- btrfs, zfs --------------------------------------------------------------------------------

const BTRFS_GROUP_FIELDS = [
  ['size_bytes', 'Space allocated to the block group type (total_bytes)'],
  ['used_bytes', 'Space used in the block group type (bytes_used)'],
  ['reserved_bytes', 'Space reserved in the block group type (bytes_reserved)'],
  ['disk_size_bytes', 'Raw disk space allocated to the block group type, every RAID copy counted (disk_total)'],
  ['disk_used_bytes', 'Raw disk space used by the block group type, every RAID copy counted (disk_used)'],
] as const;
const BTRFS = {
  info: def('perfwatch_btrfs_info', 'gauge', '', ['uuid', 'label'], 'btrfs[uuid].label', 'Always 1: each mounted btrfs filesystem and its label (/sys/fs/btrfs).'),
  rsv: def('perfwatch_btrfs_global_rsv_size_bytes', 'gauge', 'bytes', ['uuid'], 'btrfs[uuid].rsv', 'Size of the filesystem\'s global reserve.'),
  groups: BTRFS_GROUP_FIELDS.map(([name, help], i) => def(`perfwatch_btrfs_${name}`, 'gauge', 'bytes', ['uuid', 'block_group_type'], `btrfs[uuid].g[type][${i}]`, `${help}.`)),
  device: def('perfwatch_btrfs_device_size_bytes', 'gauge', 'bytes', ['uuid', 'device'], 'btrfs[uuid].dev[device]', 'Size of each member device of the filesystem.'),
};

const ZFS_STATES = ['online', 'degraded', 'faulted', 'offline', 'removed', 'unavail', 'suspended'] as const;
const ZFS_POOL = def('perfwatch_zfs_pool_state', 'gauge', '', ['pool', 'state'], 'zfs.pools[pool]', '1 for the state the ZFS pool is in (online, degraded, faulted, offline, removed, unavail, suspended), 0 for the others.');
const ZFS_PREFIX: Record<string, string> = { arcstats: 'arc', zfetchstats: 'zfetch', dmu_tx: 'dmu_tx', zil: 'zil', abdstats: 'abd' };

const generatedHost = new Map<string, MetricInfo>();
function zfsMetric(kstat: string, key: string): MetricInfo {
  const prefix = ZFS_PREFIX[kstat] ?? kstat;
  const base = key.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  // dmu_tx_assigned -> perfwatch_zfs_dmu_tx_assigned, not ..._dmu_tx_dmu_tx_assigned
  // a gauge may not end in _total (promtool, and the catalog's own rule)
  const name = `perfwatch_zfs_${base.startsWith(`${prefix}_`) ? base : `${prefix}_${base}`}`.replace(/_total$/, '_sum');
  let m = generatedHost.get(name);
  if (!m) {
    m = Object.freeze({ name, type: 'gauge', unit: '', labels: Object.freeze([]), path: `zfs.k.${kstat}[${JSON.stringify(key)}]`, help: `OpenZFS kstat ${kstat} ${key} (/proc/spl/kstat/zfs/${kstat}).` }) as MetricInfo;
    if (generatedHost.size < 10_000) generatedHost.set(name, m);
  }
  return m;
}

// ---- textfile families: names from the files ---------------------------------------------------

const textfileInfo = new Map<string, MetricInfo>();
const textfileByName = new Map<string, MetricInfo>();
function textfileMetric(name: string, type: MetricInfo['type'], help: string, labels: readonly string[]): MetricInfo {
  const key = `${name}\u0000${type}\u0000${help}\u0000${labels.join(',')}`;
  let m = textfileInfo.get(key);
  if (!m) {
    m = Object.freeze({ name, type, unit: '', labels: Object.freeze([...labels]), path: `tf.fam[${JSON.stringify(name)}]`, help });
    if (textfileInfo.size < 10_000) {
      textfileInfo.set(key, m);
      if (!textfileByName.has(name)) textfileByName.set(name, m);
    }
  }
  return m;
}

/**
 * A family whose name comes from the data: a textfile family this process has seen (a history
 * query by name after the shapes were read), or an OpenZFS kstat (perfwatch_zfs_*: gauges, since a
 * kstat does not say whether it counts).
 */
export function hostMetricInfo(name: string): MetricInfo | undefined {
  const known = textfileByName.get(name) ?? generatedHost.get(name);
  if (known) return known;
  if (/^perfwatch_zfs_[a-z0-9_]+$/.test(name) && name !== 'perfwatch_zfs_pool_state') {
    return { name, type: 'gauge', unit: '', labels: [], path: 'zfs.k', help: '' };
  }
  return undefined;
}

// ---- the walk ----------------------------------------------------------------------------------

/** The samples of the host sections, after the core families (catalog.ts forEachSample). */
export function walkHost(s: HostSections, add: Add, L: MakeLabels): void {
  if (s.hwmon) {
    const chips = Object.entries(s.hwmon);
    for (const [chip, c] of chips) if (c.name !== undefined) add(HW.chip, 1, L('chip', chip, 'chip_name', c.name));
    for (const [chip, c] of chips) for (const [sensor, v] of Object.entries(c.s)) if (v.l !== undefined) add(HW.sensor, 1, L('chip', chip, 'sensor', sensor, 'label', v.l));
    for (const { type, attr, m } of HW.values) {
      for (const [chip, c] of chips) {
        for (const [sensor, v] of Object.entries(c.s)) if (sensorType(sensor) === type) add(m, v[attr], L('chip', chip, 'sensor', sensor));
      }
    }
    for (const [chip, c] of chips) for (const [sensor, v] of Object.entries(c.s)) if (sensorType(sensor) === 'energy') add(HW.energy, v.v, L('chip', chip, 'sensor', sensor));
    for (const [chip, c] of chips) for (const [sensor, v] of Object.entries(c.s)) add(HW.alarm, v.alarm, L('chip', chip, 'sensor', sensor));
  }
  if (s.thermal) {
    for (const [zone, z] of Object.entries(s.thermal.z ?? {})) add(T.zoneTemp, z.t, L('zone', zone, 'type', z.type));
    const cds = Object.entries(s.thermal.cd ?? {});
    for (const [d, c] of cds) add(T.cdCur, c.cur, L('device', d, 'type', c.type));
    for (const [d, c] of cds) add(T.cdMax, c.max, L('device', d, 'type', c.type));
  }
  if (s.cpufreq) {
    const cpus = Object.entries(s.cpufreq);
    for (const [m, k] of [[T.freqCur, 'cur'], [T.freqMin, 'min'], [T.freqMax, 'max'], [T.scalingCur, 'scur'], [T.scalingMin, 'smin'], [T.scalingMax, 'smax']] as const) {
      for (const [cpu, f] of cpus) add(m, f[k], L('cpu', cpu));
    }
    for (const [cpu, f] of cpus) if (f.gov !== undefined) add(T.governor, 1, L('cpu', cpu, 'governor', f.gov));
  }
  if (s.rapl) {
    const zones = Object.entries(s.rapl);
    for (const [zone, z] of zones) add(T.raplEnergy, z.j, L('zone', zone, 'name', z.n));
    for (const [zone, z] of zones) add(T.raplMax, z.max, L('zone', zone, 'name', z.n));
  }
  if (s.softnet) {
    const cpus = Object.entries(s.softnet);
    T.softnet.forEach((m, i) => {
      for (const [cpu, v] of cpus) add(m, v[i], L('cpu', cpu));
    });
  }
  if (s.sched) {
    const cpus = Object.entries(s.sched);
    T.sched.forEach((m, i) => {
      for (const [cpu, v] of cpus) add(m, v[i], L('cpu', cpu));
    });
  }
  if (s.ct) {
    add(T.ctEntries, s.ct.n);
    add(T.ctLimit, s.ct.max);
    for (const { k, m } of T.ctStats) add(m, s.ct.st?.[k]);
  }
  if (s.entropy) {
    add(T.entropyAvail, s.entropy.avail);
    add(T.entropyPool, s.entropy.pool);
  }
  if (s.tx) {
    TIMEX.forEach((m, i) => add(m, s.tx!.v[i]));
    add(TIME_NOW, s.tx.now);
    add(TIME_ZONE, s.tx.tzoff, L('time_zone', s.tx.tz));
  }
  if (s.clock) {
    for (const c of s.clock.avail) add(T.clockAvail, 1, L('device', '0', 'clocksource', c));
    add(T.clockCur, 1, L('device', '0', 'clocksource', s.clock.cur));
  }
  if (s.ncls) {
    const ifaces = Object.entries(s.ncls);
    for (const [d, n] of ifaces) add(T.netInfo, 1, L('device', d, 'operstate', n.op, 'address', n.addr ?? '', 'duplex', n.dup ?? ''));
    for (const [d, n] of ifaces) add(T.netUp, n.op === 'up' ? 1 : 0, L('device', d));
    for (const [d, n] of ifaces) add(T.netCarrier, n.carrier, L('device', d));
    for (const [d, n] of ifaces) add(T.netSpeed, n.speed, L('device', d));
    for (const [d, n] of ifaces) add(T.netMtu, n.mtu, L('device', d));
    for (const [d, n] of ifaces) add(T.netCarrierChanges, n.cc, L('device', d));
  }
  if (s.udpq) {
    for (const ip of ['v4', 'v6'] as const) {
      const q = s.udpq[ip];
      if (!q) continue;
      add(T.udpQueue, q[0], L('ip', ip, 'queue', 'tx'));
      add(T.udpQueue, q[1], L('ip', ip, 'queue', 'rx'));
    }
  }
  if (s.arp) for (const [d, n] of Object.entries(s.arp)) add(T.arp, n, L('device', d));
  if (s.os) {
    const o = s.os;
    const f = (k: string) => o[k] ?? '';
    add(T.osInfo, 1, L('name', f('NAME'), 'id', f('ID'), 'id_like', f('ID_LIKE'), 'pretty_name', f('PRETTY_NAME'), 'version', f('VERSION'), 'version_id', f('VERSION_ID'), 'version_codename', f('VERSION_CODENAME'), 'variant_id', f('VARIANT_ID'), 'build_id', f('BUILD_ID')));
    const v = o.VERSION_ID;
    if (v !== undefined && VERSION_NUMBER.test(v)) add(T.osVersion, Number(v), L('id', f('ID'), 'id_like', f('ID_LIKE'), 'name', f('NAME')));
  }
  if (s.uname) {
    const u = s.uname;
    add(T.uname, 1, L('sysname', u.sys, 'release', u.rel, 'version', u.ver, 'machine', u.mach, 'nodename', u.node, 'domainname', u.dom));
  }
  if (s.edac) {
    const mcs = Object.entries(s.edac);
    for (const [c, e] of mcs) add(D.edacCe, e.ce, L('controller', c));
    for (const [c, e] of mcs) add(D.edacUe, e.ue, L('controller', c));
    for (const [c, e] of mcs) for (const [row, v] of Object.entries(e.rows)) add(D.edacRowCe, v[0], L('controller', c, 'csrow', row));
    for (const [c, e] of mcs) for (const [row, v] of Object.entries(e.rows)) add(D.edacRowUe, v[1], L('controller', c, 'csrow', row));
  }
  if (s.nvme) {
    for (const [d, n] of Object.entries(s.nvme)) add(D.nvme, 1, L('device', d, 'model', n.model ?? '', 'serial', n.serial ?? '', 'firmware_revision', n.fw ?? '', 'state', n.state ?? ''));
  }
  if (s.dmi) {
    const dmi = s.dmi;
    add(D.dmi, 1, L(...DMI_FIELDS.flatMap((f, i) => [DMI_LABELS[i]!, dmi[f] ?? ''])));
  }
  if (s.psu) {
    const ps = Object.entries(s.psu);
    for (const [n, p] of ps) {
      const i = (k: string) => p.info[k] ?? '';
      add(D.psuInfo, 1, L('power_supply', n, 'type', p.type, 'status', i('status'), 'model_name', i('model_name'), 'manufacturer', i('manufacturer'), 'technology', i('technology'), 'capacity_level', i('capacity_level')));
    }
    for (const { attr, m } of D.psu) for (const [n, p] of ps) add(m, p.v[attr], L('power_supply', n));
  }
  if (s.bond) {
    const bonds = Object.entries(s.bond);
    for (const [b, v] of bonds) add(D.bondSlaves, v[0], L('master', b));
    for (const [b, v] of bonds) add(D.bondActive, v[1], L('master', b));
  }
  if (s.md) {
    const arrays = Object.entries(s.md);
    for (const [d, a] of arrays) {
      const now = a.st === 'inactive' ? 'inactive' : a.act === 'recovery' ? 'recovering' : a.act === 'resync' || a.act === 'check' ? a.act : 'active';
      for (const st of MD_STATES) add(D.mdState, st === now ? 1 : 0, L('device', d, 'state', st));
    }
    for (const [d, a] of arrays) if (a.lvl !== undefined) add(D.mdInfo, 1, L('device', d, 'level', a.lvl));
    for (const [d, a] of arrays) (['active', 'failed', 'spare'] as const).forEach((st, i) => add(D.mdDisks, a.dk[i], L('device', d, 'state', st)));
    for (const [d, a] of arrays) add(D.mdRequired, a.req, L('device', d));
    for (const [d, a] of arrays) add(D.mdSize, a.size, L('device', d));
    for (const [d, a] of arrays) add(D.mdSynced, a.done ?? a.size, L('device', d));
  }
  if (s.nfs) walkRpc(s.nfs, false, add, L);
  if (s.nfsd) walkRpc(s.nfsd, true, add, L);
  if (s.xfs) {
    const devs = Object.entries(s.xfs);
    for (const [line, ms] of XFS) ms.forEach((m, i) => {
      for (const [d, st] of devs) add(m, st[line]?.[i], L('device', d));
    });
  }
  if (s.btrfs) {
    const fss = Object.entries(s.btrfs);
    for (const [u, f] of fss) add(BTRFS.info, 1, L('uuid', u, 'label', f.label));
    for (const [u, f] of fss) add(BTRFS.rsv, f.rsv, L('uuid', u));
    BTRFS.groups.forEach((m, i) => {
      for (const [u, f] of fss) for (const [g, v] of Object.entries(f.g)) add(m, v[i], L('uuid', u, 'block_group_type', g));
    });
    for (const [u, f] of fss) for (const [d, size] of Object.entries(f.dev)) add(BTRFS.device, size, L('uuid', u, 'device', d));
  }
  if (s.zfs) {
    for (const [pool, state] of Object.entries(s.zfs.pools)) for (const st of ZFS_STATES) add(ZFS_POOL, state.toLowerCase() === st ? 1 : 0, L('pool', pool, 'state', st));
    for (const [kstat, kv] of Object.entries(s.zfs.k)) for (const [key, v] of Object.entries(kv)) add(zfsMetric(kstat, key), v);
  }
  if (s.tf) {
    add(T.tfError, s.tf.err);
    for (const [file, f] of Object.entries(s.tf.files)) add(T.tfMtime, f.mt, L('file', file));
    for (const fam of s.tf.fam) {
      const m = textfileMetric(fam.n, fam.t, fam.h, fam.l);
      for (const [values, v] of fam.s) {
        const kv: string[] = [];
        fam.l.forEach((name, i) => kv.push(name, values[i] ?? ''));
        add(m, v as SampleValue, L(...kv));
      }
    }
  }
}
