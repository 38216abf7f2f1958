import { readDmi } from '../procfs/class_info.js';
import { cachedPlan } from './plan.js';
import type { CollectorDefinition } from './types.js';

export const dmi: CollectorDefinition = {
  name: 'dmi',
  defaultEnabled: true,
  description: 'the machine\'s DMI/SMBIOS identity: vendor, product, board, BIOS (/sys/class/dmi/id), read once a minute',
  create: () => {
    // firmware tables: they change with a BIOS update, which takes a reboot
    const ids = cachedPlan('class/dmi/id', (ctx) => readDmi(ctx.config.sysRoot));
    return {
      collect(ctx) {
        const dmi = ids(ctx);
        return dmi && Object.keys(dmi).length ? { dmi } : {};
      },
    };
  },
};
