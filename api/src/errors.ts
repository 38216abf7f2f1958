/**
 * One base error with a stable `code` and the HTTP status it answers with. Route handlers throw
 * these; app.ts's error handler turns any of them into `{ "error": { "code", "message" } }` and
 * everything else into a 500 that names the request id, never a stack.
 */

export class ApiError extends Error {
  /** extra response headers (Retry-After, WWW-Authenticate). */
  readonly headers: Record<string, string>;
  /** the request field the error is about ("body.username"), for validation errors. */
  readonly field: string | undefined;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string>; field?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.headers = options.headers ?? {};
    this.field = options.field;
  }
}

/** A configuration value that cannot be used; the message names the variable and what it accepts (shared with the exporter). */
export { ConfigError } from '@perfwatch/store/env';

const BEARER_CHALLENGE = 'Bearer realm="perfwatch"';

/** 401: no credentials, or credentials that are not (or no longer) valid. */
export function unauthenticated(code: 'UNAUTHENTICATED' | 'INVALID_TOKEN' | 'TOKEN_EXPIRED' | 'INVALID_CREDENTIALS', message: string): ApiError {
  const challenge = code === 'UNAUTHENTICATED' || code === 'INVALID_CREDENTIALS' ? BEARER_CHALLENGE : `${BEARER_CHALLENGE}, error="invalid_token"`;
  return new ApiError(401, code, message, { headers: { 'www-authenticate': challenge } });
}

export function forbidden(code: string, message: string): ApiError {
  return new ApiError(403, code, message);
}

export function notFound(message: string): ApiError {
  return new ApiError(404, 'NOT_FOUND', message);
}

export function conflict(code: string, message: string): ApiError {
  return new ApiError(409, code, message);
}

export function validationFailed(field: string, message: string): ApiError {
  return new ApiError(400, 'VALIDATION_FAILED', message, { field });
}

/** 503 for a database that cannot be reached right now (a transient failure): the client may retry in a few seconds. */
export function dbUnavailable(cause?: unknown): ApiError {
  return new ApiError(503, 'DB_UNAVAILABLE', 'the database cannot be reached right now; try again', { headers: { 'retry-after': '5' }, cause });
}

export function tooManyRequests(retryAfterSeconds: number, message: string): ApiError {
  const s = Math.max(1, Math.ceil(retryAfterSeconds));
  return new ApiError(429, 'TOO_MANY_REQUESTS', message, { headers: { 'retry-after': String(s) } });
}

export { errorMessage } from '@perfwatch/store/env';
