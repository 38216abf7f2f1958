import type { Snapshot } from '@perfwatch/store/snapshot';
import { discoverThermal, readThermalValues } from '../procfs/thermal.js';
import { cachedPlan } from './plan.js';
import type { CollectorDefinition } from './types.js';

export const thermal: CollectorDefinition = {
  name: 'thermal',
  defaultEnabled: true,
  description: 'thermal zone temperatures and cooling device states (/sys/class/thermal; node_exporter thermal_zone)',
  create: () => {
    // what exists and what does not move: rediscovered every minute (plan.ts)
    const plan = cachedPlan('class/thermal', (ctx) => discoverThermal(ctx.config.sysRoot));
    return {
    collect(ctx) {
      const p = plan(ctx);
      const t = p && readThermalValues(p);
      if (!t || (t.zones.length === 0 && t.cooling.length === 0)) return {};
      const out: NonNullable<Snapshot['thermal']> = {};
      if (t.zones.length) out.z = Object.fromEntries(t.zones.map((z) => [z.zone, { type: z.type, t: z.temp }]));
      if (t.cooling.length) {
        out.cd = Object.fromEntries(t.cooling.map((c) => {
          const e: { type: string; cur?: number; max?: number } = { type: c.type };
          if (c.cur !== undefined) e.cur = c.cur;
          if (c.max !== undefined) e.max = c.max;
          return [c.device, e];
        }));
      }
      return { thermal: out };
    },
    };
  },
};
