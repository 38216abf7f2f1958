/**
 * perf_event_open counters (docs/perf.md): hardware and software events per CPU, system-wide and
 * per configured cgroup, scaled for multiplexing, with a reason for every event that cannot be
 * counted. Groups are opened once and kept open across collections; whatever could not be opened
 * (no PMU, no permission, a CPU that was offline, the fd budget) is tried again every
 * PERFWATCH_PERF_RECHECK_SECONDS. Nothing here throws into the pipeline except a ConfigError at
 * start for an unknown event name: perf never takes the exporter down.
 *
 * The one exporter module that imports @perfwatch/native (the doctor reuses PerfCounters, so it
 * reports exactly what the collector sees).
 */
import {
  checkFdBudget,
  EVENT_NAMES,
  EVENTS,
  fdsNeeded,
  onlineCpus,
  openFdCount,
  PerfError,
  SUGGESTED_GROUPS,
  tryOpenGroup,
  type EventName,
  type PerfGroup,
  type PerfReason,
  type PerfTarget,
} from '@perfwatch/native';
import type { PerfCounts, PerfSection } from '@perfwatch/store/snapshot';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { cgroupCapacity, planPerfCgroups } from './perf-cgroups.js';
import type { CollectorDefinition } from './types.js';

/** Catalog names for PERFWATCH_PERF_EVENTS (matched case-insensitively, duplicates dropped). */
export function resolvePerfEvents(names: readonly string[]): EventName[] {
  const byLower = new Map(EVENT_NAMES.map((n) => [n.toLowerCase(), n]));
  const events: EventName[] = [];
  const unknown: string[] = [];
  for (const n of names) {
    const e = byLower.get(n.toLowerCase());
    if (e === undefined) unknown.push(n);
    else if (!events.includes(e)) events.push(e);
  }
  if (unknown.length) {
    throw new ConfigError('PERFWATCH_PERF_EVENTS', `unknown event ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${EVENT_NAMES.join(', ')}`);
  }
  if (!events.length) {
    throw new ConfigError('PERFWATCH_PERF_EVENTS', `names no event; give at least one of ${EVENT_NAMES.join(', ')}, or leave perf out of PERFWATCH_COLLECTORS`);
  }
  return events;
}

/**
 * The configured events split into the groups they are opened in: members of one group share the
 * PMU's time, so ratios inside a group (IPC, miss rates) are exact under multiplexing. Follows
 * SUGGESTED_GROUPS; an event outside them gets a group of its own.
 */
export function planGroups(events: readonly EventName[]): EventName[][] {
  const groups: EventName[][] = [];
  const placed = new Set<EventName>();
  for (const suggested of SUGGESTED_GROUPS) {
    const members = suggested.filter((e) => events.includes(e));
    if (members.length) groups.push(members);
    for (const m of members) placed.add(m);
  }
  for (const e of events) if (!placed.has(e)) groups.push([e]);
  return groups;
}

/** Failures that are about one event, not the group: drop that member and open the rest. */
const EVENT_SPECIFIC = new Set<PerfReason>(['not supported', 'invalid']);
/** Failures that are the same on every CPU of a target: try one CPU, not all of them. */
const SAME_ON_EVERY_CPU = new Set<PerfReason>(['not supported', 'invalid', 'permission', 'no such cgroup', 'native addon not built']);

/** One group of events on one CPU of one target. */
interface Slot {
  readonly members: readonly EventName[];
  group: PerfGroup | undefined;
  /** the members in the open group, in its order */
  open: readonly EventName[];
  /** why each member that is not in the open group is not */
  missing: Map<EventName, PerfError>;
  /** counts of groups closed before (re-open, read failure), so a re-opened counter goes on from there */
  base: Map<EventName, number>;
  /** the last count read from the open group */
  last: Map<EventName, number>;
}

