import type { Snapshot } from '@perfwatch/store/snapshot';
import { readRapl } from '../procfs/powercap.js';
import type { CollectorDefinition } from './types.js';

export const rapl: CollectorDefinition = {
  name: 'rapl',
  defaultEnabled: true,
  description: 'RAPL energy counters of CPU packages, cores and DRAM (/sys/class/powercap/intel-rapl:*; root only since Linux 5.10)',
  create: () => ({
    collect(ctx) {
      const zones = ctx.optional('class/powercap', () => readRapl(ctx.config.sysRoot));
      if (!zones || zones.length === 0) return {};
      const out: NonNullable<Snapshot['rapl']> = {};
      for (const z of zones) {
        const e: { n: string; j?: number; max?: number } = { n: z.name };
        if (z.energy !== undefined) e.j = z.energy;
        if (z.maxEnergy !== undefined) e.max = z.maxEnergy;
        out[z.zone] = e;
      }
      return { rapl: out };
    },
  }),
};
