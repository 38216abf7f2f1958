import { PSI_RESOURCES, type PsiLine, type Snapshot } from '@perfwatch/store/snapshot';
import { readPressure, type PsiLine as KernelPsiLine } from '../procfs/pressure.js';
import type { CollectorDefinition } from './types.js';

function line(l: KernelPsiLine): PsiLine {
  return [l.avg10 / 100, l.avg60 / 100, l.avg300 / 100, l.total / 1e6];
}

export const pressure: CollectorDefinition = {
  name: 'pressure',
  defaultEnabled: true,
  description: 'pressure stall information for cpu, memory and io (/proc/pressure); absent on kernels without PSI',
  create: () => ({
    collect(ctx) {
      const psi: NonNullable<Snapshot['psi']> = {};
      for (const r of PSI_RESOURCES) {
        const p = ctx.optional(`pressure/${r}`, () => readPressure(ctx.config.procRoot, r));
        if (!p) continue;
        const entry: { some?: PsiLine; full?: PsiLine } = {};
        if (p.some) entry.some = line(p.some);
        if (p.full) entry.full = line(p.full);
        psi[r] = entry;
      }
      return Object.keys(psi).length ? { psi } : {};
    },
  }),
};
