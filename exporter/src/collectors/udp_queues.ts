import type { Snapshot } from '@perfwatch/store/snapshot';
import { netProcRoot } from '../config.js';
import { readNetUdp } from '../procfs/net_udp.js';
import type { CollectorDefinition } from './types.js';

export const udpQueues: CollectorDefinition = {
  name: 'udp_queues',
  defaultEnabled: true,
  description: 'bytes queued in UDP sockets for sending and receiving, per IP version (/proc/net/udp, /proc/net/udp6)',
  create: () => ({
    collect(ctx) {
      const root = netProcRoot(ctx.config);
      const out: NonNullable<Snapshot['udpq']> = {};
      const v4 = ctx.optional('net/udp', () => readNetUdp(root, 'v4'));
      const v6 = ctx.optional('net/udp6', () => readNetUdp(root, 'v6'));
      if (v4) out.v4 = v4;
      if (v6) out.v6 = v6;
      return v4 || v6 ? { udpq: out } : {};
    },
  }),
};
