/**
 * Calls to the PerfWatch API through Grafana's data source proxy: `<instanceSettings.url>/api/...`
 * reaches the plugin.json route "api", which forwards to jsonData.apiUrl and adds
 * `Authorization: Bearer <secureJsonData.apiToken>` server-side, so the token never reaches the
 * browser. Failures become ApiRequestError with the API's code and message when it sent one.
 */
import { getBackendSrv, isFetchError } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';
import { ApiErrorBody } from './types';

/** The path prefix of the plugin.json route that forwards to the API. */
export const ROUTE_PATH = 'api';

/** What Grafana's data source proxy answers (400, plain text) when the upstream said 401. */
export const GRAFANA_PROXY_AUTH_FAILED = 'Authentication to data source failed';

export class ApiRequestError extends Error {
  constructor(
    message: string,
    /** the HTTP status (0: no answer at all). */
    readonly status: number,
    /** the API's error code (UNKNOWN_METRIC, DB_UNAVAILABLE, ...), when it answered one. */
    readonly code?: string,
    /** the API refused the credentials (directly, or as Grafana's proxy reports it). */
    readonly unauthorized = false
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

export const TOKEN_REFUSED =
  "the PerfWatch API refused this datasource's API token (401): set a valid one in the datasource settings";

function isApiErrorBody(data: unknown): data is ApiErrorBody {
  const e = (data as ApiErrorBody | undefined)?.error;
  return typeof e === 'object' && e !== null && typeof e.code === 'string' && typeof e.message === 'string';
}

/** A failed fetch as an ApiRequestError: the API's own message when there is one. */
export function toApiError(err: unknown): ApiRequestError {
  if (err instanceof ApiRequestError) {
    return err;
  }
  if (isFetchError(err)) {
    // Grafana's backendSrv gives a non-JSON body as text (or, from some paths, as { message }).
    const text =
      typeof err.data === 'string' ? err.data : ((err.data as { message?: unknown } | undefined)?.message ?? '');
    if (err.status === 401 || (err.status === 400 && String(text).includes(GRAFANA_PROXY_AUTH_FAILED))) {
      return new ApiRequestError(
        TOKEN_REFUSED,
        err.status,
        isApiErrorBody(err.data) ? err.data.error.code : undefined,
        true
      );
    }
    if (isApiErrorBody(err.data)) {
      return new ApiRequestError(err.data.error.message, err.status, err.data.error.code);
    }
    const what = String(text) || err.statusText || 'no answer';
    return new ApiRequestError(`HTTP ${err.status}: ${what}`.slice(0, 500), err.status);
  }
  return new ApiRequestError(err instanceof Error ? err.message : String(err), 0);
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  /** query parameters; an array repeats the parameter (?host=a&host=b). */
  params?: Record<string, string | number | string[] | undefined>;
  body?: unknown;
  /** cancels an earlier request with the same id (Grafana's backendSrv). */
  requestId?: string;
}

export function queryString(params: RequestOptions['params']): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined) {
      continue;
    }
    for (const one of Array.isArray(v) ? v : [v]) {
      q.append(k, String(one));
    }
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A JSON request to `<proxyUrl>/api<path>`; resolves with the body, rejects with ApiRequestError. */
export async function apiRequest<T>(proxyUrl: string, path: string, opts: RequestOptions = {}): Promise<T> {
  try {
    const res = await lastValueFrom(
      getBackendSrv().fetch<T>({
        url: `${proxyUrl}/${ROUTE_PATH}${path}${queryString(opts.params)}`,
        method: opts.method ?? 'GET',
        data: opts.body,
        headers: opts.body === undefined ? undefined : { 'Content-Type': 'application/json' },
        requestId: opts.requestId,
        // The plugin shows errors itself (panel, editor, "Save & test").
        showErrorAlert: false,
        showSuccessAlert: false,
      })
    );
    return res.data;
  } catch (err) {
    throw toApiError(err);
  }
}
