import { readSoftnetStat } from '../procfs/softnet_stat.js';
import { netProcRoot } from '../config.js';
import type { CollectorDefinition } from './types.js';

export const softnet: CollectorDefinition = {
  name: 'softnet',
  defaultEnabled: true,
  description: 'packets processed, dropped and time-squeezed by each CPU\'s network receive softirq (/proc/net/softnet_stat)',
  create: () => ({
    collect(ctx) {
      const lines = ctx.optional('net/softnet_stat', () => readSoftnetStat(netProcRoot(ctx.config)));
      if (!lines) return {};
      return { softnet: Object.fromEntries(lines.map((l) => [l.cpu, l.values])) };
    },
  }),
};
