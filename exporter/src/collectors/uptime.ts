import { readUptime } from '../procfs/uptime.js';
import type { CollectorDefinition } from './types.js';

export const uptime: CollectorDefinition = {
  name: 'uptime',
  defaultEnabled: true,
  description: 'seconds since boot and idle seconds (/proc/uptime)',
  create: () => ({
    collect(ctx) {
      const u = readUptime(ctx.config.procRoot);
      return { up: { s: u.uptime, idle: u.idle } };
    },
  }),
};
