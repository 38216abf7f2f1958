/**
 * Every call the UI makes goes through request(): same-origin fetch with the httpOnly session
 * cookie (the page never sees a token), JSON in and out, and the API's `{error:{code,message}}`
 * turned into an ApiRequestError whose message is the API's own.
 *
 * Session upkeep (docs/api.md, "Login, refresh, logout"): the access cookie lives as long as the
 * access token, so an expired one shows up as a 401. request() then refreshes once (POST
 * /api/v1/auth/refresh with the pw_refresh cookie) and repeats the call. Refresh tokens are
 * single-use and a replayed one revokes the whole session, so there is never more than one
 * refresh at a time: one promise per page, and a Web Lock across the tabs of this origin; a tab
 * that waited for the lock first checks whether another tab's refresh already renewed the cookie.
 * When the refresh fails, `sessionEvents` says 'expired' and the shell goes back to login.
 */

export class ApiRequestError extends Error {
  constructor(
    /** HTTP status; 0 when the api could not be reached. */
    readonly status: number,
    /** The API's error code (INVALID_CREDENTIALS, LAST_ADMIN, ...), NETWORK or HTTP_<status>. */
    readonly code: string,
    message: string,
    /** The request field a VALIDATION_FAILED names (body.password). */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

export interface ExpiredDetail {
  /** false when there was no session to renew (no refresh cookie): a first visit, not an expiry. */
  hadSession: boolean;
}

/**
 * 'expired' (CustomEvent<ExpiredDetail>): a call got 401 and the session could not be renewed.
 * 'password-change-required': a call got 403 PASSWORD_CHANGE_REQUIRED.
 */
export const sessionEvents = new EventTarget();

export interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** renew the session and retry on 401 (true; login and refresh themselves: false). */
  renew?: boolean;
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}

const NETWORK_MESSAGE = 'The PerfWatch api cannot be reached. Check that it is running, then try again.';

async function send(method: string, path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  try {
    return await fetch(path, { method, headers, body, signal: opts.signal, credentials: 'same-origin', cache: 'no-store' });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiRequestError(0, 'NETWORK', NETWORK_MESSAGE);
  }
}

/** The error a failed response stands for, with the API's message when it sent one. */
export async function errorFrom(res: Response): Promise<ApiRequestError> {
  let parsed: unknown;
  try {
    parsed = await res.json();
  } catch {
    parsed = undefined;
  }
  const e = (parsed as { error?: { code?: unknown; message?: unknown; field?: unknown } } | undefined)?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    return new ApiRequestError(res.status, e.code, e.message, typeof e.field === 'string' ? e.field : undefined);
  }
  const what = res.status >= 500 ? 'the api had a problem' : 'the api refused the request';
  return new ApiRequestError(res.status, `HTTP_${res.status}`, `${what} (HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''})`);
}

type RenewResult = 'renewed' | 'no-session' | 'expired';

let renewing: Promise<RenewResult> | undefined;

async function renewOnce(): Promise<RenewResult> {
  // Waited for another tab? Its refresh set the cookies this tab sends too.
  const probe = await send('GET', '/api/v1/me', {});
  if (probe.ok) return 'renewed';
  const r = await send('POST', '/api/v1/auth/refresh', {});
  if (r.ok) return 'renewed';
  if (r.status !== 401) throw await errorFrom(r);
  // UNAUTHENTICATED: no refresh cookie at all, so nothing expired (a first visit).
  return (await errorFrom(r)).code === 'UNAUTHENTICATED' ? 'no-session' : 'expired';
}

/** One refresh at a time: in this page (one promise) and across tabs (a Web Lock). */
export function renewSession(): Promise<RenewResult> {
  const run = async (): Promise<RenewResult> => (navigator.locks ? await navigator.locks.request('perfwatch-session-refresh', renewOnce) : renewOnce());
  const p =
    renewing ??
    run().finally(() => {
      renewing = undefined;
    });
  renewing = p;
  return p;
}

/** One API call; resolves to the parsed JSON body (undefined for 204). */
export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  let res = await send(method, path, opts);
  if (res.status === 401 && opts.renew !== false) {
    const first = await errorFrom(res);
    const renewed = await renewSession();
    if (renewed !== 'renewed') {
      sessionEvents.dispatchEvent(new CustomEvent<ExpiredDetail>('expired', { detail: { hadSession: renewed === 'expired' } }));
      throw first;
    }
    // A 401 was not acted on, so repeating the call (a POST too) is safe.
    res = await send(method, path, opts);
  }
  if (res.ok) {
    if (res.status === 204) return undefined as T;
    try {
      return (await res.json()) as T;
    } catch (err) {
      if (isAbort(err)) throw err;
      throw new ApiRequestError(res.status, 'BAD_RESPONSE', 'the api sent an answer that is not JSON');
    }
  }
  const err = await errorFrom(res);
  if (err.code === 'PASSWORD_CHANGE_REQUIRED') sessionEvents.dispatchEvent(new Event('password-change-required'));
  else if (res.status === 401 && opts.renew !== false) sessionEvents.dispatchEvent(new CustomEvent<ExpiredDetail>('expired', { detail: { hadSession: true } }));
  throw err;
}

/** A call whose answer is text (the Prometheus exposition of /metrics). */
export async function requestText(path: string, signal?: AbortSignal): Promise<string> {
  const res = await send('GET', path, { signal });
  if (!res.ok) throw await errorFrom(res);
  return res.text();
}

/** A message for people: the API's own, starting with a capital. */
export function messageOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m ? m[0]!.toUpperCase() + m.slice(1) : 'Something went wrong';
}

/**
 * A screen's load: the answer to `ok`, a failure's message (messageOf) to `fail`, and an aborted
 * call (the screen was left) to neither.
 */
export async function settle<T>(p: Promise<T>, ok: (v: T) => void, fail: (message: string) => void): Promise<void> {
  try {
    ok(await p);
  } catch (err) {
    if (!isAbort(err)) fail(messageOf(err));
  }
}
