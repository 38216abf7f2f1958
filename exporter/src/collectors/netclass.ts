import type { NetClassEntry } from '@perfwatch/store/snapshot';
import { readNetAddresses, readNetClass } from '../procfs/netclass.js';
import { cachedPlan } from './plan.js';
import type { CollectorDefinition } from './types.js';

export const netclass: CollectorDefinition = {
  name: 'netclass',
  defaultEnabled: true,
  description: 'link state of each interface: operstate, carrier, speed, MTU, address, duplex (/sys/class/net; PERFWATCH_NETDEV_EXCLUDE applies)',
  create: () => {
    // hardware addresses change about never: read once a minute (plan.ts); the link state every time
    const addresses = cachedPlan('class/net', (ctx) => readNetAddresses(ctx.config.sysRoot, ctx.config.netdevExclude));
    return {
    collect(ctx) {
      const known = addresses(ctx);
      const ifaces = ctx.optional('class/net', () => readNetClass(ctx.config.sysRoot, ctx.config.netdevExclude, known));
      if (!ifaces || ifaces.length === 0) return {};
      const out: Record<string, NetClassEntry> = {};
      for (const i of ifaces) {
        const e: NetClassEntry = { op: i.operstate };
        if (i.address !== undefined) e.addr = i.address;
        if (i.duplex !== undefined) e.dup = i.duplex;
        if (i.speed !== undefined) e.speed = i.speed;
        if (i.carrier !== undefined) e.carrier = i.carrier;
        if (i.mtu !== undefined) e.mtu = i.mtu;
        if (i.carrierChanges !== undefined) e.cc = i.carrierChanges;
        out[i.device] = e;
      }
      return { ncls: out };
    },
    };
  },
};
