// /sys/class/power_supply/<name>: batteries, mains adapters and UPSes
// (Documentation/ABI/testing/sysfs-class-power). Energy in µWh, charge in µAh, power in µW,
// voltage in µV, current in µA, capacity in percent, temp in tenths of a degree Celsius.
import { join } from 'node:path';
import { listDir, parseSysfsInteger, parseSysfsString, readAttr } from './sysfs.js';

export interface PowerSupply {
  name: string;
  type: string;
  /** status, model_name, manufacturer, technology, capacity_level, when the driver has them. */
  info: Record<string, string>;
  /** numeric attribute -> value in base units (see POWER_SUPPLY_SCALE). */
  values: Record<string, number>;
}

/** attribute -> multiplier to its base unit (joules, coulombs, watts, volts, amperes, ratio, celsius). */
export const POWER_SUPPLY_SCALE: Record<string, number> = {
  online: 1, present: 1, cycle_count: 1,
  capacity: 0.01,
  energy_now: 3.6e-3, energy_full: 3.6e-3, energy_full_design: 3.6e-3,
  charge_now: 3.6e-3, charge_full: 3.6e-3, charge_full_design: 3.6e-3,
  power_now: 1e-6, voltage_now: 1e-6, voltage_min_design: 1e-6, current_now: 1e-6,
  temp: 0.1,
};
const INFO = ['status', 'model_name', 'manufacturer', 'technology', 'capacity_level'];

/** Every power supply; ENOENT without the class (an empty class on servers and VMs). */
export function readPowerSupplies(sysRoot: string): PowerSupply[] {
  const base = join(sysRoot, 'class/power_supply');
  const out: PowerSupply[] = [];
  for (const name of listDir(base)) {
    const dir = join(base, name);
    const type = readAttr(join(dir, 'type'), parseSysfsString);
    if (type === undefined) continue;
    const ps: PowerSupply = { name, type, info: {}, values: {} };
    for (const f of INFO) {
      const v = readAttr(join(dir, f), parseSysfsString);
      if (v !== undefined) ps.info[f] = v;
    }
    for (const [f, scale] of Object.entries(POWER_SUPPLY_SCALE)) {
      const v = readAttr(join(dir, f), parseSysfsInteger);
      if (v !== undefined) ps.values[f] = v * scale;
    }
    out.push(ps);
  }
  return out;
}
