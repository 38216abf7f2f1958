import { join } from 'node:path';
import { parseSysfsInteger, readAttr } from '../procfs/sysfs.js';
import type { CollectorDefinition } from './types.js';

export const entropy: CollectorDefinition = {
  name: 'entropy',
  defaultEnabled: true,
  description: 'entropy available in the kernel random pool and the pool size (/proc/sys/kernel/random; 256 of 256 on every kernel since 5.18)',
  create: () => ({
    collect(ctx) {
      const dir = join(ctx.config.procRoot, 'sys/kernel/random');
      const avail = readAttr(join(dir, 'entropy_avail'), parseSysfsInteger);
      const pool = readAttr(join(dir, 'poolsize'), parseSysfsInteger);
      if (avail === undefined && pool === undefined) return {};
      const e: { avail?: number; pool?: number } = {};
      if (avail !== undefined) e.avail = avail / 8;
      if (pool !== undefined) e.pool = pool / 8;
      return { entropy: e };
    },
  }),
};
