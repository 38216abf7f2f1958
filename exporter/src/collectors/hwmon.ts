import type { HwmonChip, HwmonSensor } from '@perfwatch/store/snapshot';
import { discoverHwmon, readHwmonValues } from '../procfs/hwmon.js';
import { cachedPlan } from './plan.js';
import type { CollectorDefinition } from './types.js';

export const hwmon: CollectorDefinition = {
  name: 'hwmon',
  defaultEnabled: true,
  description: 'temperatures, fan speeds, voltages, currents, power and energy of hardware monitoring chips (/sys/class/hwmon)',
  create: () => {
    // chips, names, labels and thresholds: rediscovered every minute (plan.ts); inputs and alarms every time
    const plan = cachedPlan('class/hwmon', (ctx) => discoverHwmon(ctx.config.sysRoot));
    return {
    collect(ctx) {
      const p = plan(ctx);
      if (!p || p.length === 0) return {};
      const chips = readHwmonValues(p);
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
    };
  },
};
