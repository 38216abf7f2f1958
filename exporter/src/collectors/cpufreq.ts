import type { Snapshot } from '@perfwatch/store/snapshot';
import { discoverCpufreq, readCpufreqValues } from '../procfs/cpufreq.js';
import { cachedPlan } from './plan.js';
import type { CollectorDefinition } from './types.js';

export const cpufreq: CollectorDefinition = {
  name: 'cpufreq',
  defaultEnabled: true,
  description: 'CPU frequencies (hardware and scaling: current, min, max) and scaling governor per CPU (/sys/devices/system/cpu/cpu*/cpufreq)',
  create: () => {
    // what exists and what does not move: rediscovered every minute (plan.ts)
    const plan = cachedPlan('devices/system/cpu', (ctx) => discoverCpufreq(ctx.config.sysRoot));
    return {
    collect(ctx) {
      const p = plan(ctx);
      const cpus = p && readCpufreqValues(p);
      if (!cpus || cpus.length === 0) return {};
      const out: NonNullable<Snapshot['cpufreq']> = {};
      for (const { cpu, governor, ...hz } of cpus) out[cpu] = governor === undefined ? hz : { ...hz, gov: governor };
      return { cpufreq: out };
    },
    };
  },
};
