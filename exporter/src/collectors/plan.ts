/**
 * What sysfs collectors learn once and then only re-read values: which chips, sensors, zones and
 * CPUs exist, their names and labels, and the attributes that change only when someone
 * reconfigures the machine (thresholds, frequency limits, governors, max states). sysfs opens
 * cost ~13 us each on a VM, and a 64-CPU server has ~700 such files, so reading them all every
 * collection would cost ~10 ms; discovering every REDISCOVER_MS keeps it to the values that move.
 * New hardware (a hot-plugged drive's hwmon chip) or a changed limit shows within that time.
 */
import type { CollectContext } from './types.js';

export const REDISCOVER_MS = 60_000;

/** The discovery `discover` made, made again once it is REDISCOVER_MS old. Absent files
 *  (ctx.optional) give undefined, kept until the next discovery like any plan. */
export function cachedPlan<T>(file: string, discover: (ctx: CollectContext) => T): (ctx: CollectContext) => T | undefined {
  let plan: T | undefined;
  let at = -Infinity;
  return (ctx) => {
    const now = Date.now();
    if (now - at >= REDISCOVER_MS) {
      plan = ctx.optional(file, () => discover(ctx));
      at = now;
    }
    return plan;
  };
}
