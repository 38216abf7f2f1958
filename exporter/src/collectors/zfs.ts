import { readZfs } from '../procfs/zfs.js';
import type { CollectorDefinition } from './types.js';

export const zfs: CollectorDefinition = {
  name: 'zfs',
  defaultEnabled: true,
  description: 'OpenZFS ARC, prefetch, DMU transaction, ZIL and ABD kstats, and each pool\'s state (/proc/spl/kstat/zfs); absent without the zfs module',
  create: () => ({
    collect(ctx) {
      const z = ctx.optional('spl/kstat/zfs', () => readZfs(ctx.config.procRoot));
      if (!z || (Object.keys(z.kstats).length === 0 && Object.keys(z.pools).length === 0)) return {};
      return { zfs: { k: z.kstats, pools: z.pools } };
    },
  }),
};
