import type { Snapshot } from '@perfwatch/store/snapshot';
import { readPowerSupplies } from '../procfs/power_supply.js';
import type { CollectorDefinition } from './types.js';

export const powersupplyclass: CollectorDefinition = {
  name: 'powersupplyclass',
  defaultEnabled: true,
  description: 'batteries, mains adapters and UPSes: online, capacity, energy, power, voltage, current (/sys/class/power_supply)',
  create: () => ({
    collect(ctx) {
      const supplies = ctx.optional('class/power_supply', () => readPowerSupplies(ctx.config.sysRoot));
      if (!supplies || supplies.length === 0) return {};
      const out: NonNullable<Snapshot['psu']> = {};
      for (const p of supplies) out[p.name] = { type: p.type, info: p.info, v: p.values };
      return { psu: out };
    },
  }),
};
