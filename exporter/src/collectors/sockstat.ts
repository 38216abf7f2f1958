import { netProcRoot } from '../config.js';
import { readSockstat } from '../procfs/sockstat.js';
import { pageSize } from '../pagesize.js';
import type { CollectorDefinition } from './types.js';

export const sockstat: CollectorDefinition = {
  name: 'sockstat',
  defaultEnabled: true,
  description: 'socket counts and memory per protocol (/proc/net/sockstat); mem in bytes',
  create: () => ({
    collect(ctx) {
      const stats = ctx.optional('net/sockstat', () => readSockstat(netProcRoot(ctx.config)));
      if (!stats) return {};
      const sock: Record<string, number> = {};
      for (const [proto, kv] of Object.entries(stats)) {
        for (const [key, v] of Object.entries(kv)) {
          // TCP/UDP "mem" is in pages; FRAG "memory" is already bytes.
          if (key === 'mem') sock[`${proto}_mem_bytes`] = v * pageSize();
          else if (key === 'memory') sock[`${proto}_memory_bytes`] = v;
          else sock[`${proto}_${key}`] = v;
        }
      }
      return { sock };
    },
  }),
};
