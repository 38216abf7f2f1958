/**
 * perf event groups: open a set of events on one target, read them together in one read(2),
 * scale for multiplexing, and close (explicitly or when garbage-collected).
 */
import { EVENTS, isEventName, type CustomEvent, type EventName, type EventSpec } from './catalog.js';
import { describeTarget, explainOpenFailure, PerfError, type PerfReason, type PerfTarget, type SystemFacts } from './errors.js';
import { loadNative, type NativeGroup } from './native.js';
import { effectiveCapabilities, eventSources, fdLimit, hardwarePmus, onlineCpus, openFdCount, perfEventParanoid } from './system.js';

export type EventInput = EventName | CustomEvent;

export interface OpenGroupOptions {
  /** The first event leads the group. Names from the catalog, or custom {name, type, config}. */
  events: readonly EventInput[];
  target: PerfTarget;
  /** Count user mode only (needed for per-process counting at perf_event_paranoid 2 without CAP_PERFMON). */
  excludeKernel?: boolean;
  excludeHv?: boolean;
}

export interface PerfCount {
  name: string;
  /** Kernel event id (PERF_FORMAT_ID), unique while the fd is open. */
  id: bigint;
  /** The counter as the kernel keeps it; exact. */
  raw: bigint;
  /** raw x enabled / running: the estimate for the whole enabled time; 0 when running is 0. */
  scaled: number;
}

export interface PerfReading {
  /** ns the group has been enabled since it was opened (reset() does not clear it). */
  enabled: number;
  /** ns the group was actually on the PMU; < enabled when counters were multiplexed. */
  running: number;
  /** running / enabled (the scaling ratio, 1 = never multiplexed); 0 before the group first runs. */
  ratio: number;
  /** One per event, in the order they were given. */
  values: PerfCount[];
}

export function resolveEvent(e: EventInput): EventSpec {
  if (typeof e === 'string') {
    if (isEventName(e)) return EVENTS[e];
    throw new PerfError('invalid', `unknown event "${e}"`, {
      event: e,
      fix: `use one of ${Object.keys(EVENTS).join(', ')}, or a custom {name, type, config}`,
    });
  }
  const okConfig = typeof e.config === 'bigint' ? e.config >= 0n : Number.isSafeInteger(e.config) && e.config >= 0;
  if (typeof e.name !== 'string' || e.name === '' || !Number.isInteger(e.type) || e.type < 0 || e.type > 0xffffffff || !okConfig) {
    throw new PerfError('invalid', `custom event ${JSON.stringify(String(e.name))} needs a name, a u32 type and a non-negative config`, { fix: 'fix the event definition' });
  }
  return Object.freeze({ name: e.name, type: e.type, config: e.config, kind: e.kind ?? 'raw', unit: e.unit ?? 'count', description: 'custom event' });
}

/** Checks a target and returns the (pid, cpu, cgroupPath) triple perf_event_open takes. */
export function targetArgs(target: PerfTarget): { pid: number; cpu: number; cgroupPath: string | null } {
  const invalid = (detail: string, fix: string): PerfError => new PerfError('invalid', `${describeTarget(target)}: ${detail}`, { fix });
  if ('cgroupPath' in target) {
    if (typeof target.cgroupPath !== 'string' || target.cgroupPath === '') throw invalid('empty cgroup path', 'give the cgroup directory');
    if (!Number.isInteger(target.cpu) || target.cpu < 0) {
      throw invalid('cgroup mode needs cpu >= 0', 'the kernel counts a cgroup per CPU: open one group per online CPU');
    }
    return { pid: -1, cpu: target.cpu, cgroupPath: target.cgroupPath };
  }
  if ('pid' in target) {
    const cpu = target.cpu ?? -1;
    if (!Number.isInteger(target.pid) || target.pid < 0) throw invalid('pid must be an integer >= 0 (0 = the calling thread)', 'give a process id');
    if (!Number.isInteger(cpu) || cpu < -1) throw invalid('cpu must be -1 (any) or a CPU number', 'give a CPU number or leave it out');
    return { pid: target.pid, cpu, cgroupPath: null };
  }
  if (!Number.isInteger(target.cpu) || target.cpu < 0) {
    throw invalid('system-wide counting needs cpu >= 0', 'open one group per online CPU (onlineCpus())');
  }
  return { pid: -1, cpu: target.cpu, cgroupPath: null };
}

