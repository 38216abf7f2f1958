/**
 * `npm run doctor`: what a person runs when perf counters are missing. It opens the configured
 * events exactly as the perf collector does (same groups, CPUs, cgroups and fd budget) and prints
 * each one as available or not with the reason and the fix, then the host facts behind those
 * answers: perf_event_paranoid, capabilities, the fd limit and the fds needed, online CPUs, PMUs,
 * whether the native addon is built, and whether the database answers.
 *
 * Exit status: 0 whatever the events' state (it is a report), 2 on a configuration error.
 */
import { realpathSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { release } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  checkFdBudget,
  effectiveCapabilities,
  eventSources,
  fdLimit,
  formatCpuList,
  formatLimit,
  hardwarePmus,
  nativeStatus,
  openFdCount,
  perfEventParanoid,
  type Capabilities,
} from '@perfwatch/native';
import { loadConfig, type ExporterConfig } from './config.js';
import { ConfigError, errorMessage } from './errors.js';
import { createLogger } from './log.js';
import { PerfCounters, resolvePerfEvents, type PerfEventStatus } from './collectors/perf.js';

type Env = Record<string, string | undefined>;
type Out = (line: string) => void;

const LABEL = 22;
const WIDTH = 100;
const DB_TIMEOUT_MS = 3000;

const row = (label: string, value: string): string => `  ${label.padEnd(LABEL)}${value}`;

/** Word-wraps `text` to WIDTH columns, every line indented by `indent` spaces. */
function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => `${' '.repeat(indent)}${l}`);
}

