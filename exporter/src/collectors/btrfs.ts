import type { Snapshot } from '@perfwatch/store/snapshot';
import { readBtrfs } from '../procfs/btrfs.js';
import type { CollectorDefinition } from './types.js';

export const btrfs: CollectorDefinition = {
  name: 'btrfs',
  defaultEnabled: true,
  description: 'btrfs space per block group type (data, metadata, system), global reserve and member device sizes (/sys/fs/btrfs); absent without btrfs',
  create: () => ({
    collect(ctx) {
      const fss = ctx.optional('fs/btrfs', () => readBtrfs(ctx.config.sysRoot));
      if (!fss || fss.length === 0) return {};
      const out: NonNullable<Snapshot['btrfs']> = {};
      for (const f of fss) {
        const g = Object.fromEntries(Object.entries(f.groups).map(([k, v]) => [k, v.map((x) => x ?? null)]));
        out[f.uuid] = f.globalRsv === undefined ? { label: f.label, g, dev: f.devices } : { label: f.label, rsv: f.globalRsv, g, dev: f.devices };
      }
      return { btrfs: out };
    },
  }),
};
