import type { CpuSection } from '@perfwatch/store/snapshot';
import { readStat } from '../procfs/stat.js';
import type { CollectorDefinition } from './types.js';

/** /proc/stat counts in USER_HZ, which the kernel ABI fixes at 100 on every architecture. */
const USER_HZ = 100;

export const cpu: CollectorDefinition = {
  name: 'cpu',
  defaultEnabled: true,
  description: 'per-CPU time by mode, interrupts, context switches, forks, runnable/blocked processes, boot time (/proc/stat)',
  create: () => ({
    collect(ctx) {
      const stat = ctx.optional('stat', () => readStat(ctx.config.procRoot));
      if (!stat) return {};
      const t: Record<string, number[]> = {};
      for (const c of stat.cpus) t[String(c.cpu)] = c.jiffies.map((j) => j / USER_HZ);
      const section: CpuSection = { t };
      if (stat.intr !== undefined) section.intr = stat.intr;
      if (stat.ctxt !== undefined) section.ctxt = stat.ctxt;
      if (stat.processes !== undefined) section.forks = stat.processes;
      if (stat.procsRunning !== undefined) section.run = stat.procsRunning;
      if (stat.procsBlocked !== undefined) section.blk = stat.procsBlocked;
      if (stat.btime !== undefined) section.btime = stat.btime;
      return { cpu: section };
    },
  }),
};