interface Target {
  /** undefined for system-wide counting */
  cgroup: string | undefined;
  /** online CPU -> one slot per planned group */
  cpus: Map<number, Slot[]>;
}

export interface PerfEventStatus {
  event: EventName;
  /** counted on every online CPU */
  available: boolean;
  /** why not (the first CPU where it is not counted), when available is false */
  error?: PerfError;
  /** CPUs where it is counted now */
  countedOn: number[];
}

export interface PerfCountersOptions {
  events: readonly EventName[];
  cgroups?: readonly string[];
  sysRoot?: string;
  /** most fds to hold (PERFWATCH_PERF_FD_BUDGET) */
  fdBudget?: number;
  log: Logger;
}

/**
 * The perf counters of one exporter: opens, re-checks, reads and closes every group. No method
 * throws: every failure becomes a PerfError on the events it concerns.
 */
export class PerfCounters {
  readonly events: readonly EventName[];
  readonly groups: readonly (readonly EventName[])[];
  readonly cgroups: readonly string[];
  readonly #targets: Target[];
  readonly #index: Map<EventName, number>;
  /** event -> index of its group in `groups` (and in every CPU's slots) */
  readonly #groupOf: Map<EventName, number>;
  readonly #seconds: boolean[];
  readonly #sysRoot: string;
  readonly #budget: number | undefined;
  readonly #log: Logger;
  #cpus: number[] = [];
  /** set while the online CPU list cannot be read and no CPU is known */
  #cpuError: PerfError | undefined;
  #closed = false;
  /** `${cgroup}\0${event}` -> last reported reason ('' = counted), so the log says each change once */
  readonly #reported = new Map<string, string>();
  #summarised = false;

  constructor(options: PerfCountersOptions) {
    this.events = [...options.events];
    this.groups = planGroups(this.events);
    this.cgroups = [...(options.cgroups ?? [])];
    this.#targets = [undefined, ...this.cgroups].map((cgroup) => ({ cgroup, cpus: new Map<number, Slot[]>() }));
    this.#index = new Map(this.events.map((e, i) => [e, i]));
    this.#groupOf = new Map(this.groups.flatMap((members, g) => members.map((e) => [e, g] as const)));
    this.#seconds = this.events.map((e) => EVENTS[e].unit === 'nanoseconds');
    this.#sysRoot = options.sysRoot ?? '/sys';
    this.#budget = options.fdBudget;
    this.#log = options.log;
  }

  /** CPUs the groups are kept on (the online CPUs at the last refresh). */
  get cpus(): readonly number[] {
    return this.#cpus;
  }

