import { readVmstat } from '../procfs/vmstat.js';
import type { CollectorDefinition } from './types.js';

export const vmstat: CollectorDefinition = {
  name: 'vmstat',
  defaultEnabled: true,
  description: 'every /proc/vmstat counter',
  create: () => ({
    collect(ctx) {
      const vm = ctx.optional('vmstat', () => readVmstat(ctx.config.procRoot));
      return vm ? { vm } : {};
    },
  }),
};
