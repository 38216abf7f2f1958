import { join } from 'node:path';
import { parseSysfsList, parseSysfsString, readAttr } from '../procfs/sysfs.js';
import { cachedPlan } from './plan.js';
import type { CollectorDefinition } from './types.js';

// The clock offset and sync status (node_exporter's timex) and the system time: timex.ts.
export const time: CollectorDefinition = {
  name: 'time',
  defaultEnabled: true,
  description: 'the clocksource the kernel uses and those it could use (/sys/devices/system/clocksource/clocksource0)',
  create: () => {
    const dirOf = (sysRoot: string) => join(sysRoot, 'devices/system/clocksource/clocksource0');
    // the list of clocksources is fixed at boot; the current one is read every time, since the
    // kernel switches away from an unstable TSC on its own
    const available = cachedPlan('clocksource0/available_clocksource', (ctx) => readAttr(join(dirOf(ctx.config.sysRoot), 'available_clocksource'), parseSysfsList));
    return {
      collect(ctx) {
        const cur = readAttr(join(dirOf(ctx.config.sysRoot), 'current_clocksource'), parseSysfsString);
        if (cur === undefined) return {};
        return { clock: { cur, avail: available(ctx) ?? [] } };
      },
    };
  },
};
