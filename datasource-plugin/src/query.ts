/**
 * POST /api/v1/query for a panel's targets (already interpolated) and the answer as data frames.
 * The API refuses a whole request for one bad target and names it (`target "B": ...`): that
 * target gets the error, the others are asked again without it, so one typo does not blank a panel.
 */
import { DataFrame, DataQueryError, DataQueryRequest } from '@grafana/data';
import { apiRequest, toApiError } from './api';
import { resultFrames } from './frames';
import { toApiTarget } from './interpolate';
import { ApiQueryRequest, ApiQueryResult, PerfWatchQuery } from './types';

/** The most points the API gives one series (as Prometheus). */
export const MAX_DATA_POINTS = 11_000;

/** An API failure as the panel shows it: "CODE: message", on the target the message names. */
export function toQueryError(e: unknown): DataQueryError {
  const err = toApiError(e);
  const refId = /^target "([^"]*)"/.exec(err.message)?.[1];
  return {
    message: err.code ? `${err.code}: ${err.message}` : err.message,
    status: err.status,
    ...(refId ? { refId } : {}),
  };
}

export async function runTargets(
  proxyUrl: string,
  request: DataQueryRequest<PerfWatchQuery>,
  targets: PerfWatchQuery[]
): Promise<{ data: DataFrame[]; errors: DataQueryError[] }> {
  const data: DataFrame[] = [];
  const errors: DataQueryError[] = [];
  let pending = targets;
  while (pending.length) {
    const body: ApiQueryRequest = {
      from: request.range.from.valueOf(),
      to: request.range.to.valueOf(),
      maxDataPoints: Math.min(Math.max(Math.round(request.maxDataPoints ?? 1000), 1), MAX_DATA_POINTS),
      ...(request.intervalMs ? { intervalMs: Math.max(1, Math.round(request.intervalMs)) } : {}),
      targets: pending.map(toApiTarget),
    };
    try {
      const { results } = await apiRequest<{ results: ApiQueryResult[] }>(proxyUrl, '/api/v1/query', {
        method: 'POST',
        body,
        requestId: request.requestId,
      });
      for (const r of results) {
        data.push(...resultFrames(r, pending.find((t) => t.refId === r.refId)?.legendFormat));
      }
      break;
    } catch (e) {
      const err = toQueryError(e);
      errors.push(err);
      const rest = pending.filter((t) => t.refId !== err.refId);
      if (err.status !== 400 || rest.length === pending.length) {
        break;
      }
      pending = rest;
    }
  }
  return { data, errors };
}
