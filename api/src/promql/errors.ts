/**
 * Errors in Prometheus's HTTP API form: `{"status":"error","errorType":..,"error":..}` with the
 * status code Prometheus uses for each errorType (web/api/v1/api.go: bad_data 400, execution 422,
 * canceled and timeout 503 and 504's cousin, internal 500, unavailable 503, not_found 404).
 */
export type PromErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'unavailable' | 'not_found' | 'unauthorized' | 'forbidden';

const STATUS: Record<PromErrorType, number> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  canceled: 503,
  internal: 500,
  unavailable: 503,
  not_found: 404,
  // Not Prometheus's (it has no auth): what a 401 / 403 of ours says.
  unauthorized: 401,
  forbidden: 403,
};

export class PromError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(readonly type: PromErrorType, message: string, opts: { headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PromError';
    this.status = STATUS[type];
    this.headers = opts.headers ?? {};
  }
}

export function badData(message: string): PromError {
  return new PromError('bad_data', message);
}

/** A problem in the query text (or an unsupported construct): bad_data naming the position. */
export class QueryError extends PromError {
  constructor(message: string, readonly pos?: { line: number; col: number }) {
    super('bad_data', pos ? `${pos.line}:${pos.col}: parse error: ${message}` : `parse error: ${message}`);
  }
}

/** A failure while evaluating a well-formed query (execution, 422). */
export function execError(message: string): PromError {
  return new PromError('execution', message);
}
