import type { Snapshot } from '@perfwatch/store/snapshot';
import { readCpufreq } from '../procfs/cpufreq.js';
import type { CollectorDefinition } from './types.js';

export const cpufreq: CollectorDefinition = {
  name: 'cpufreq',
  defaultEnabled: true,
  description: 'CPU frequencies (hardware and scaling: current, min, max) and scaling governor per CPU (/sys/devices/system/cpu/cpu*/cpufreq)',
  create: () => ({
    collect(ctx) {
      const cpus = ctx.optional('devices/system/cpu', () => readCpufreq(ctx.config.sysRoot));
      if (!cpus || cpus.length === 0) return {};
      const out: NonNullable<Snapshot['cpufreq']> = {};
      for (const { cpu, governor, ...hz } of cpus) out[cpu] = governor === undefined ? hz : { ...hz, gov: governor };
      return { cpufreq: out };
    },
  }),
};
