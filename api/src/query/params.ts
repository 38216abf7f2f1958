/**
 * What the metrics and history routes share: times in requests (Unix ms or ISO 8601), host lists
 * from repeatable query parameters, range checks, and the mapping of store's query errors
 * (StoreError codes) to HTTP answers.
 */
import { StoreError } from '@perfwatch/store';
import { z } from 'zod';
import { ApiError } from '../errors.js';

export const DAY_MS = 86_400_000;

/** Label names as the exporter writes them (and the store accepts). */
export const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// A date, or a date and time with a zone (a time without one would depend on the server's zone).
const ISO_RE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;
const TIME_HELP = 'must be Unix milliseconds or an ISO 8601 time with a zone (2026-01-02T03:04:05Z)';

/** Unix ms from a number, a string of digits or an ISO 8601 time; undefined when it is none. */
export function parseTime(v: unknown): number | undefined {
  let ms: number;
  if (typeof v === 'number') ms = v;
  else if (typeof v !== 'string' || v.length > 40) return undefined;
  else if (/^-?\d{1,16}(?:\.\d+)?$/.test(v)) ms = Number(v);
  else if (ISO_RE.test(v)) ms = Date.parse(v);
  else return undefined;
  // JavaScript Dates end at +-8.64e15 ms.
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? Math.floor(ms) : undefined;
}

function toTime(v: unknown, ctx: z.core.$RefinementCtx): number {
  const ms = parseTime(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: TIME_HELP });
    return z.NEVER;
  }
  return ms;
}

/** A time in a JSON body: Unix ms (number) or an ISO 8601 string. */
export const BodyTime = z
  .union([z.number(), z.string().max(40)])
  .transform(toTime)
  .meta({ description: 'Unix milliseconds, or an ISO 8601 time with a zone.' });

/** A time in a query string: Unix ms or ISO 8601. */
export const QueryTime = z
  .string()
  .max(40)
  .transform(toTime)
  .meta({ description: 'Unix milliseconds, or an ISO 8601 time with a zone.' });

/** A host name as stored (the exporter's host name). */
export const HostName = z.string().min(1, 'must not be empty').max(253, 'must be at most 253 characters');

/** A repeatable query parameter (?host=a&host=b) as a list. */
export function repeatable<T extends z.ZodType<string>>(item: T, max: number) {
  return z
    .union([item, z.array(item).max(max, `at most ${max} values`)])
    .transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);
}

/** from < to and no longer than the configured maximum (400 INVALID_ARGUMENT / RANGE_TOO_LONG). */
export function checkRange(from: number, to: number, maxRangeDays: number): void {
  if (from >= to) throw new ApiError(400, 'INVALID_ARGUMENT', `from (${iso(from)}) must be before to (${iso(to)})`);
  if (to - from > maxRangeDays * DAY_MS) {
    throw new ApiError(400, 'RANGE_TOO_LONG', `the range is ${Math.ceil((to - from) / DAY_MS)} days; at most ${maxRangeDays} (PERFWATCH_API_MAX_RANGE_DAYS)`);
  }
}

export function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

const CLIENT_ERRORS = new Set(['UNKNOWN_METRIC', 'INVALID_REGEX', 'INVALID_ARGUMENT']);

/**
 * A StoreError the caller caused (unknown metric, bad regex, bad argument) as a 400 (or the
 * given status for UNKNOWN_METRIC), its message prefixed (e.g. with the target's refId); anything
 * else unchanged (the app answers 503 for an unreachable database, 500 otherwise).
 */
export function clientError(err: unknown, opts: { prefix?: string; unknownMetricStatus?: number } = {}): unknown {
  if (err instanceof StoreError && CLIENT_ERRORS.has(err.code)) {
    const status = err.code === 'UNKNOWN_METRIC' ? (opts.unknownMetricStatus ?? 400) : 400;
    return new ApiError(status, err.code, `${opts.prefix ?? ''}${err.message}`, { cause: err });
  }
  return err;
}
