/** A configuration value that cannot be used; shared with the api's config module. */
export { ConfigError } from '@perfwatch/store/env';

export { errorMessage } from '@perfwatch/store/env';
