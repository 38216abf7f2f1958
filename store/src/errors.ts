/**
 * StoreError: every failure store/ reports carries a stable `code` (what callers branch on), the
 * server's SQLSTATE and detail when PostgreSQL said something, and the original error as `cause`.
 */

/** Codes callers may branch on. */
export type StoreErrorCode =
  /** the server could not be reached, or the connection broke (retry later). */
  | 'DB_UNAVAILABLE'
  /** the server refused the statement (see pgCode / detail). */
  | 'DB_QUERY_FAILED'
  /** a row was refused for its content (SQLSTATE class 22 or 23): retrying cannot help. */
  | 'DB_DATA_REJECTED'
  /** the database was migrated by a newer PerfWatch. */
  | 'SCHEMA_TOO_NEW'
  /** a migration failed; the database stays at the last version that applied. */
  | 'MIGRATION_FAILED'
  /** a store option or argument is invalid. */
  | 'INVALID_ARGUMENT'
  /** a host name is registered to another database role (row-level security hides it). */
  | 'HOST_NOT_WRITABLE'
  /** the embedded PostgreSQL could not be initialised, started or stopped. */
  | 'EMBEDDED_FAILED'
  /** a series query names a metric the catalog does not have. */
  | 'UNKNOWN_METRIC'
  /** a series query's =~ or !~ matcher is not a valid regular expression. */
  | 'INVALID_REGEX';

export interface StoreErrorOptions {
  cause?: unknown;
  /** SQLSTATE from the server (e.g. 23505), when the server answered. */
  pgCode?: string;
  /** the server's DETAIL line. */
  detail?: string;
  /** true when the same call may succeed later without any change (connection lost, timeout, deadlock). */
  transient?: boolean;
}

export class StoreError extends Error {
  readonly pgCode: string | undefined;
  readonly detail: string | undefined;
  readonly transient: boolean;

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options: StoreErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.pgCode = options.pgCode;
    this.detail = options.detail;
    this.transient = options.transient ?? false;
  }
}

/** The fields node-postgres puts on a server error (pg.DatabaseError) and on socket errors. */
interface PgLikeError {
  message?: string;
  code?: string;
  detail?: string;
  severity?: string;
}

// Node socket errors and node-postgres's own messages for a connection that failed or broke.
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT']);
const NET_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|not queryable|Cannot use a pool after calling end/i;

/** The SQLSTATE when err came from the server (five characters), else undefined. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as PgLikeError | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Whether err means "the database is not reachable or not able right now": connection refused or
 * broken, server shutting down or starting (57P0x), out of resources (53), timeouts and lock waits
 * (57014, 55P03), serialization failures and deadlocks (40001, 40P01), system errors (58).
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof StoreError) return err.transient;
  const state = sqlState(err);
  if (state) {
    return /^(08|53|58)/.test(state) || /^57P0[1-4]$/.test(state) || ['57014', '55P03', '40001', '40P01'].includes(state);
  }
  const code = (err as PgLikeError | undefined)?.code;
  if (typeof code === 'string' && NET_CODES.has(code)) return true;
  // AggregateError from a host name that resolves to several addresses, all refusing.
  if (err instanceof AggregateError) return err.errors.some(isTransient);
  const message = (err as PgLikeError | undefined)?.message;
  return typeof message === 'string' && NET_MESSAGES.test(message);
}

/** Whether the server refused a row for its content (data exception 22, integrity violation 23). */
export function isDataError(err: unknown): boolean {
  const state = err instanceof StoreError ? err.pgCode : sqlState(err);
  return state !== undefined && /^(22|23)/.test(state);
}

/** Wraps a pg or socket error as a StoreError, keeping the server's code and detail. */
export function wrapPgError(err: unknown, context: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = (err ?? {}) as PgLikeError;
  const pgCode = sqlState(err);
  const transient = isTransient(err);
  const code = transient ? 'DB_UNAVAILABLE' : isDataError(err) ? 'DB_DATA_REJECTED' : 'DB_QUERY_FAILED';
  const why = e.message || (err instanceof AggregateError ? err.errors.map((x: unknown) => (x as Error).message).join('; ') : String(err));
  return new StoreError(code, `${context}: ${why}${pgCode ? ` (SQLSTATE ${pgCode})` : ''}`, {
    cause: err,
    pgCode,
    detail: e.detail,
    transient,
  });
}

export { errorMessage } from './env.js';
