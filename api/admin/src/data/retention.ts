/** /api/v1/retention: days kept per tier, and the history of retention runs. */
import { request } from './http.js';
import type { RetentionRun, Tier, TierPolicy } from './types.js';

export const TIER_ORDER: readonly Tier[] = ['raw', '1m', '1h'];

export const TIER_LABELS: Record<Tier, { name: string; what: string }> = {
  raw: { name: 'Raw snapshots', what: 'every snapshot as collected' },
  '1m': { name: '1-minute rollups', what: 'per-minute aggregates' },
  '1h': { name: '1-hour rollups', what: 'per-hour aggregates' },
};

/** GET and PUT answer the same { tiers }: here in TIER_ORDER. */
async function tiersOf(answer: Promise<{ tiers: TierPolicy[] }>): Promise<TierPolicy[]> {
  return [...(await answer).tiers].sort((a, b) => TIER_ORDER.indexOf(a.tier) - TIER_ORDER.indexOf(b.tier));
}

export function getRetention(signal?: AbortSignal): Promise<TierPolicy[]> {
  return tiersOf(request('GET', '/api/v1/retention', { signal }));
}

export function setRetention(days: Partial<Record<Tier, number>>, signal?: AbortSignal): Promise<TierPolicy[]> {
  return tiersOf(request('PUT', '/api/v1/retention', { body: days, signal }));
}

export interface RunPage {
  runs: RetentionRun[];
  /** pass as `before` for the next (older) page; null: this was the last. */
  nextBefore: number | null;
}

export function listRuns(opts: { limit?: number; before?: number }, signal?: AbortSignal): Promise<RunPage> {
  const q = new URLSearchParams();
  if (opts.limit !== undefined) q.set('limit', String(opts.limit));
  if (opts.before !== undefined) q.set('before', String(opts.before));
  const qs = q.toString();
  return request<RunPage>('GET', `/api/v1/retention/runs${qs ? `?${qs}` : ''}`, { signal });
}

/** What the api would refuse (docs/api.md: whole days within each tier's range, raw <= 1m <= 1h), per tier. */
export function retentionProblems(days: Record<Tier, number | undefined>, limits: TierPolicy[]): Partial<Record<Tier, string>> {
  const out: Partial<Record<Tier, string>> = {};
  for (const p of limits) {
    const d = days[p.tier];
    if (d === undefined || Number.isNaN(d)) out[p.tier] = 'Enter a number of days.';
    else if (!Number.isInteger(d)) out[p.tier] = 'Use whole days.';
    else if (d < p.minDays || d > p.maxDays) out[p.tier] = `Use ${p.minDays} to ${p.maxDays} days.`;
  }
  const raw = days.raw;
  const m1 = days['1m'];
  const h1 = days['1h'];
  if (!out.raw && !out['1m'] && raw !== undefined && m1 !== undefined && raw > m1) out.raw = 'Raw snapshots cannot be kept longer than 1-minute rollups.';
  if (!out['1m'] && !out['1h'] && m1 !== undefined && h1 !== undefined && m1 > h1) out['1m'] = '1-minute rollups cannot be kept longer than 1-hour rollups.';
  return out;
}

/** Queues a retention run now (admin): it shows in the run history once finished. */
export function runRetentionNow(signal?: AbortSignal): Promise<{ jobId: string | null; queued: boolean }> {
  return request<{ jobId: string | null; queued: boolean }>('POST', '/api/v1/retention/run', { signal });
}