/** Gathers the host facts that explain a failure; each fact that cannot be read stays undefined. */
export function systemFacts(): SystemFacts {
  const attempt = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch {
      return undefined;
    }
  };
  return {
    paranoid: attempt(() => perfEventParanoid()),
    capabilities: attempt(() => effectiveCapabilities()),
    uid: process.getuid?.(),
    fdLimit: attempt(() => fdLimit()),
    openFds: attempt(() => openFdCount()),
    hardwarePmus: attempt(() => hardwarePmus()),
    allPmus: attempt(() => eventSources()),
    onlineCpus: attempt(() => onlineCpus()),
  };
}

/**
 * systemFacts() for explaining a failure, read once per synchronous run: the perf collector's
 * re-check tries every group it could not open, and on a host without a PMU each hardware group
 * fails on every re-check; ~0.5 ms of reads per failure made one re-check cost ~2.5 ms, for the
 * same facts each time (but the open fd count, read again). Forgotten at the next microtask, so a
 * later failure reads them afresh.
 */
let factsThisRun: SystemFacts | undefined;
function factsForFailure(): SystemFacts {
  if (factsThisRun === undefined) {
    factsThisRun = systemFacts();
    queueMicrotask(() => (factsThisRun = undefined));
    return factsThisRun;
  }
  // the one fact that changes as groups open: read it again
  let openFds: number | undefined;
  try {
    openFds = openFdCount();
  } catch {
    // as systemFacts: a fact that cannot be read stays undefined
  }
  return { ...factsThisRun, openFds };
}

interface NativeFailure {
  errno: string;
  syscall: string;
  eventIndex: number;
}

function isNativeFailure(err: unknown): err is Error & NativeFailure {
  return err instanceof Error && typeof (err as Partial<NativeFailure>).errno === 'string' && typeof (err as Partial<NativeFailure>).syscall === 'string';
}

/** An open group. Create with openGroup(); close() when done (GC also closes it). */
export class PerfGroup {
  readonly events: readonly EventSpec[];
  readonly target: PerfTarget;
  readonly #native: NativeGroup;
  readonly #buf: BigUint64Array;
  readonly #ids: readonly bigint[];

  /** @internal use openGroup() */
  constructor(native: NativeGroup, events: readonly EventSpec[], target: PerfTarget) {
    this.#native = native;
    this.events = events;
    this.target = target;
    this.#buf = new BigUint64Array(3 + 2 * events.length);
    this.#ids = native.ids();
  }

  get closed(): boolean {
    return this.#native.closed;
  }

  /** fds this group holds (one per event; 0 once closed). */
  get fdCount(): number {
    return this.#native.fdCount;
  }

