import type { HwmonChip, HwmonSensor } from '@perfwatch/store/snapshot';
import { readHwmon } from '../procfs/hwmon.js';
import type { CollectorDefinition } from './types.js';

export const hwmon: CollectorDefinition = {
  name: 'hwmon',
  defaultEnabled: true,
  description: 'temperatures, fan speeds, voltages, currents, power and energy of hardware monitoring chips (/sys/class/hwmon)',
  create: () => ({
    collect(ctx) {
      const chips = ctx.optional('class/hwmon', () => readHwmon(ctx.config.sysRoot));
      if (!chips || chips.length === 0) return {};
      const out: Record<string, HwmonChip> = {};
      for (const c of chips) {
        const s: Record<string, HwmonSensor> = {};
        for (const [sensor, v] of c.sensors) {
          const e: HwmonSensor = {};
          if (v.label !== undefined) e.l = v.label;
          if (v.input !== undefined) e.v = v.input;
          if (v.min !== undefined) e.min = v.min;
          if (v.max !== undefined) e.max = v.max;
          if (v.crit !== undefined) e.crit = v.crit;
          if (v.alarm !== undefined) e.alarm = v.alarm;
          s[sensor] = e;
        }
        out[c.chip] = c.name === undefined ? { s } : { name: c.name, s };
      }
      return { hwmon: out };
    },
  }),
};
