/**
 * @perfwatch/native: perf_event_open(2) counters for PerfWatch.
 *
 *   import { openGroup, probeEvent, onlineCpus } from '@perfwatch/native';
 *   const groups = onlineCpus().map((cpu) => openGroup({ events: ['task-clock', 'context-switches'], target: { cpu } }));
 *   const r = groups[0].read();   // { enabled, running, ratio, values: [{ name, id, raw, scaled }] }
 *
 * Importing never fails: without the built addon every open reports the reason
 * 'native addon not built' (see nativeStatus()), so the exporter runs without it.
 */
export { EVENTS, EVENT_NAMES, HARDWARE_EVENTS, PERF_TYPE, SOFTWARE_EVENTS, SUGGESTED_GROUPS, isEventName } from './catalog.js';
export type { CustomEvent, EventKind, EventName, EventSpec } from './catalog.js';
export { PERF_ERROR_CODES, PerfError, describeTarget, explainOpenFailure, formatCpuList, formatLimit } from './errors.js';
export type { Capabilities, OpenFailure, PerfErrorCode, PerfReason, PerfTarget, SystemFacts } from './errors.js';
export { PerfGroup, openGroup, probeEvent, probeEvents, resolveEvent, systemFacts, targetArgs, tryOpenGroup } from './group.js';
export type { EventInput, EventProbe, OpenGroupOptions, OpenResult, PerfCount, PerfReading } from './group.js';
export { KeptFiles, keptFilesAvailable, listDirs, listDirsAvailable, readFiles, readFilesAvailable } from './files.js';
export type { FileText } from './files.js';
export { ADDON_PATH, loadNative, nativeStatus } from './native.js';
export type { NativeStatus, RawTimex } from './native.js';
export { localZone, readTimex, TIME_ERROR, timexOf } from './timex.js';
export type { Timex } from './timex.js';
export {
  CAP,
  capabilitiesFromMask,
  checkFdBudget,
  effectiveCapabilities,
  eventSources,
  fdLimit,
  fdsNeeded,
  hardwarePmus,
  onlineCpus,
  openFdCount,
  parseCapEff,
  parseCpuList,
  parseLimitsNofile,
  perfEventParanoid,
} from './system.js';
export type { FdBudgetCheck, FdBudgetInput, FdLimit, FdsNeededInput } from './system.js';
