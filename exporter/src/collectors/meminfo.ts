import { readMeminfo } from '../procfs/meminfo.js';
import type { CollectorDefinition } from './types.js';

export const meminfo: CollectorDefinition = {
  name: 'meminfo',
  defaultEnabled: true,
  description: 'every /proc/meminfo field, in bytes',
  create: () => ({
    collect(ctx) {
      const mem = ctx.optional('meminfo', () => readMeminfo(ctx.config.procRoot));
      return mem ? { mem } : {};
    },
  }),
};
