/**
 * Host facts a perf collector needs before and after opening counters, read from /proc and /sys
 * (roots injectable, like node_exporter's --path.procfs/--path.sysfs), each with a pure parser:
 *   /sys/devices/system/cpu/online      Documentation/ABI/testing/sysfs-devices-system-cpu
 *   /proc/sys/kernel/perf_event_paranoid Documentation/admin-guide/sysctl/kernel.rst
 *   /proc/self/status CapEff             man 5 proc_pid_status, man 7 capabilities
 *   /proc/self/limits "Max open files"   man 5 proc_pid_limits
 *   /sys/bus/event_source/devices/*      Documentation/ABI/testing/sysfs-bus-event_source-devices
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { fdLimitFix, formatLimit, PerfError, type Capabilities } from './errors.js';
import { nativeStatus } from './native.js';

/** Parses a kernel CPU list such as '0-3,5' (cpulist format). Throws naming `source` on malformed text. */
export function parseCpuList(text: string, source = 'cpu list'): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const cpus: number[] = [];
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) throw new PerfError('error', `${source}: cannot parse "${part}" in CPU list "${trimmed}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new PerfError('error', `${source}: range "${part}" runs backwards`);
    for (let c = lo; c <= hi; c++) cpus.push(c);
  }
  return [...new Set(cpus)].sort((a, b) => a - b);
}

/** CPUs the kernel has online now (hotplug can change it; re-read before each (re)open). */
export function onlineCpus(sysRoot = '/sys'): number[] {
  const file = join(sysRoot, 'devices/system/cpu/online');
  return parseCpuList(readFileSync(file, 'utf8'), file);
}

/** /proc/sys/kernel/perf_event_paranoid, or undefined when the file is missing (no perf events). */
export function perfEventParanoid(procRoot = '/proc'): number | undefined {
  const file = join(procRoot, 'sys/kernel/perf_event_paranoid');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const n = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(n)) throw new PerfError('error', `${file}: not an integer: "${text.trim()}"`);
  return n;
}

/** capability numbers from include/uapi/linux/capability.h */
export const CAP = { CAP_SYS_PTRACE: 19, CAP_SYS_ADMIN: 21, CAP_PERFMON: 38 } as const;

/** The CapEff mask from the text of /proc/<pid>/status. */
export function parseCapEff(statusText: string, source = 'status'): bigint {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  if (m === null) throw new PerfError('error', `${source}: no CapEff line`);
  return BigInt(`0x${m[1]}`);
}

export function capabilitiesFromMask(mask: bigint): Capabilities {
  const has = (bit: number): boolean => ((mask >> BigInt(bit)) & 1n) === 1n;
  const names = (Object.keys(CAP) as (keyof typeof CAP)[]).filter((n) => has(CAP[n]));
  return Object.freeze({
    capEff: mask.toString(16).padStart(16, '0'),
    perfmon: has(CAP.CAP_PERFMON),
    sysAdmin: has(CAP.CAP_SYS_ADMIN),
    sysPtrace: has(CAP.CAP_SYS_PTRACE),
    names: Object.freeze(names),
  });
}

/** The perf-relevant effective capabilities of this process. */
export function effectiveCapabilities(procRoot = '/proc'): Capabilities {
  const file = join(procRoot, 'self/status');
  return capabilitiesFromMask(parseCapEff(readFileSync(file, 'utf8'), file));
}

export interface FdLimit {
  /** RLIMIT_NOFILE soft limit (the one EMFILE enforces); Infinity when unlimited. */
  soft: number;
  hard: number;
}

/** The "Max open files" row of /proc/<pid>/limits. */
export function parseLimitsNofile(limitsText: string, source = 'limits'): FdLimit {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (m === null) throw new PerfError('error', `${source}: no "Max open files" line`);
  const v = (s: string): number => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: v(m[1] as string), hard: v(m[2] as string) };
}

/** RLIMIT_NOFILE: getrlimit(2) through the addon, /proc/self/limits when the addon is not built. */
export function fdLimit(procRoot = '/proc'): FdLimit {
  const native = nativeStatus();
  if (native.available && procRoot === '/proc') return native.binding.rlimitNofile();
  const file = join(procRoot, 'self/limits');
  return parseLimitsNofile(readFileSync(file, 'utf8'), file);
}

/** fds this process has open now: the entries of /proc/self/fd, minus the one used to list it. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length - 1;
}

/** Every PMU the kernel registered (/sys/bus/event_source/devices), e.g. cpu, software, tracepoint. */
export function eventSources(sysRoot = '/sys'): string[] {
  try {
    return readdirSync(join(sysRoot, 'bus/event_source/devices')).sort();
  } catch {
    return [];
  }
}

/**
 * PMUs that count PERF_TYPE_HARDWARE / HW_CACHE events: `cpu` on x86, `cpu_core`/`cpu_atom` on
 * hybrid Intel, and whichever PMU registered as PERF_TYPE_RAW (4), e.g. armv8_pmuv3_0. Empty on
 * a VM without a virtual PMU, where hardware events fail with "not supported".
 */
export function hardwarePmus(sysRoot = '/sys'): string[] {
  const dir = join(sysRoot, 'bus/event_source/devices');
  return eventSources(sysRoot).filter((name) => {
    if (name === 'cpu' || name === 'cpu_core' || name === 'cpu_atom') return true;
    try {
      return readFileSync(join(dir, name, 'type'), 'utf8').trim() === '4';
    } catch {
      return false;
    }
  });
}

type Count = number | { readonly length: number };
const count = (c: Count): number => (typeof c === 'number' ? c : c.length);

export interface FdsNeededInput {
  /** Events opened per target per CPU (all groups together). */
  events: Count;
  cpus: Count;
  /** cgroups counted separately on every CPU. */
  cgroups?: Count;
  /** Whether system-wide (pid -1) groups are opened too; default true. */
  systemWide?: boolean;
}

/**
 * fds a collector holds open: one per event per CPU per target (system-wide counts as one
 * target, each cgroup as another), plus one transient fd for a cgroup directory while opening.
 */
export function fdsNeeded(input: FdsNeededInput): number {
  const cgroups = count(input.cgroups ?? 0);
  const targets = (input.systemWide === false ? 0 : 1) + cgroups;
  return count(input.events) * count(input.cpus) * targets + (cgroups > 0 ? 1 : 0);
}

export interface FdBudgetInput {
  /** A configured cap on perf fds; undefined = only RLIMIT_NOFILE applies. */
  budget?: number | undefined;
  /** fds kept free for everything else (sockets, files, the database pool). Default 64. */
  reserve?: number;
  /** Injectable for tests; default fdLimit() and openFdCount(). */
  limit?: FdLimit;
  openFds?: number;
}

export interface FdBudgetCheck {
  ok: boolean;
  needed: number;
  budget: number | undefined;
  limit: FdLimit;
  openFds: number;
  /** fds still available to perf under RLIMIT_NOFILE after the reserve. */
  available: number;
  /** Set when ok is false: reason 'fd budget' or 'too many open files'. */
  error?: PerfError;
}

/**
 * Decides before opening anything whether `needed` fds fit, so an over-large configuration gets
 * one clear reason instead of EMFILE halfway through (and EMFILE for the rest of the process).
 */
export function checkFdBudget(needed: number, input: FdBudgetInput = {}): FdBudgetCheck {
  const limit = input.limit ?? fdLimit();
  const openFds = input.openFds ?? openFdCount();
  const reserve = input.reserve ?? 64;
  const available = Math.max(0, limit.soft - openFds - reserve);
  const result: FdBudgetCheck = { ok: true, needed, budget: input.budget, limit, openFds, available };
  if (input.budget !== undefined && needed > input.budget) {
    result.ok = false;
    result.error = new PerfError('fd budget', `perf counters need ${needed} fds (events x CPUs x targets) but the configured fd budget is ${input.budget}`, {
      fix: 'raise the perf fd budget in the configuration, or configure fewer events or cgroups',
    });
  } else if (needed > available) {
    result.ok = false;
    result.error = new PerfError(
      'too many open files',
      `perf counters need ${needed} fds but RLIMIT_NOFILE soft limit is ${formatLimit(limit.soft)} (hard ${formatLimit(limit.hard)}) with ${openFds} already open and ${reserve} kept in reserve, leaving ${available}`,
      { fix: fdLimitFix(limit) },
    );
  }
  return result;
}
