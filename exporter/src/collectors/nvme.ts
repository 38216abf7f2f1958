import type { Snapshot } from '@perfwatch/store/snapshot';
import { readNvme } from '../procfs/class_info.js';
import type { CollectorDefinition } from './types.js';

export const nvme: CollectorDefinition = {
  name: 'nvme',
  defaultEnabled: true,
  description: 'model, serial, firmware revision and state of each NVMe controller (/sys/class/nvme)',
  create: () => ({
    collect(ctx) {
      // state (live, resetting, dead) moves, so this is read every time: 4 files per controller
      const ctrls = ctx.optional('class/nvme', () => readNvme(ctx.config.sysRoot));
      if (!ctrls || ctrls.length === 0) return {};
      const out: NonNullable<Snapshot['nvme']> = {};
      for (const c of ctrls) {
        const e: { model?: string; serial?: string; fw?: string; state?: string } = {};
        if (c.model !== undefined) e.model = c.model;
        if (c.serial !== undefined) e.serial = c.serial;
        if (c.firmware !== undefined) e.fw = c.firmware;
        if (c.state !== undefined) e.state = c.state;
        out[c.device] = e;
      }
      return { nvme: out };
    },
  }),
};
