/**
 * Every way opening or reading a perf counter can fail, as a short `reason` (fit for a metric
 * label: perfwatch_perf_event_available{event,reason}) plus a sentence that says what happened
 * and a `fix` that says what to do. The C++ side only reports errno/syscall; the facts that turn
 * an errno into advice (perf_event_paranoid, capabilities, fd limits, PMUs, online CPUs) are
 * gathered in TypeScript and passed to the pure explainOpenFailure(), which the tests drive
 * table-style.
 */
import type { EventSpec } from './catalog.js';

export type PerfReason =
  | 'permission'
  | 'not supported'
  | 'too many open files'
  | 'fd budget'
  | 'busy'
  | 'no such cgroup'
  | 'no such process'
  | 'cpu offline'
  | 'invalid'
  | 'native addon not built'
  | 'closed'
  | 'error';

export const PERF_ERROR_CODES = {
  permission: 'PERF_PERMISSION',
  'not supported': 'PERF_NOT_SUPPORTED',
  'too many open files': 'PERF_TOO_MANY_OPEN_FILES',
  'fd budget': 'PERF_FD_BUDGET',
  busy: 'PERF_BUSY',
  'no such cgroup': 'PERF_NO_SUCH_CGROUP',
  'no such process': 'PERF_NO_SUCH_PROCESS',
  'cpu offline': 'PERF_CPU_OFFLINE',
  invalid: 'PERF_INVALID',
  'native addon not built': 'PERF_NOT_BUILT',
  closed: 'PERF_CLOSED',
  error: 'PERF_ERROR',
} as const satisfies Record<PerfReason, string>;

export type PerfErrorCode = (typeof PERF_ERROR_CODES)[PerfReason];

export interface PerfErrorOptions {
  /** What to do about it, for a person reading the log or `npm run doctor`. */
  fix?: string;
  /** errno name from the failed syscall, e.g. 'EACCES'. */
  errno?: string;
  syscall?: string;
  /** The event that failed, when the failure is about one event. */
  event?: string;
  cause?: unknown;
}

/** The one error type of @perfwatch/native. message = `${reason}: ${detail}`. */
export class PerfError extends Error {
  readonly code: PerfErrorCode;
  readonly fix: string;
  readonly errno: string | undefined;
  readonly syscall: string | undefined;
  readonly event: string | undefined;

