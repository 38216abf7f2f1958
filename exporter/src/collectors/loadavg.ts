import { readLoadavg } from '../procfs/loadavg.js';
import type { CollectorDefinition } from './types.js';

export const loadavg: CollectorDefinition = {
  name: 'loadavg',
  defaultEnabled: true,
  description: '1, 5 and 15 minute load averages and scheduling entities (/proc/loadavg)',
  create: () => ({
    collect(ctx) {
      const l = ctx.optional('loadavg', () => readLoadavg(ctx.config.procRoot));
      if (!l) return {};
      return { load: { l: [l.load1, l.load5, l.load15], run: l.running, ent: l.total } };
    },
  }),
};
