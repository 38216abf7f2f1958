/**
 * node_exporter's timex and time collectors: the kernel's clock discipline from adjtimex(2) (is the
 * clock synchronized, its offset and error estimates, the PPS state), and the system time and time
 * zone, so that clock-skew alerts written for node_exporter work (`perfwatch_timex_sync_status ==
 * 0`, `abs(perfwatch_time_seconds - timestamp(perfwatch_time_seconds)) > 1`).
 *
 * Node has no adjtimex: it is read through @perfwatch/native (native/lib/timex.ts, units as
 * node_exporter's), the second exporter module after the perf collector that needs the addon
 * (STYLE.md). Where the addon is not built the collector fails with that reason, like perf.
 */
import { localZone, readTimex } from '@perfwatch/native';
import type { CollectorDefinition } from './types.js';

export const timex: CollectorDefinition = {
  name: 'timex',
  defaultEnabled: true,
  description: 'the kernel clock discipline (adjtimex(2): sync status, offset, errors, PPS), the system time and the time zone offset',
  create: () => ({
    collect() {
      const t = readTimex();
      const now = new Date();
      const zone = localZone();
      return {
        tx: {
          v: [
            t.syncStatus, t.offsetSeconds, t.frequencyAdjustmentRatio, t.maxErrorSeconds, t.estimatedErrorSeconds, t.status,
            t.loopTimeConstant, t.tickSeconds, t.ppsFrequencyHertz, t.ppsJitterSeconds, t.ppsShiftSeconds, t.ppsStabilityHertz,
            t.ppsJitterTotal, t.ppsCalibrationTotal, t.ppsErrorTotal, t.ppsStabilityExceededTotal, t.taiOffsetSeconds,
          ],
          now: now.getTime() / 1000,
          // node_exporter's time_zone label is the zone's abbreviation (Go's Zone()), not its
          // IANA name; from the C library, not Intl (whose ICU data cost ~7 MB of RSS).
          tz: zone.name,
          tzoff: zone.offset,
        },
      };
    },
  }),
};