  /** fds the open groups hold. */
  get fdCount(): number {
    let n = 0;
    for (const slot of this.#slots()) n += slot.group?.fdCount ?? 0;
    return n;
  }

  /** fds the whole configuration needs on the current CPUs (what the budget is checked against). */
  get fdsNeeded(): number {
    return fdsNeeded({ events: this.events.length, cpus: this.#cpus.length, cgroups: this.cgroups.length });
  }

  /**
   * Re-reads the online CPUs, closes groups of CPUs that went offline, and opens whatever is not
   * open yet (the first call opens everything), after checking the fd budget. Logs each event
   * whose state changed: a warning with the reason when it cannot be counted, once.
   */
  refresh(): void {
    if (this.#closed) return;
    this.#updateCpus();
    const incomplete = [...this.#slots()].some((s) => s.open.length < s.members.length);
    const newCpus = this.#cpus.some((cpu) => this.#targets.some((t) => !t.cpus.has(cpu)));
    if (incomplete || newCpus) this.#openMissing();
    this.#report();
  }

  /** Reads every open group: the Snapshot's perf section. */
  read(): PerfSection {
    // One status per target serves both the section's `un` and the log.
    const reads = this.#targets.map((t) => this.#readTarget(t));
    const section: PerfSection = { ev: [...this.events], ...reads[0]!.counts };
    if (this.cgroups.length) {
      section.cg = {};
      reads.slice(1).forEach((r, i) => (section.cg![this.cgroups[i]!] = r.counts));
    }
    this.#report(reads.map((r) => r.status));
    return section;
  }

  /** Per event, whether it is counted on every online CPU and, if not, why. */
  status(cgroup?: string): PerfEventStatus[] {
    const t = this.#targets.find((x) => x.cgroup === cgroup);
    if (t === undefined) throw new RangeError(`cgroup ${cgroup} is not configured`);
    return this.events.map((event) => {
      const countedOn: number[] = [];
      let error: PerfError | undefined;
      for (const cpu of this.#cpus) {
        const slot = t.cpus.get(cpu)?.[this.#groupOf.get(event)!];
        if (slot?.open.includes(event)) countedOn.push(cpu);
        else error ??= slot?.missing.get(event) ?? new PerfError('error', `${event} on cpu ${cpu}: not opened yet`);
      }
      if (this.#closed) error = new PerfError('closed', 'the perf collector is closed');
      else if (!this.#cpus.length) error ??= this.#cpuError ?? new PerfError('cpu offline', `no online CPU in ${this.#sysRoot}/devices/system/cpu/online`);
      return error === undefined ? { event, available: true, countedOn } : { event, available: false, error, countedOn };
    });
  }

  /** Closes every group. Idempotent; after it, read() reports every event 'closed'. */
  close(): void {
    this.#closed = true;
    for (const slot of this.#slots()) slot.group?.close();
    for (const t of this.#targets) t.cpus.clear();
  }

  *#slots(): Generator<Slot> {
    for (const t of this.#targets) for (const slots of t.cpus.values()) yield* slots;
  }

  #updateCpus(): void {
    let cpus: number[];
    try {
      cpus = onlineCpus(this.#sysRoot);
      this.#cpuError = undefined;
    } catch (err) {
      // Keep the CPUs already known: a read error says nothing about hotplug.
      if (!this.#cpus.length) {
        this.#cpuError = new PerfError('error', `cannot list the online CPUs: ${errorMessage(err)}`, {
          fix: 'PERFWATCH_SYS_ROOT must be where sysfs is mounted (/sys; /host/sys in a container)',
        });
      }
      return;
    }
    for (const t of this.#targets) {
      for (const [cpu, slots] of t.cpus) {
        if (cpus.includes(cpu)) continue;
        for (const s of slots) s.group?.close();
        t.cpus.delete(cpu);
      }
    }
    this.#cpus = cpus;
  }

  #openMissing(): void {
    // The fd bound is decided for the whole configuration before anything is opened, so a large
    // one gets one clear reason instead of EMFILE halfway (and EMFILE for the rest of the process).
    let check: { ok: boolean; error?: PerfError };
    try {
      check = checkFdBudget(this.fdsNeeded, { budget: this.#budget, openFds: openFdCount() - this.fdCount });
    } catch (err) {
      // Without /proc/self/fd or the fd limit the bound cannot be checked: open nothing more.
      check = { ok: false, error: new PerfError('error', `cannot check the fd budget: ${errorMessage(err)}`, { fix: 'the exporter needs /proc mounted' }) };
    }
    for (const t of this.#targets) {
      this.groups.forEach((members, g) => {
        // failures that are the same on every CPU, learnt on the first CPU tried
        const known = new Map<EventName, PerfError>();
        for (const cpu of this.#cpus) {
          let slots = t.cpus.get(cpu);
          if (slots === undefined) {
            slots = this.groups.map((m) => ({ members: m, group: undefined, open: [], missing: new Map(), base: new Map(), last: new Map() }));
            t.cpus.set(cpu, slots);
          }
          const slot = slots[g]!;
          if (slot.open.length === members.length) continue;
          if (!check.ok) {
            for (const e of members) if (!slot.open.includes(e)) slot.missing.set(e, check.error!);
            continue;
          }
          this.#open(slot, t.cgroup === undefined ? { cpu } : { cgroupPath: t.cgroup, cpu }, known);
        }
      });
    }
  }

  /** Opens as many of the slot's members as will open, in one group; keeps the old group unless the new one has more. */
  #open(slot: Slot, target: PerfTarget, known: Map<EventName, PerfError>): void {
    const missing = new Map<EventName, PerfError>();
    let want = slot.members.filter((e) => {
      const e0 = known.get(e);
      if (e0 !== undefined) missing.set(e, e0);
      return e0 === undefined;
    });
    let opened: PerfGroup | undefined;
    while (want.length && opened === undefined) {
      const r = tryOpenGroup({ events: want, target });
      if (r.ok) {
        opened = r.group;
        break;
      }
      const err = r.error;
      const culprit = want.find((e) => e === err.event);
      const blamed = EVENT_SPECIFIC.has(err.reason) && culprit !== undefined && want.length > 1 ? [culprit] : want;
      for (const e of blamed) {
        missing.set(e, err);
        if (SAME_ON_EVERY_CPU.has(err.reason)) known.set(e, err);
      }
      want = want.filter((e) => !blamed.includes(e));
    }
    if (opened !== undefined && want.length > slot.open.length) {
      this.#retire(slot);
      slot.group = opened;
      slot.open = want;
    } else {
      opened?.close();
    }
    for (const e of slot.members) {
      if (slot.open.includes(e)) slot.missing.delete(e);
      else slot.missing.set(e, missing.get(e) ?? slot.missing.get(e) ?? new PerfError('error', `${e}: not opened`));
    }
  }

  /** Closes the slot's group, keeping its final counts as the base the next group counts on from. */
  #retire(slot: Slot): void {
    if (slot.group === undefined) return;
    try {
      for (const v of slot.group.read().values) slot.last.set(v.name as EventName, v.scaled);
    } catch {
      // keep the last collection's counts
    }
    for (const [e, v] of slot.last) slot.base.set(e, (slot.base.get(e) ?? 0) + v);
    slot.last.clear();
    slot.group.close();
    slot.group = undefined;
    slot.open = [];
  }

  #readTarget(t: Target): { counts: PerfCounts; status: PerfEventStatus[] } {
    const n = this.events.length;
    const c: Record<string, (number | null)[]> = {};
    const r: Record<string, (number | null)[]> = {};
    for (const [cpu, slots] of t.cpus) {
      const counts = new Array<number | null>(n).fill(null);
      const ratios = new Array<number | null>(n).fill(null);
      let any = false;
      for (const slot of slots) {
        if (slot.group === undefined) continue;
        let reading;
        try {
          reading = slot.group.read();
        } catch (err) {
          // e.g. the CPU went offline under the group: count it as missing until the re-check.
          const error = err instanceof PerfError ? err : new PerfError('error', errorMessage(err));
          const members = slot.open;
          this.#retire(slot);
          for (const e of members) slot.missing.set(e, error);
          continue;
        }
        for (const v of reading.values) {
          const e = v.name as EventName;
          const i = this.#index.get(e)!;
          slot.last.set(e, v.scaled);
          const total = (slot.base.get(e) ?? 0) + v.scaled;
          counts[i] = this.#seconds[i] ? total / 1e9 : total;
          // Nothing enabled yet (a cgroup that has not run on this CPU): no ratio exists, and 0
          // would read as "never got onto the PMU".
          ratios[i] = reading.enabled === 0 ? null : reading.ratio;
          any = true;
        }
      }
      if (any) {
        c[String(cpu)] = counts;
        r[String(cpu)] = ratios;
      }
    }
    const status = this.status(t.cgroup);
    const un: Record<string, string> = {};
    for (const s of status) if (!s.available) un[s.event] = s.error!.reason;
    return { counts: { c, r, un }, status };
  }

  /** Logs each change of an event's state; `statuses` in #targets order. */
  #report(statuses: PerfEventStatus[][] = this.#targets.map((t) => this.status(t.cgroup))): void {
    if (this.#closed) return;
    this.#targets.forEach((t, i) => {
      const where = t.cgroup === undefined ? '' : ` for cgroup ${t.cgroup}`;
      for (const s of statuses[i]!) {
        const key = `${t.cgroup ?? ''}\0${s.event}`;
        const reason = s.error?.reason ?? '';
        const before = this.#reported.get(key);
        if (before === reason) continue;
        this.#reported.set(key, reason);
        const fields = t.cgroup === undefined ? { event: s.event } : { event: s.event, cgroup: t.cgroup };
        if (s.error !== undefined) {
          this.#log.warn({ ...fields, reason, fix: s.error.fix }, `perf event ${s.event} cannot be counted${where}: ${s.error.message}`);
        } else if (before !== undefined) {
          this.#log.info(fields, `perf event ${s.event} is now counted${where} on CPUs ${this.#cpus.join(',')}`);
        }
      }
    });
    if (!this.#summarised) {
      this.#summarised = true;
      const counted = statuses[0]!.filter((s) => s.available).map((s) => s.event);
      this.#log.info(
        { counted, cpus: this.#cpus, cgroups: this.cgroups, fds: this.fdCount },
        `perf: counting ${counted.length} of ${this.events.length} events on ${this.#cpus.length} CPUs${this.cgroups.length ? ` and ${this.cgroups.length} cgroups` : ''} (${this.fdCount} fds)`,
      );
    }
  }
}

export const perf: CollectorDefinition = {
  name: 'perf',
  defaultEnabled: true,
  description:
    'perf_event_open counters per CPU (and per configured cgroup): cycles, instructions, cache and branch misses, software events; scaled for multiplexing, with a reason for every event that cannot be counted',
  create(config, log) {
    const events = resolvePerfEvents(config.perfEvents);
    const make = (cgroups: readonly string[]) => new PerfCounters({ events, cgroups, sysRoot: config.sysRoot, fdBudget: config.perfFdBudget, log });
    let counters = make(config.perfCgroups);
    /** discovered cgroups the fd budget leaves out (PERFWATCH_PERF_CGROUP_DISCOVERY) */
    let left: string[] = [];
    // PerfCounters turns every perf failure into a reason; anything else thrown is a bug, which
    // must still not stop the exporter from starting or the perf section from being read.
    const refresh = () => {
      try {
        counters.refresh();
        if (config.perfCgroupDiscovery) {
          // the set changes only at a re-check; a new set re-opens every group (counts restart)
          const plan = planPerfCgroups(config, (wanted) => cgroupCapacity(events.length, counters.cpus.length, config.perfFdBudget, counters.fdCount, wanted));
          left = plan.left;
          if (plan.counted.join('\0') !== counters.cgroups.join('\0')) {
            counters.close();
            counters = make(plan.counted);
            counters.refresh();
          }
        }
      } catch (err) {
        log.error({ err: errorMessage(err) }, 'perf: opening counters failed unexpectedly; trying again at the next re-check');
      }
    };
    refresh();
    const recheckMs = config.perfRecheckSeconds * 1000;
    let nextCheck = Date.now() + recheckMs;
    return {
      collect() {
        // Re-checked from collect, not a timer: nothing to leak, and no work while nobody collects.
        if (Date.now() >= nextCheck) {
          nextCheck = Date.now() + recheckMs;
          refresh();
        }
        const section = counters.read();
        if (left.length) {
          section.cg ??= {};
          const un = Object.fromEntries(section.ev.map((e) => [e, 'fd budget']));
          for (const d of left) section.cg[d] = { c: {}, r: {}, un };
        }
        return { perf: section };
      },
      close() {
        counters.close();
      },
    };
  },
};
