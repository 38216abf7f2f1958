import type { NetClassEntry } from '@perfwatch/store/snapshot';
import { readNetClass } from '../procfs/netclass.js';
import type { CollectorDefinition } from './types.js';

export const netclass: CollectorDefinition = {
  name: 'netclass',
  defaultEnabled: true,
  description: 'link state of each interface: operstate, carrier, speed, MTU, address, duplex (/sys/class/net; PERFWATCH_NETDEV_EXCLUDE applies)',
  create: () => ({
    collect(ctx) {
      const ifaces = ctx.optional('class/net', () => readNetClass(ctx.config.sysRoot, ctx.config.netdevExclude));
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
  }),
};
