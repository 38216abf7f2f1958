import { readSchedstat } from '../procfs/schedstat.js';
import type { CollectorDefinition } from './types.js';

export const schedstat: CollectorDefinition = {
  name: 'schedstat',
  defaultEnabled: true,
  description: 'time each CPU ran tasks, time tasks waited to run, and timeslices (/proc/schedstat; kernels with CONFIG_SCHEDSTATS)',
  create: () => ({
    collect(ctx) {
      const cpus = ctx.optional('schedstat', () => readSchedstat(ctx.config.procRoot));
      if (!cpus || cpus.length === 0) return {};
      return { sched: Object.fromEntries(cpus.map((c) => [c.cpu, [c.runningNs / 1e9, c.waitingNs / 1e9, c.timeslices]])) };
    },
  }),
};
