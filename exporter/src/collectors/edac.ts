import type { Snapshot } from '@perfwatch/store/snapshot';
import { readEdac } from '../procfs/edac.js';
import type { CollectorDefinition } from './types.js';

export const edac: CollectorDefinition = {
  name: 'edac',
  defaultEnabled: true,
  description: 'corrected and uncorrected memory errors per memory controller and chip-select row (/sys/devices/system/edac/mc); absent without EDAC (VMs)',
  create: () => ({
    collect(ctx) {
      const mcs = ctx.optional('devices/system/edac/mc', () => readEdac(ctx.config.sysRoot));
      if (!mcs || mcs.length === 0) return {};
      const out: NonNullable<Snapshot['edac']> = {};
      for (const c of mcs) {
        const rows = Object.fromEntries(Object.entries(c.rows).map(([r, [ce, ue]]) => [r, [ce ?? null, ue ?? null] as [number | null, number | null]]));
        const e: { ce?: number; ue?: number; rows: typeof rows } = { rows };
        if (c.ce !== undefined) e.ce = c.ce;
        if (c.ue !== undefined) e.ue = c.ue;
        out[c.controller] = e;
      }
      return { edac: out };
    },
  }),
};