  /** Reads every member with one read(2) on the leader. */
  read(): PerfReading {
    this.#call('read', () => this.#native.read(this.#buf));
    const buf = this.#buf;
    const enabledN = buf[1] as bigint;
    const runningN = buf[2] as bigint;
    const enabled = Number(enabledN);
    const running = Number(runningN);
    const factor = running === 0 ? 0 : enabled / running;
    const values: PerfCount[] = new Array<PerfCount>(this.events.length);
    for (let i = 0; i < this.events.length; i++) {
      // The kernel returns members in the order they joined the group, which is our order; the
      // id check guards that assumption instead of trusting it.
      let slot = i;
      if (buf[4 + 2 * i] !== this.#ids[i]) slot = this.#slotOf(this.#ids[i] as bigint);
      const raw = buf[3 + 2 * slot] as bigint;
      values[i] = { name: (this.events[i] as EventSpec).name, id: this.#ids[i] as bigint, raw, scaled: factor === 1 ? Number(raw) : Number(raw) * factor };
    }
    return { enabled, running, ratio: enabled === 0 ? 0 : running / enabled, values };
  }

  /** Zeroes every member's count (enabled/running times keep running). */
  reset(): void {
    this.#call('reset', () => this.#native.reset());
  }

  enable(): void {
    this.#call('enable', () => this.#native.enable());
  }

  disable(): void {
    this.#call('disable', () => this.#native.disable());
  }

  /** Closes every fd of the group. Idempotent. */
  close(): void {
    this.#native.close();
  }

  #slotOf(id: bigint): number {
    for (let j = 0; j < this.events.length; j++) if (this.#buf[4 + 2 * j] === id) return j;
    throw new PerfError('error', `${describeTarget(this.target)}: event id ${id} missing from the group read`);
  }

  #call(op: string, f: () => unknown): void {
    if (this.#native.closed) {
      throw new PerfError('closed', `${op}() on a closed group (${describeTarget(this.target)})`, { fix: 'open a new group' });
    }
    try {
      f();
    } catch (err) {
      if (!isNativeFailure(err)) throw err;
      throw new PerfError('error', `${op}() of the group on ${describeTarget(this.target)} failed: ${err.message}`, {
        errno: err.errno,
        syscall: err.syscall,
        cause: err,
      });
    }
  }
}

/**
 * Opens `events` as one group on `target`. Throws PerfError with a reason a person can act on;
 * on failure nothing stays open.
 */
export function openGroup(options: OpenGroupOptions): PerfGroup {
  const binding = loadNative();
  if (options.events.length === 0) throw new PerfError('invalid', 'a group needs at least one event', { fix: 'configure at least one event' });
  const events = options.events.map(resolveEvent);
  const seen = new Set<string>();
  for (const e of events) {
    if (seen.has(e.name)) throw new PerfError('invalid', `event ${e.name} appears twice in one group`, { event: e.name, fix: 'list each event once' });
    seen.add(e.name);
  }
  const { pid, cpu, cgroupPath } = targetArgs(options.target);
  const flags = { excludeKernel: options.excludeKernel === true, excludeHv: options.excludeHv === true };
  let native: NativeGroup;
  try {
    native = new binding.PerfGroup(
      events.map((e) => ({ type: e.type, config: e.config })),
      pid,
      cpu,
      cgroupPath,
      flags,
    );
  } catch (err) {
    if (!isNativeFailure(err)) throw new PerfError('invalid', `native PerfGroup: ${(err as Error).message}`, { cause: err });
    const failure = explainOpenFailure(
      {
        errno: err.errno,
        syscall: err.syscall,
        event: err.eventIndex >= 0 ? events[err.eventIndex] : undefined,
        target: options.target,
        fdsNeeded: events.length + (cgroupPath === null ? 0 : 1),
        excludeKernel: flags.excludeKernel,
      },
      factsForFailure(),
    );
    // Keep the native error (errno, syscall, eventIndex) as the cause for debugging.
    Object.defineProperty(failure, 'cause', { value: err, enumerable: false, configurable: true, writable: true });
    throw failure;
  }
  return new PerfGroup(native, events, options.target);
}

export type OpenResult = { ok: true; group: PerfGroup } | { ok: false; error: PerfError };

/** openGroup() that returns the PerfError instead of throwing (any other error still throws). */
export function tryOpenGroup(options: OpenGroupOptions): OpenResult {
  try {
    return { ok: true, group: openGroup(options) };
  } catch (err) {
    if (err instanceof PerfError) return { ok: false, error: err };
    throw err;
  }
}

export interface EventProbe {
  event: string;
  available: boolean;
  /** Short reason for a metric label, e.g. 'not supported'; absent when available. */
  reason?: PerfReason;
  /** The full sentence (`${reason}: ${detail}`). */
  message?: string;
  fix?: string;
  errno?: string;
}

/**
 * Opens `event` alone on `target` and closes it again: whether a collector can count it there,
 * and if not why. Never throws a PerfError.
 */
export function probeEvent(event: EventInput, target: PerfTarget, options: Omit<OpenGroupOptions, 'events' | 'target'> = {}): EventProbe {
  const name = typeof event === 'string' ? event : event.name;
  const r = tryOpenGroup({ ...options, events: [event], target });
  if (r.ok) {
    r.group.close();
    return { event: name, available: true };
  }
  const e = r.error;
  const probe: EventProbe = { event: name, available: false, reason: e.reason, message: e.message, fix: e.fix };
  if (e.errno !== undefined) probe.errno = e.errno;
  return probe;
}

/** probeEvent for each event, in order. */
export function probeEvents(events: readonly EventInput[], target: PerfTarget, options: Omit<OpenGroupOptions, 'events' | 'target'> = {}): EventProbe[] {
  return events.map((e) => probeEvent(e, target, options));
}
