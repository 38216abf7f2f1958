import { readDiskstats } from '../procfs/diskstats.js';
import type { CollectorDefinition } from './types.js';

/** /proc/diskstats counts 512-byte sectors whatever the device's sector size (iostats.rst). */
const SECTOR = 512;
/** Per DISK_FIELDS position: the factor from the kernel's unit to the base unit. */
const FACTORS = [1, 1, SECTOR, 1e-3, 1, 1, SECTOR, 1e-3, 1, 1e-3, 1e-3, 1, 1, SECTOR, 1e-3, 1, 1e-3];

export const diskstats: CollectorDefinition = {
  name: 'diskstats',
  defaultEnabled: true,
  description: 'every /proc/diskstats field per block device in base units (bytes, seconds); partitions, loop and ram excluded',
  create: () => ({
    collect(ctx) {
      const disk: Record<string, number[]> = {};
      for (const d of readDiskstats(ctx.config.procRoot)) {
        if (ctx.config.diskExclude.test(d.device)) continue;
        disk[d.device] = d.fields.slice(0, FACTORS.length).map((v, i) => v * FACTORS[i]!);
      }
      return { disk };
    },
  }),
};
