import { readDiskstats } from '../procfs/diskstats.js';
import type { CollectorDefinition } from './types.js';

/** /proc/diskstats counts 512-byte sectors whatever the device's sector size (iostats.rst). */
const SECTOR = 512;
const MS = -1000;
/** Per DISK_FIELDS position: multiply by the factor, or divide by it when negative (ms -> s,
 *  where dividing keeps 1234 ms exactly 1.234 s). */
const FACTORS = [1, 1, SECTOR, MS, 1, 1, SECTOR, MS, 1, MS, MS, 1, 1, SECTOR, MS, 1, MS];

export const diskstats: CollectorDefinition = {
  name: 'diskstats',
  defaultEnabled: true,
  description: 'every /proc/diskstats field per block device in base units (bytes, seconds); partitions, loop and ram excluded',
  create: () => ({
    collect(ctx) {
      const stats = ctx.optional('diskstats', () => readDiskstats(ctx.config.procRoot));
      if (!stats) return {};
      const disk: Record<string, number[]> = {};
      for (const d of stats) {
        if (ctx.config.diskExclude.test(d.device)) continue;
        disk[d.device] = d.fields.slice(0, FACTORS.length).map((v, i) => {
          const f = FACTORS[i]!;
          return f < 0 ? v / -f : v * f;
        });
      }
      return { disk };
    },
  }),
};
