import { netProcRoot } from '../config.js';
import { readNetDev } from '../procfs/net_dev.js';
import type { CollectorDefinition } from './types.js';

export const netdev: CollectorDefinition = {
  name: 'netdev',
  defaultEnabled: true,
  description: 'every /proc/net/dev field per interface; lo and veth excluded',
  create: () => ({
    collect(ctx) {
      const devs = ctx.optional('net/dev', () => readNetDev(netProcRoot(ctx.config)));
      if (!devs) return {};
      const net: Record<string, number[]> = {};
      for (const d of devs) {
        if (!ctx.config.netdevExclude.test(d.device)) net[d.device] = d.fields;
      }
      return { net };
    },
  }),
};
