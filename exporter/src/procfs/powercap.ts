// /sys/class/powercap/intel-rapl:<n>[:<m>]: RAPL (Running Average Power Limit) zones, each with a
// `name` (package-0, core, uncore, dram, psys), `energy_uj` (microjoules, wrapping at
// `max_energy_range_uj`). AMD CPUs expose the same interface under intel-rapl since Linux 5.8.
// https://www.kernel.org/doc/html/latest/power/powercap/powercap.html
// energy_uj is readable by root only since Linux 5.10 (CVE-2020-8694): then its value is absent.
import { join } from 'node:path';
import { listDir, parseSysfsInteger, parseSysfsString, readAttr } from './sysfs.js';

export interface RaplZone {
  zone: string;
  name: string;
  /** joules */
  energy?: number;
  maxEnergy?: number;
}

/** Every RAPL zone and subzone; ENOENT when the kernel has no powercap class. */
export function readRapl(sysRoot: string): RaplZone[] {
  const base = join(sysRoot, 'class/powercap');
  const out: RaplZone[] = [];
  for (const zone of listDir(base)) {
    // intel-rapl itself is the control type, not a zone; intel-rapl-mmio:0 duplicates package-0
    if (!/^intel-rapl(:\d+)+$/.test(zone)) continue;
    const name = readAttr(join(base, zone, 'name'), parseSysfsString);
    if (name === undefined) continue;
    const z: RaplZone = { zone, name };
    const uj = readAttr(join(base, zone, 'energy_uj'), parseSysfsInteger);
    const max = readAttr(join(base, zone, 'max_energy_range_uj'), parseSysfsInteger);
    if (uj !== undefined) z.energy = uj / 1e6;
    if (max !== undefined) z.maxEnergy = max / 1e6;
    out.push(z);
  }
  return out;
}
