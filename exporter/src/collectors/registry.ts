import { ConfigError } from '../errors.js';
import { arp } from './arp.js';
import { btrfs } from './btrfs.js';
import { bonding } from './bonding.js';
import { cgroup } from './cgroup.js';
import { conntrack } from './conntrack.js';
import { cpu } from './cpu.js';
import { cpufreq } from './cpufreq.js';
import { diskstats } from './diskstats.js';
import { dmi } from './dmi.js';
import { edac } from './edac.js';
import { entropy } from './entropy.js';
import { filefd } from './filefd.js';
import { filesystem } from './filesystem.js';
import { hwmon } from './hwmon.js';
import { loadavg } from './loadavg.js';
import { mdadm } from './mdadm.js';
import { meminfo } from './meminfo.js';
import { netclass } from './netclass.js';
import { netdev } from './netdev.js';
import { nfs, nfsd } from './nfs.js';
import { nvme } from './nvme.js';
import { netstat } from './netstat.js';
import { os } from './os.js';
import { perf } from './perf.js';
import { powersupplyclass } from './powersupplyclass.js';
import { processes } from './processes.js';
import { pressure } from './pressure.js';
import { rapl } from './rapl.js';
import { schedstat } from './schedstat.js';
import { sockstat } from './sockstat.js';
import { softnet } from './softnet.js';
import { textfile } from './textfile.js';
import { thermal } from './thermal.js';
import { time } from './time.js';
import { timex } from './timex.js';
import type { CollectorDefinition } from './types.js';
import { udpQueues } from './udp_queues.js';
import { uname } from './uname.js';
import { uptime } from './uptime.js';
import { xfs } from './xfs.js';
import { zfs } from './zfs.js';
import { vmstat } from './vmstat.js';

/** Every collector, in the order their metrics appear on /metrics. */
export const COLLECTORS: readonly CollectorDefinition[] = [
  cpu, meminfo, loadavg, vmstat, uptime, diskstats, netdev, netstat, sockstat, filesystem, pressure, filefd, perf,
  // containers, systemd units and pods, top processes (store/src/snapshot-cgroup.ts)
  cgroup, processes,
  // node_exporter's hardware, kernel and textfile collectors (their sections: store/src/snapshot-host.ts)
  hwmon, thermal, cpufreq, rapl, edac, nvme, dmi, powersupplyclass, softnet, schedstat, conntrack, entropy, time, timex, netclass,
  bonding, udpQueues, arp, mdadm, nfs, nfsd, xfs, btrfs, zfs, os, uname, textfile,
];

/** The collectors PERFWATCH_COLLECTORS names, or the default set when it is unset. */
export function selectCollectors(
  names: string[] | undefined,
  all: readonly CollectorDefinition[] = COLLECTORS,
): CollectorDefinition[] {
  if (names === undefined) return all.filter((c) => c.defaultEnabled);
  const known = new Map(all.map((c) => [c.name, c]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new ConfigError(
      'PERFWATCH_COLLECTORS',
      `unknown collector ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${all.map((c) => c.name).join(', ')}`,
    );
  }
  // Keep registry order so the exposition is stable whatever order the list uses.
  return all.filter((c) => names.includes(c.name));
}
