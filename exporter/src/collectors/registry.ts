import { ConfigError } from '../errors.js';
import { cpu } from './cpu.js';
import { diskstats } from './diskstats.js';
import { filefd } from './filefd.js';
import { filesystem } from './filesystem.js';
import { loadavg } from './loadavg.js';
import { meminfo } from './meminfo.js';
import { netdev } from './netdev.js';
import { netstat } from './netstat.js';
import { perf } from './perf.js';
import { pressure } from './pressure.js';
import { sockstat } from './sockstat.js';
import type { CollectorDefinition } from './types.js';
import { uptime } from './uptime.js';
import { vmstat } from './vmstat.js';

/** Every collector, in the order their metrics appear on /metrics. */
export const COLLECTORS: readonly CollectorDefinition[] = [
  cpu, meminfo, loadavg, vmstat, uptime, diskstats, netdev, netstat, sockstat, filesystem, pressure, filefd, perf,
];

/** The collectors PERFWATCH_COLLECTORS names, or the default set when it is unset. */
export function selectCollectors(
  names: string[] | undefined,
  all: readonly CollectorDefinition[] = COLLECTORS,
): CollectorDefinition[] {
  if (names === undefined) return all.filter((c) => c.defaultEnabled);
  const known = new Map(all.map((c) => [c.name, c]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new ConfigError(
      'PERFWATCH_COLLECTORS',
      `unknown collector ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${all.map((c) => c.name).join(', ')}`,
    );
  }
  // Keep registry order so the exposition is stable whatever order the list uses.
  return all.filter((c) => names.includes(c.name));
}