  constructor(
    readonly reason: PerfReason,
    readonly detail: string,
    options: PerfErrorOptions = {},
  ) {
    super(`${reason}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PerfError';
    this.code = PERF_ERROR_CODES[reason];
    this.fix = options.fix ?? '';
    this.errno = options.errno;
    this.syscall = options.syscall;
    this.event = options.event;
  }
}

export type PerfTarget =
  /** System-wide on one CPU (pid -1): every task that runs there, idle time included for clocks. */
  | { readonly cpu: number }
  /** One thread: a process id counts its main thread (inherit=0); cpu -1 or absent = any CPU. */
  | { readonly pid: number; readonly cpu?: number }
  /** Tasks of one cgroup (v2 directory, or a v1 perf_event hierarchy directory) on one CPU. */
  | { readonly cgroupPath: string; readonly cpu: number };

export function describeTarget(target: PerfTarget): string {
  if ('cgroupPath' in target) return `cgroup ${target.cgroupPath} on cpu ${target.cpu}`;
  if ('pid' in target) {
    const cpu = target.cpu ?? -1;
    const who = target.pid === 0 ? 'pid 0 (the calling thread)' : `pid ${target.pid}`;
    return `${who} on ${cpu < 0 ? 'any CPU' : `cpu ${cpu}`}`;
  }
  return `cpu ${target.cpu} (system-wide)`;
}

/** What the native side reports about a failed open. */
export interface OpenFailure {
  errno: string;
  /** 'perf_event_open', 'open' (the cgroup directory) or an ioctl. */
  syscall: string;
  /** The failing event; undefined when the failure is not about one event. */
  event: EventSpec | undefined;
  target: PerfTarget;
  /** fds the whole group needs (events, +1 for the cgroup directory while opening). */
  fdsNeeded: number;
  excludeKernel?: boolean;
}

export interface Capabilities {
  /** CapEff from /proc/self/status, hex as the kernel prints it. */
  readonly capEff: string;
  readonly perfmon: boolean;
  readonly sysAdmin: boolean;
  readonly sysPtrace: boolean;
  /** The perf-relevant capabilities present, e.g. ['CAP_PERFMON']. */
  readonly names: readonly string[];
}

/** Facts about the host that explain a failure. Each may be unknown (undefined). */
export interface SystemFacts {
  paranoid?: number | undefined;
  capabilities?: Capabilities | undefined;
  uid?: number | undefined;
  fdLimit?: { soft: number; hard: number } | undefined;
  openFds?: number | undefined;
  /** Core PMUs found under /sys/bus/event_source/devices (e.g. ['cpu']). */
  hardwarePmus?: readonly string[] | undefined;
  /** Every PMU directory name under /sys/bus/event_source/devices. */
  allPmus?: readonly string[] | undefined;
  onlineCpus?: readonly number[] | undefined;
}

const PERMISSION_FIX =
  'lower the sysctl (sysctl -w kernel.perf_event_paranoid=0, persist it in /etc/sysctl.d/; it is ' +
  'host-wide, containers cannot change it) or grant CAP_PERFMON (Linux >= 5.8; older kernels: ' +
  'CAP_SYS_ADMIN): systemd AmbientCapabilities=CAP_PERFMON, setcap cap_perfmon+ep on the node ' +
  'binary, or docker run --cap-add PERFMON (which also lets Docker\'s default seccomp profile ' +
  'allow perf_event_open)';

/** An rlimit value as ulimit prints it: the number, or 'unlimited' (Infinity). */
export const formatLimit = (n: number): string => (Number.isFinite(n) ? String(n) : 'unlimited');

function kindOf(event: EventSpec | undefined): string {
  return event === undefined ? '' : event.kind;
}

function cpuOf(target: PerfTarget): number {
  return 'pid' in target ? (target.cpu ?? -1) : target.cpu;
}

/**
 * Turns one failed open into a PerfError with a reason, a detail and a fix. Pure: every fact
 * comes in through `facts`, so tests can cover each branch without the host being in that state.
 */
export function explainOpenFailure(f: OpenFailure, facts: SystemFacts): PerfError {
  const what = f.event === undefined ? describeTarget(f.target) : `${f.event.name} on ${describeTarget(f.target)}`;
  const base = { errno: f.errno, syscall: f.syscall, event: f.event?.name };
  const cpu = cpuOf(f.target);
  const cgroup = 'cgroupPath' in f.target ? f.target.cgroupPath : undefined;

  // The cgroup directory itself (opened before any event).
  if (f.syscall === 'open' && cgroup !== undefined) {
    if (f.errno === 'ENOENT' || f.errno === 'ENOTDIR') {
      return new PerfError('no such cgroup', `cgroup directory ${cgroup} does not exist (${f.errno})`, {
        ...base,
        fix: 'check the configured cgroup path; it must be a directory of a mounted cgroup v2 hierarchy (e.g. /sys/fs/cgroup/system.slice/x.service)',
      });
    }
    if (f.errno === 'EACCES' || f.errno === 'EPERM') {
      return new PerfError('permission', `cannot open cgroup directory ${cgroup} (${f.errno})`, {
        ...base,
        fix: 'run the exporter as a user that can read the cgroup directory',
      });
    }
  }

  switch (f.errno) {
    case 'EACCES':
    case 'EPERM':
      return permission(f, facts, what, base);
    case 'EMFILE':
    case 'ENFILE':
      return tooManyOpenFiles(f, facts, what, base);
    case 'EBUSY':
      return new PerfError('busy', `${what}: the PMU counters are in exclusive use (EBUSY)`, {
        ...base,
        fix: 'another profiler holds pinned or exclusive counters: stop it (perf record/stat -e ...:D, vendor tools); on x86 the NMI watchdog also holds a counter (sysctl kernel.nmi_watchdog=0 frees it)',
      });
    case 'ESRCH':
      return new PerfError('no such process', `${what}: the process does not exist (it may have exited)`, {
        ...base,
        fix: 'check the pid; re-open when the process is restarted',
      });
    default:
      break;
  }

  // CPU offline or out of range: ENODEV for an offline CPU, EINVAL for cpu >= nr_cpu_ids.
  if ((f.errno === 'ENODEV' || f.errno === 'EINVAL') && cpu >= 0 && facts.onlineCpus !== undefined && !facts.onlineCpus.includes(cpu)) {
    return new PerfError('cpu offline', `${what}: cpu ${cpu} is offline or does not exist (online: ${formatCpuList(facts.onlineCpus)})`, {
      ...base,
      fix: 'open groups only on the CPUs in /sys/devices/system/cpu/online and re-check when CPUs come online',
    });
  }

  if (cgroup !== undefined && f.errno === 'EBADF') {
    return new PerfError('no such cgroup', `${cgroup} is not a cgroup directory (EBADF)`, {
      ...base,
      fix: 'give a directory of a cgroup v2 hierarchy (or of a cgroup v1 hierarchy with the perf_event controller)',
    });
  }
  if (cgroup !== undefined && f.errno === 'ENOENT' && kindOf(f.event) === 'software') {
    // Software events always exist, so ENOENT here means the cgroup has no perf_event css.
    return new PerfError('no such cgroup', `${cgroup} is a cgroup directory without the perf_event controller (ENOENT)`, {
      ...base,
      fix: 'use the cgroup v2 path of the group (perf_event is implicit there) or mount a cgroup v1 hierarchy with -o perf_event',
    });
  }

  if (f.errno === 'ENOENT' || f.errno === 'EOPNOTSUPP' || f.errno === 'ENODEV' || f.errno === 'ENOSYS') {
    return notSupported(f, facts, what, base);
  }

  if (f.errno === 'EINVAL' || f.errno === 'E2BIG' || f.errno === 'EOVERFLOW') {
    const e = f.event;
    const attrs = e === undefined ? '' : ` (type ${e.type}, config 0x${e.config.toString(16)})`;
    return new PerfError('invalid', `${what}: the kernel rejected the event attributes${attrs} (${f.errno})`, {
      ...base,
      fix: 'check the event type/config (raw events are CPU-model specific) and the target; `perf stat -e <event>` shows whether perf itself can open it',
    });
  }

  return new PerfError('error', `${what}: ${f.syscall} failed with ${f.errno}`, {
    ...base,
    fix: 'unexpected error; run `npm run doctor` and report it with its output',
  });
}

function permission(f: OpenFailure, facts: SystemFacts, what: string, base: PerfErrorOptions): PerfError {
  const p = facts.paranoid;
  const caps = facts.capabilities;
  const privileged = caps !== undefined && (caps.perfmon || caps.sysAdmin);
  const who = facts.uid === undefined ? 'this process' : `this process (uid ${facts.uid})`;
  const capText =
    caps === undefined
      ? 'has unknown capabilities'
      : privileged
        ? `has ${caps.names.filter((n) => n !== 'CAP_SYS_PTRACE').join(' and ')}`
        : 'lacks CAP_PERFMON and CAP_SYS_ADMIN';
  const cpuWide = !('pid' in f.target);
  let need: string;
  if (p !== undefined && p >= 3) {
    need = 'level 3 (a Debian/Ubuntu patch) refuses every perf_event_open without CAP_PERFMON';
  } else if (cpuWide) {
    need = 'system-wide and cgroup counting needs perf_event_paranoid <= 0 or CAP_PERFMON';
  } else if (!f.excludeKernel) {
    need =
      'counting a process including kernel mode needs perf_event_paranoid <= 1 or CAP_PERFMON (excludeKernel: true needs <= 2); ' +
      'another user\'s process also needs CAP_SYS_PTRACE';
  } else {
    need = 'counting another user\'s process needs CAP_SYS_PTRACE (ptrace access mode read)';
  }
  const otherUser = 'pid' in f.target && f.excludeKernel === true;
  let detail = `${what} was refused (${f.errno}): perf_event_paranoid is ${p ?? 'unknown (/proc/sys/kernel/perf_event_paranoid missing)'} and ${who} ${capText}; ${need}`;
  let fix = otherUser ? `run as the owner of the process or grant CAP_SYS_PTRACE; else ${PERMISSION_FIX}` : PERMISSION_FIX;
  if (privileged) {
    // Capability present yet refused: something outside perf's own checks said no.
    detail += '; since the capability is present, a seccomp profile or an LSM (SELinux/AppArmor) refused the call';
    fix =
      'allow perf_event_open in the seccomp profile (docker: --cap-add PERFMON lets the default profile allow it, or --security-opt seccomp=<profile>; Kubernetes: a Localhost seccomp profile) or in the LSM policy';
  }
  return new PerfError('permission', detail, { ...base, fix });
}

function tooManyOpenFiles(f: OpenFailure, facts: SystemFacts, what: string, base: PerfErrorOptions): PerfError {
  if (f.errno === 'ENFILE') {
    return new PerfError('too many open files', `${what}: the system-wide open file table is full (ENFILE); this group needed ${f.fdsNeeded} fds`, {
      ...base,
      fix: 'raise fs.file-max (sysctl) or find the process holding the files (cat /proc/sys/fs/file-nr)',
    });
  }
  const lim = facts.fdLimit;
  const limText = lim === undefined ? 'RLIMIT_NOFILE is unknown' : `RLIMIT_NOFILE soft limit is ${formatLimit(lim.soft)} (hard ${formatLimit(lim.hard)})`;
  const openText = facts.openFds === undefined ? '' : ` with ${facts.openFds} already open`;
  return new PerfError('too many open files', `${what}: needed ${f.fdsNeeded} fds for this group but ${limText}${openText} (EMFILE)`, {
    ...base,
    fix: fdLimitFix(lim),
  });
}

/** How to raise RLIMIT_NOFILE, given the current limits. */
export function fdLimitFix(lim: { soft: number; hard: number } | undefined): string {
  const raiseSoft = lim !== undefined && lim.hard > lim.soft ? `the hard limit is ${formatLimit(lim.hard)}, so \`ulimit -n ${formatLimit(lim.hard)}\` before starting is enough; otherwise ` : '';
  return (
    `${raiseSoft}raise RLIMIT_NOFILE (systemd LimitNOFILE=65536, docker run --ulimit nofile=65536:65536, ` +
    'ulimit -n) or open fewer events, CPUs or cgroups: fds = events x CPUs x (1 + cgroups)'
  );
}

function notSupported(f: OpenFailure, facts: SystemFacts, what: string, base: PerfErrorOptions): PerfError {
  const kind = kindOf(f.event);
  if (f.errno === 'ENOSYS') {
    return new PerfError('not supported', `${what}: perf_event_open is not available (ENOSYS: kernel without CONFIG_PERF_EVENTS, or filtered)`, {
      ...base,
      fix: 'use a kernel built with CONFIG_PERF_EVENTS; in a sandbox (gVisor, some seccomp profiles) perf counters are unavailable',
    });
  }
  if ((kind === 'hardware' || kind === 'cache' || kind === 'raw') && facts.hardwarePmus !== undefined && facts.hardwarePmus.length === 0) {
    const found = facts.allPmus === undefined ? '' : ` (found: ${facts.allPmus.join(', ') || 'none'})`;
    return new PerfError('not supported', `${what}: no hardware PMU: /sys/bus/event_source/devices has no cpu PMU${found}, typical of a VM without a virtual PMU (${f.errno})`, {
      ...base,
      fix: 'hardware events need a PMU: run on bare metal or enable the virtual PMU (KVM/QEMU: -cpu host,pmu=on; VMware: "virtualize CPU performance counters"; cloud: bare-metal or PMU-enabled instance types); software events still work',
    });
  }
  if (kind === 'hardware' || kind === 'cache' || kind === 'raw') {
    return new PerfError('not supported', `${what}: the CPU's PMU does not implement this event (${f.errno})`, {
      ...base,
      fix: 'drop the event from the configured list (e.g. stalled-cycles-* on most Intel CPUs); `perf list` shows what this CPU offers',
    });
  }
  return new PerfError('not supported', `${what}: the kernel does not support this event here (${f.errno})`, {
    ...base,
    fix: 'drop the event from the configured list; `perf stat -e <event>` shows whether perf itself can open it',
  });
}

/** Inverse of parseCpuList: [0,1,2,3,5] -> '0-3,5'. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',') || 'none';
}
