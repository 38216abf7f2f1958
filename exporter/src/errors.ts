/** A configuration value that cannot be used; shared with the api's config module. */
export { ConfigError } from '@perfwatch/store/env';

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
