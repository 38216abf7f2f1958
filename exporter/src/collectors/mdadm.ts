import type { MdSection } from '@perfwatch/store/snapshot';
import { readMdstat } from '../procfs/mdstat.js';
import type { CollectorDefinition } from './types.js';

export const mdadm: CollectorDefinition = {
  name: 'mdadm',
  defaultEnabled: true,
  description: 'state, member disks (active, failed, spare) and sync progress of Linux software RAID arrays (/proc/mdstat)',
  create: () => ({
    collect(ctx) {
      const arrays = ctx.optional('mdstat', () => readMdstat(ctx.config.procRoot));
      if (!arrays || arrays.length === 0) return {};
      const md: Record<string, MdSection> = {};
      for (const a of arrays) {
        const e: MdSection = { st: a.state, dk: [a.active, a.failed, a.spare] };
        if (a.level !== undefined) e.lvl = a.level;
        if (a.required !== undefined) e.req = a.required;
        if (a.blocks !== undefined) e.size = a.blocks * 1024;
        if (a.action !== undefined) e.act = a.action;
        if (a.synced !== undefined) e.done = a.synced * 1024;
        md[a.device] = e;
      }
      return { md };
    },
  }),
};
