// /sys/class/thermal: thermal zones (thermal_zone<N>/{type,temp}, millidegree Celsius) and
// cooling devices (cooling_device<N>/{type,cur_state,max_state}).
// https://www.kernel.org/doc/html/latest/driver-api/thermal/sysfs-api.html
// discoverThermal reads what does not move (types, max states); readThermalValues the temperatures
// and current states.
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

export interface ThermalPlan {
  zones: { zone: string; type: string; dir: string }[];
  cooling: { device: string; type: string; max?: number; dir: string }[];
}

/** Zones and cooling devices; ENOENT when the kernel has no thermal class. */
export function discoverThermal(sysRoot: string): ThermalPlan {
  const base = join(sysRoot, 'class/thermal');
  const plan: ThermalPlan = { zones: [], cooling: [] };
  for (const entry of listDir(base)) {
    const zone = /^thermal_zone(\d+)$/.exec(entry)?.[1];
    const cd = /^cooling_device(\d+)$/.exec(entry)?.[1];
    if (zone === undefined && cd === undefined) continue;
    const dir = join(base, entry);
    const type = readAttr(join(dir, 'type'), parseSysfsString);
    if (type === undefined) continue;
    if (zone !== undefined) plan.zones.push({ zone, type, dir });
    else {
      const max = readAttr(join(dir, 'max_state'), parseSysfsInteger);
      plan.cooling.push(max === undefined ? { device: cd!, type, dir } : { device: cd!, type, max, dir });
    }
  }
  return plan;
}

/** A zone whose sensor cannot be read now (EAGAIN, ENODATA, EINVAL from its driver) is left out. */
export function readThermalValues(plan: ThermalPlan): Thermal {
  const out: Thermal = { zones: [], cooling: [] };
  for (const z of plan.zones) {
    const temp = readAttr(join(z.dir, 'temp'), parseSysfsInteger);
    if (temp !== undefined) out.zones.push({ zone: z.zone, type: z.type, temp: temp / 1000 });
  }
  for (const c of plan.cooling) {
    const d: CoolingDevice = { device: c.device, type: c.type };
    const cur = readAttr(join(c.dir, 'cur_state'), parseSysfsInteger);
    if (cur !== undefined) d.cur = cur;
    if (c.max !== undefined) d.max = c.max;
    out.cooling.push(d);
  }
  return out;
}

export function readThermal(sysRoot: string): Thermal {
  return readThermalValues(discoverThermal(sysRoot));
}