function attempt<T>(f: () => T): { ok: true; value: T } | { ok: false; error: string } {
  try {
    return { ok: true, value: f() };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
}

function paranoidText(p: number | undefined): string {
  if (p === undefined) return 'unknown (/proc/sys/kernel/perf_event_paranoid missing: a kernel without perf events?)';
  const meaning: Record<string, string> = {
    '-1': 'everything is allowed to every process',
    '0': 'unprivileged processes may count system-wide and per cgroup',
    '1': 'unprivileged processes may count only their own processes (kernel included)',
    '2': 'unprivileged processes may count only their own processes, user mode only',
  };
  return `${p}: ${meaning[String(p)] ?? 'no perf_event_open at all without CAP_PERFMON (a Debian/Ubuntu patch)'}`;
}

function capabilitiesText(caps: Capabilities, paranoid: number | undefined): string {
  const have = caps.names.length ? caps.names.join(', ') : 'none of CAP_PERFMON, CAP_SYS_ADMIN, CAP_SYS_PTRACE';
  const systemWide = caps.perfmon || caps.sysAdmin || (paranoid !== undefined && paranoid <= 0);
  return `CapEff ${caps.capEff}: ${have}; system-wide counting ${systemWide ? 'allowed' : 'refused (needs CAP_PERFMON or perf_event_paranoid <= 0)'}`;
}

/** Where DATABASE_URL points (loadConfig has checked it is a postgres:// URL): a TCP host:port,
 *  or a Unix socket for a `?host=/dir` URL. */
function databaseTarget(url: string): { host: string; port: number } | { path: string } {
  const u = new URL(url);
  const port = u.port === '' ? 5432 : Number(u.port);
  const socketDir = u.searchParams.get('host');
  if (u.hostname === '' && socketDir !== null && socketDir.startsWith('/')) return { path: `${socketDir}/.s.PGSQL.${port}` };
  return { host: u.hostname === '' ? 'localhost' : u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/** Connects (TCP or Unix socket) and hangs up: whether anything listens there, without a pg client. */
function probeConnect(target: { host: string; port: number } | { path: string }, timeoutMs = DB_TIMEOUT_MS): Promise<{ ok: boolean; detail: string }> {
  const where = 'path' in target ? target.path : `${target.host}:${target.port}`;
  return new Promise((resolve) => {
    const start = performance.now();
    let sock: Socket;
    const done = (ok: boolean, detail: string) => {
      sock.destroy();
      resolve({ ok, detail });
    };
    sock = 'path' in target ? connect({ path: target.path }) : connect({ host: target.host, port: target.port });
    sock.setTimeout(timeoutMs);
    sock.once('connect', () => done(true, `${where}, connected in ${Math.round(performance.now() - start)} ms`));
    sock.once('timeout', () => done(false, `${where}: no answer within ${timeoutMs / 1000} s`));
    sock.once('error', (err: NodeJS.ErrnoException) => done(false, `${where}: ${err.code ?? err.message}`));
  });
}

async function databaseLine(url: string | undefined): Promise<string> {
  if (url === undefined) return 'not configured (DATABASE_URL unset)';
  const r = await probeConnect(databaseTarget(url));
  return `${r.ok ? 'reachable' : 'NOT reachable'} (${r.detail})`;
}

function eventTable(statuses: readonly PerfEventStatus[], cpus: readonly number[], out: Out): void {
  const w = Math.max(LABEL - 2, ...statuses.map((s) => s.event.length + 2));
  out(`  ${'EVENT'.padEnd(w)}${'STATUS'.padEnd(14)}REASON`);
  // Many events fail for one cause (six hardware events on a VM): say the cause and fix once.
  const explained = new Map<string, string>();
  for (const s of statuses) {
    if (s.available) {
      out(`  ${s.event.padEnd(w)}${'available'.padEnd(14)}counted on CPUs ${formatCpuList(s.countedOn)}`);
      continue;
    }
    const e = s.error!;
    const partly = s.countedOn.length ? ` (counted on CPUs ${formatCpuList(s.countedOn)} of ${formatCpuList(cpus)})` : '';
    out(`  ${s.event.padEnd(w)}${'unavailable'.padEnd(14)}${e.reason}${partly}`);
    const key = `${e.reason}\0${e.fix}`;
    const first = explained.get(key);
    if (first !== undefined) {
      out(`  ${' '.repeat(w)}same cause and fix as ${first}`);
      continue;
    }
    explained.set(key, s.event);
    for (const l of wrap(e.detail, w + 2)) out(l);
    if (e.fix !== '') for (const l of wrap(`fix: ${e.fix}`, w + 2)) out(l);
  }
}

/** Prints the report; returns the exit status. */
export async function doctor(env: Env, out: Out, err: Out = out): Promise<number> {
  let config: ExporterConfig;
  let events;
  try {
    config = loadConfig(env);
    events = resolvePerfEvents(config.perfEvents);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`perfwatch doctor: configuration error: ${e.message}`);
      return 2;
    }
    throw e;
  }

  const counters = new PerfCounters({ events, cgroups: config.perfCgroups, sysRoot: config.sysRoot, fdBudget: config.perfFdBudget, log: createLogger('silent') });
  // PerfCounters never throws: every failure is a reason on the events it concerns.
  counters.refresh();
  const statuses = counters.status();
  const cgroupStatuses = config.perfCgroups.map((cg) => [cg, counters.status(cg)] as const);
  const held = counters.fdCount;
  const needed = counters.fdsNeeded;
  const fdsNow = attempt(() => openFdCount() - held);
  const cpus = counters.cpus;
  counters.close();

  const paranoid = attempt(() => perfEventParanoid());
  const caps = attempt(() => effectiveCapabilities());
  const limit = attempt(() => fdLimit());
  const native = nativeStatus();
  const pmus = hardwarePmus(config.sysRoot);
  const budget = checkFdBudget(needed, { budget: config.perfFdBudget, ...(fdsNow.ok ? { openFds: fdsNow.value } : {}) });
  const targets = 1 + config.perfCgroups.length;

  out('PerfWatch doctor: which perf counters this host can count, and why not');
  out('');
  out(`events (PERFWATCH_PERF_EVENTS), system-wide on every online CPU`);
  eventTable(statuses, cpus, out);
  for (const [cg, st] of cgroupStatuses) {
    out('');
    out(`cgroup ${cg} (PERFWATCH_PERF_CGROUPS)`);
    eventTable(st, cpus, out);
  }

  out('');
  out('host');
  out(row('kernel', release()));
  out(row('uid', String(process.getuid?.() ?? 'unknown')));
  const paranoidValue = paranoid.ok ? paranoid.value : undefined;
  out(row('perf_event_paranoid', paranoid.ok ? paranoidText(paranoid.value) : `cannot read: ${paranoid.error}`));
  out(row('capabilities', caps.ok ? capabilitiesText(caps.value, paranoidValue) : `cannot read: ${caps.error}`));
  out(row('online CPUs', cpus.length ? `${formatCpuList(cpus)} (${cpus.length}, from ${config.sysRoot}/devices/system/cpu/online)` : `none found under ${config.sysRoot}`));
  const sources = eventSources(config.sysRoot).join(', ') || 'none';
  out(row('hardware PMU', pmus.length ? pmus.join(', ') : `none (event sources: ${sources}): hardware events need a PMU`));
  out(row('native addon', native.available ? `built (${native.path})` : `NOT built: ${native.reason}`));
  out(row('fd limit', limit.ok ? `RLIMIT_NOFILE soft ${formatLimit(limit.value.soft)}, hard ${formatLimit(limit.value.hard)}; ${fdsNow.ok ? fdsNow.value : '?'} fds open besides perf` : `cannot read: ${limit.error}`));
  const fdsLine = `${needed} = ${events.length} events x ${cpus.length} CPUs x ${targets} target${targets > 1 ? 's' : ''}${config.perfCgroups.length ? ' (+1 while opening a cgroup)' : ''}; budget ${config.perfFdBudget} (PERFWATCH_PERF_FD_BUDGET)`;
  out(row('fds needed', `${fdsLine}: ${budget.ok ? `ok (${held} held by the events that opened)` : budget.error!.message}`));
  out(row('re-check', `every ${config.perfRecheckSeconds} s the exporter retries what could not be counted (PERFWATCH_PERF_RECHECK_SECONDS)`));
  out(row('database', await databaseLine(config.databaseUrl)));

  const unavailable = statuses.filter((s) => !s.available);
  out('');
  const byReason = new Map<string, number>();
  for (const s of unavailable) byReason.set(s.error!.reason, (byReason.get(s.error!.reason) ?? 0) + 1);
  const reasons = [...byReason].map(([r, n]) => `${n} ${r}`).join(', ');
  out(`summary: ${statuses.length - unavailable.length} of ${statuses.length} events available system-wide${reasons ? `; unavailable: ${reasons}` : ''} (docs/perf.md explains every reason)`);
  return 0;
}

function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  doctor(
    process.env,
    (line) => process.stdout.write(`${line}\n`),
    (line) => process.stderr.write(`${line}\n`),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`perfwatch doctor failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
