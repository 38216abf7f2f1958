/**
 * The recent past of one host for the live chart, from POST /api/v1/query (docs/api.md): CPU
 * utilisation and IPC, each averaged over the host's CPUs, one point per step. The live stream
 * carries on from where this ends.
 */
import { request } from './http.js';

export interface RecentPoints {
  /** Unix ms, ascending. */
  ts: number[];
  /** CPU utilisation 0..1 per point, null where not computable. */
  cpu: (number | null)[];
  /** IPC per point; empty when the host's IPC is not wanted. */
  ipc: (number | null)[];
}

interface QueryAnswer {
  results: { refId: string; series: { timestamps: number[]; values: (number | null)[] }[] }[];
}

/** The last `minutes` of `host` at (at least) `stepSeconds`. */
export async function recentHostPoints(host: string, minutes: number, stepSeconds: number, withIpc: boolean, signal?: AbortSignal): Promise<RecentPoints> {
  const to = Date.now();
  const from = to - minutes * 60_000;
  const avg = { op: 'avg', by: [] as string[] };
  const targets = [{ refId: 'cpu', metric: 'perfwatch_cpu_utilisation_ratio', hosts: [host], aggregation: avg }];
  if (withIpc) targets.push({ refId: 'ipc', metric: 'perfwatch_perf_instructions_per_cycle', hosts: [host], aggregation: avg });
  const body = { from, to, intervalMs: Math.max(1000, Math.round(stepSeconds * 1000)), maxDataPoints: Math.ceil((minutes * 60) / Math.max(1, stepSeconds)) + 1, targets };
  const a = await request<QueryAnswer>('POST', '/api/v1/query', { body, signal });
  const cpu = a.results.find((r) => r.refId === 'cpu')?.series[0];
  const ipc = a.results.find((r) => r.refId === 'ipc')?.series[0];
  if (!cpu) return { ts: [], cpu: [], ipc: [] };
  const ipcAt = new Map<number, number | null>();
  if (ipc) ipc.timestamps.forEach((t, i) => ipcAt.set(t, ipc.values[i] ?? null));
  // Leading and trailing empty steps are no data, not zero: drop them.
  let lo = 0;
  let hi = cpu.timestamps.length;
  while (lo < hi && cpu.values[lo] == null) lo++;
  while (hi > lo && cpu.values[hi - 1] == null) hi--;
  const ts = cpu.timestamps.slice(lo, hi);
  return { ts, cpu: cpu.values.slice(lo, hi), ipc: withIpc ? ts.map((t) => ipcAt.get(t) ?? null) : ts.map(() => null) };
}
