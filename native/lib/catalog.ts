/**
 * The events PerfWatch knows by name, as perf_event_attr type/config pairs. The numbers come from
 * include/uapi/linux/perf_event.h (https://man7.org/linux/man-pages/man2/perf_event_open.2.html);
 * names follow `perf list` so a person can check an event with `perf stat -e <name>`.
 * The C++ side only ever sees {type, config}, so adding an event is a one-line change here.
 */

/** perf_event_attr.type */
export const PERF_TYPE = {
  HARDWARE: 0,
  SOFTWARE: 1,
  TRACEPOINT: 2,
  HW_CACHE: 3,
  RAW: 4,
  BREAKPOINT: 5,
} as const;

/** hardware: the CPU's PMU (absent on most VMs); cache: PERF_TYPE_HW_CACHE, also the PMU;
 * software: kernel counters that work everywhere perf_event_open does; raw: caller-supplied. */
export type EventKind = 'hardware' | 'cache' | 'software' | 'raw';

export interface EventSpec {
  readonly name: string;
  readonly type: number;
  readonly config: number | bigint;
  readonly kind: EventKind;
  /** What one unit of the count is: task-clock and cpu-clock count nanoseconds. */
  readonly unit: 'nanoseconds' | 'count';
  readonly description: string;
}

/** An event outside the catalog, e.g. a CPU-specific raw event: { name: 'r01c2', type: 4, config: 0x01c2 }. */
export interface CustomEvent {
  readonly name: string;
  readonly type: number;
  readonly config: number | bigint;
  readonly kind?: EventKind;
  readonly unit?: 'nanoseconds' | 'count';
}

// PERF_TYPE_HW_CACHE config = cache id | (op << 8) | (result << 16).
const CACHE = { L1D: 0, L1I: 1, LL: 2, DTLB: 3, ITLB: 4, BPU: 5, NODE: 6 } as const;
const OP_READ = 0;
const RESULT_MISS = 1;
const cacheReadMiss = (cache: number): number => cache | (OP_READ << 8) | (RESULT_MISS << 16);

function hw(config: number, description: string) {
  return { type: PERF_TYPE.HARDWARE, config, kind: 'hardware', unit: 'count', description } as const;
}
function cache(config: number, description: string) {
  return { type: PERF_TYPE.HW_CACHE, config, kind: 'cache', unit: 'count', description } as const;
}
function sw(config: number, description: string, unit: 'nanoseconds' | 'count' = 'count') {
  return { type: PERF_TYPE.SOFTWARE, config, kind: 'software', unit, description } as const;
}

const CATALOG = {
  // PERF_TYPE_HARDWARE, enum perf_hw_id
  'cpu-cycles': hw(0, 'CPU cycles (frequency-scaled); IPC = instructions / cpu-cycles'),
  instructions: hw(1, 'instructions retired'),
  'cache-references': hw(2, 'last-level cache accesses (CPU-defined)'),
  'cache-misses': hw(3, 'last-level cache misses (CPU-defined)'),
  'branch-instructions': hw(4, 'branch instructions retired'),
  'branch-misses': hw(5, 'mispredicted branches'),
  'stalled-cycles-frontend': hw(7, 'cycles the frontend issued nothing (not on most Intel CPUs)'),
  'stalled-cycles-backend': hw(8, 'cycles the backend retired nothing (not on most Intel CPUs)'),
  'ref-cycles': hw(9, 'reference cycles, not affected by frequency scaling'),
  // PERF_TYPE_HW_CACHE, op READ, result MISS
  'L1-dcache-load-misses': cache(cacheReadMiss(CACHE.L1D), 'L1 data cache read misses'),
  'LLC-load-misses': cache(cacheReadMiss(CACHE.LL), 'last-level cache read misses'),
  'dTLB-load-misses': cache(cacheReadMiss(CACHE.DTLB), 'data TLB read misses'),
  // PERF_TYPE_SOFTWARE, enum perf_sw_ids
  'cpu-clock': sw(0, 'time the event was active on the CPU (hrtimer based)', 'nanoseconds'),
  'task-clock': sw(1, 'time tasks ran (system-wide: time the CPU was counted, idle included)', 'nanoseconds'),
  'page-faults': sw(2, 'page faults (minor + major)'),
  'context-switches': sw(3, 'context switches'),
  'cpu-migrations': sw(4, 'tasks migrated to another CPU'),
  'minor-faults': sw(5, 'page faults served without I/O'),
  'major-faults': sw(6, 'page faults that needed I/O'),
} as const;

export type EventName = keyof typeof CATALOG;

/** name -> spec for every catalogued event. */
export const EVENTS: { readonly [N in EventName]: EventSpec } = Object.freeze(
  Object.fromEntries(Object.entries(CATALOG).map(([name, spec]) => [name, Object.freeze({ name, ...spec })])),
) as { readonly [N in EventName]: EventSpec };

export const EVENT_NAMES = Object.freeze(Object.keys(CATALOG)) as readonly EventName[];

export function isEventName(name: string): name is EventName {
  return Object.hasOwn(CATALOG, name);
}

/**
 * Groups a collector should open together: members of a group are scheduled on the PMU at the
 * same time, so their ratios (IPC, miss rates) are exact even when counters are multiplexed.
 * Software events never multiplex and can share one group.
 */
export const SUGGESTED_GROUPS: readonly (readonly EventName[])[] = Object.freeze([
  ['cpu-cycles', 'instructions', 'ref-cycles'],
  ['cache-references', 'cache-misses'],
  ['branch-instructions', 'branch-misses'],
  ['stalled-cycles-frontend', 'stalled-cycles-backend'],
  ['L1-dcache-load-misses', 'LLC-load-misses', 'dTLB-load-misses'],
  ['task-clock', 'cpu-clock', 'context-switches', 'cpu-migrations', 'page-faults', 'minor-faults', 'major-faults'],
]);

export const SOFTWARE_EVENTS = EVENT_NAMES.filter((n) => EVENTS[n].kind === 'software');
export const HARDWARE_EVENTS = EVENT_NAMES.filter((n) => EVENTS[n].kind !== 'software');
