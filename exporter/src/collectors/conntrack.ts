import { join } from 'node:path';
import { parseSysfsInteger, readAttr } from '../procfs/sysfs.js';
import type { CollectorDefinition } from './types.js';

export const conntrack: CollectorDefinition = {
  name: 'conntrack',
  defaultEnabled: true,
  description: 'netfilter connection tracking entries and their limit (/proc/sys/net/netfilter/nf_conntrack_{count,max}); absent without the nf_conntrack module',
  create: () => ({
    collect(ctx) {
      const dir = join(ctx.config.procRoot, 'sys/net/netfilter');
      const n = readAttr(join(dir, 'nf_conntrack_count'), parseSysfsInteger);
      const max = readAttr(join(dir, 'nf_conntrack_max'), parseSysfsInteger);
      if (n === undefined && max === undefined) return {};
      const ct: { n?: number; max?: number } = {};
      if (n !== undefined) ct.n = n;
      if (max !== undefined) ct.max = max;
      return { ct };
    },
  }),
};
