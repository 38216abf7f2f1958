/** Base error of the exporter: every error a person may see carries a stable `code`. */
export class PerfwatchError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value that cannot be used; shared with the api's config module. */
export { ConfigError } from '@perfwatch/store/env';

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
