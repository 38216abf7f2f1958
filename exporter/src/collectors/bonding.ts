import { readBonding } from '../procfs/bonding.js';
import type { CollectorDefinition } from './types.js';

export const bonding: CollectorDefinition = {
  name: 'bonding',
  defaultEnabled: true,
  description: 'slaves of each bonded interface and how many have their link up (/sys/class/net/bonding_masters, <bond>/bonding/slaves)',
  create: () => ({
    collect(ctx) {
      const bonds = ctx.optional('class/net/bonding_masters', () => readBonding(ctx.config.sysRoot));
      if (!bonds || bonds.length === 0) return {};
      return { bond: Object.fromEntries(bonds.map((b) => [b.master, [b.slaves, b.active] as [number, number]])) };
    },
  }),
};
