import type { Snapshot } from '@perfwatch/store/snapshot';
import { readXfs } from '../procfs/xfs.js';
import type { CollectorDefinition } from './types.js';

// the lines docs/metrics.md names; the rest (trans, push_ail, buf, the v2 btrees, qm, debug) stay out
const KEPT = ['extent_alloc', 'abt', 'blk_map', 'bmbt', 'dir', 'ig', 'log', 'rw', 'attr', 'vnodes', 'xpc'];

export const xfs: CollectorDefinition = {
  name: 'xfs',
  defaultEnabled: true,
  description: 'XFS statistics per filesystem: extent and block allocation, btrees, directory and inode operations, log writes, read/write calls and bytes (/sys/fs/xfs/<device>/stats/stats); absent without XFS',
  create: () => ({
    collect(ctx) {
      const devs = ctx.optional('fs/xfs', () => readXfs(ctx.config.sysRoot));
      if (!devs || Object.keys(devs).length === 0) return {};
      const out: NonNullable<Snapshot['xfs']> = {};
      for (const [dev, st] of Object.entries(devs)) {
        const kept: Record<string, number[]> = {};
        for (const k of KEPT) if (st[k]) kept[k] = st[k];
        out[dev] = kept;
      }
      return { xfs: out };
    },
  }),
};
