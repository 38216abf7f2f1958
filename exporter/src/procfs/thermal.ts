// /sys/class/thermal: thermal zones (thermal_zone<N>/{type,temp}, millidegree Celsius) and
// cooling devices (cooling_device<N>/{type,cur_state,max_state}).
// https://www.kernel.org/doc/html/latest/driver-api/thermal/sysfs-api.html
import { join } from 'node:path';
import { listDir, parseSysfsInteger, parseSysfsString, readAttr } from './sysfs.js';

export interface ThermalZone {
  zone: string;
  type: string;
  /** celsius */
  temp: number;
}

export interface CoolingDevice {
  device: string;
  type: string;
  cur?: number;
  max?: number;
}

export interface Thermal {
  zones: ThermalZone[];
  cooling: CoolingDevice[];
}

/** Zones and cooling devices; ENOENT when the kernel has no thermal class. A zone whose sensor
 *  cannot be read now (EAGAIN, ENODATA, EINVAL from its driver) is left out. */
export function readThermal(sysRoot: string): Thermal {
  const base = join(sysRoot, 'class/thermal');
  const out: Thermal = { zones: [], cooling: [] };
  for (const entry of listDir(base)) {
    const zone = /^thermal_zone(\d+)$/.exec(entry)?.[1];
    const cd = /^cooling_device(\d+)$/.exec(entry)?.[1];
    if (zone !== undefined) {
      const type = readAttr(join(base, entry, 'type'), parseSysfsString);
      const temp = readAttr(join(base, entry, 'temp'), parseSysfsInteger);
      if (type !== undefined && temp !== undefined) out.zones.push({ zone, type, temp: temp / 1000 });
    } else if (cd !== undefined) {
      const type = readAttr(join(base, entry, 'type'), parseSysfsString);
      if (type === undefined) continue;
      const d: CoolingDevice = { device: cd, type };
      const cur = readAttr(join(base, entry, 'cur_state'), parseSysfsInteger);
      const max = readAttr(join(base, entry, 'max_state'), parseSysfsInteger);
      if (cur !== undefined) d.cur = cur;
      if (max !== undefined) d.max = max;
      out.cooling.push(d);
    }
  }
  return out;
}
