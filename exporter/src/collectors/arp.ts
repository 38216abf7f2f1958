import { netProcRoot } from '../config.js';
import { readNetArp } from '../procfs/net_arp.js';
import type { CollectorDefinition } from './types.js';

export const arp: CollectorDefinition = {
  name: 'arp',
  defaultEnabled: true,
  description: 'ARP (IPv4 neighbour) entries per interface (/proc/net/arp)',
  create: () => ({
    collect(ctx) {
      const arp = ctx.optional('net/arp', () => readNetArp(netProcRoot(ctx.config)));
      return arp ? { arp } : {};
    },
  }),
};
