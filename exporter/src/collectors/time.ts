import { join } from 'node:path';
import { parseSysfsList, parseSysfsString, readAttr } from '../procfs/sysfs.js';
import type { CollectorDefinition } from './types.js';

// The clock offset and sync status of node_exporter's timex need adjtimex(2), which Node does not
// expose; they are not collected (docs/metrics.md).
export const time: CollectorDefinition = {
  name: 'time',
  defaultEnabled: true,
  description: 'the clocksource the kernel uses and those it could use (/sys/devices/system/clocksource/clocksource0)',
  create: () => ({
    collect(ctx) {
      const dir = join(ctx.config.sysRoot, 'devices/system/clocksource/clocksource0');
      const cur = readAttr(join(dir, 'current_clocksource'), parseSysfsString);
      if (cur === undefined) return {};
      return { clock: { cur, avail: readAttr(join(dir, 'available_clocksource'), parseSysfsList) ?? [] } };
    },
  }),
};
