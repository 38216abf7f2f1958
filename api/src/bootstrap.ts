/**
 * What the database must hold before the api serves: the schema at this code's version (migrated
 * here unless PERFWATCH_API_DB_MIGRATE=false), the JWT signing key, and an enabled administrator
 * (created from ADMIN_USERNAME / ADMIN_PASSWORD on first start, or after a lost one was deleted).
 * Safe with several replicas starting at once: migrations take store's advisory lock, the key is
 * inserted ON CONFLICT DO NOTHING, and the administrator is created under a lock.
 */
import { checkSchemaVersion, migrate, type Pool } from '@perfwatch/store';
import { generatePassword, LEGACY_DEFAULT_PASSWORD, passwordProblem, type PasswordHasher } from './auth/passwords.js';
import type { ApiConfig } from './config.js';
import { storedJwtSecret } from './db/settings.js';
import { ensureAdmin, hasEnabledAdmin } from './db/users.js';
import type { Logger } from './log.js';

export interface Prepared {
  jwtSecret: Buffer;
  schemaVersion: number;
  /** set when this start created the administrator. */
  createdAdmin?: { username: string; generatedPassword: boolean; mustChangePassword: boolean };
}

/**
 * Prints a line for the operator on stdout, outside the JSON log: the generated admin password is
 * shown this once and must stand out.
 */
export type Announce = (line: string) => void;

export const stdoutAnnounce: Announce = (line) => {
  process.stdout.write(`${line}\n`);
};

export async function prepareDatabase(pool: Pool, config: ApiConfig, hasher: PasswordHasher, log: Logger, announce: Announce = stdoutAnnounce): Promise<Prepared> {
  let schemaVersion: number;
  if (config.dbMigrate) {
    const r = await migrate(pool, { log: log.child({ component: 'migrate' }) });
    if (r.applied.length) log.info({ from: r.from, to: r.to }, `database schema migrated to version ${r.to}`);
    schemaVersion = r.to;
  } else {
    schemaVersion = await checkSchemaVersion(pool);
  }

  const jwtSecret = config.jwtSecret !== undefined ? Buffer.from(config.jwtSecret, 'utf8') : await storedJwtSecret(pool);

  // The usual start: nothing to create, and no need to spend a hash on it.
  if (await hasEnabledAdmin(pool)) return { jwtSecret, schemaVersion };

  const generated = config.adminPassword === undefined;
  const password = config.adminPassword ?? generatePassword();
  const weak = passwordProblem(password, config.passwordMinLength, config.adminUsername);
  const mustChangePassword = generated || password === LEGACY_DEFAULT_PASSWORD || weak !== undefined;
  const outcome = await ensureAdmin(pool, {
    username: config.adminUsername,
    passwordHash: await hasher.hash(password),
    role: 'admin',
    mustChangePassword,
  });
  if (outcome === 'name-taken') {
    log.error(
      { username: config.adminUsername },
      `there is no enabled administrator, and the user "${config.adminUsername}" exists as a viewer or disabled: delete that user (docs/api.md, "Lost the administrator password") or set ADMIN_USERNAME to a free name, then restart`,
    );
  }
  if (outcome !== 'created') return { jwtSecret, schemaVersion };

  if (generated) {
    announce('');
    announce(`==> PerfWatch api: created administrator "${config.adminUsername}" with the generated password: ${password}`);
    announce('==> It is shown only this once. Log in and choose a new password (it must be changed before anything else).');
    announce('');
  } else if (mustChangePassword) {
    log.warn({ username: config.adminUsername }, `ADMIN_PASSWORD ${password === LEGACY_DEFAULT_PASSWORD ? 'is the old default admin123' : weak}: the administrator must change it at first login`);
  }
  log.info({ username: config.adminUsername, mustChangePassword }, 'created the administrator');
  return { jwtSecret, schemaVersion, createdAdmin: { username: config.adminUsername, generatedPassword: generated, mustChangePassword } };
}
