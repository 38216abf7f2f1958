/** GET /api/v1/status: hosts and their health, storage per tier, retention schedule (docs/api.md, "Status"). */
import { request } from './http.js';
import type { Tier } from './types.js';

export interface CollectorHealth {
  name: string;
  ok: boolean;
  seconds: number;
  error?: string;
}

export interface HostStatus {
  name: string;
  lastSeen: string | null;
  ageSeconds: number | null;
  stale: boolean;
  staleAfterSeconds: number;
  intervalSeconds: number | null;
  collectors: CollectorHealth[];
  perf: { events: string[]; unavailable: Record<string, string> } | null;
  /** the cgroup collector: groups with series, those summed into "other", the biggest consumers (CPU cores between the two newest snapshots). */
  containers: {
    cgroups: number;
    other: number;
    top: { cgroup: string; name: string; cpuCores: number | null; memoryBytes: number | null }[];
  } | null;
}

export interface TierStorage {
  tier: Tier;
  rows: number;
  rowsEstimated: boolean;
  bytes: number;
  partitions: number;
  days: number;
}

export interface RunSummary {
  startedAt: string;
  finishedAt: string | null;
  durationSeconds: number | null;
  droppedPartitions: string[];
  error: string | null;
}

export interface Status {
  version: string;
  revision: string;
  now: string;
  database: { sizeBytes: number; serverVersion: string };
  hosts: HostStatus[];
  storage: TierStorage[];
  retention: { enabled: boolean; cron: string | null; nextRunAt: string | null; lastRun: RunSummary | null };
}

export function getStatus(signal?: AbortSignal): Promise<Status> {
  return request<Status>('GET', '/api/v1/status', { signal });
}

/** Why a host's IPC cannot be computed, from its perf section: undefined when it can. */
export function ipcUnavailable(h: HostStatus | undefined): string | undefined {
  if (!h) return undefined;
  if (!h.perf) return 'the perf collector does not run on this host';
  const un = h.perf.unavailable;
  for (const ev of ['instructions', 'cpu-cycles']) {
    if (!h.perf.events.includes(ev)) return `${ev} is not among the configured perf events (PERFWATCH_PERF_EVENTS)`;
    if (un[ev]) return `${ev}: ${un[ev]}`;
  }
  return undefined;
}
