import { readUptime } from '../procfs/uptime.js';
import type { CollectorDefinition } from './types.js';

export const uptime: CollectorDefinition = {
  name: 'uptime',
  defaultEnabled: true,
  description: 'seconds since boot and idle seconds (/proc/uptime)',
  create: () => ({
    collect(ctx) {
      const u = ctx.optional('uptime', () => readUptime(ctx.config.procRoot));
      if (!u) return {};
      return { up: { s: u.uptime, idle: u.idle } };
    },
  }),
};
