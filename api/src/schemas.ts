/** zod schemas several resources share; each validates requests and describes them in the OpenAPI document. */
import { z } from 'zod';
import { ROLES } from './auth/types.js';
import { USERNAME_RE } from './config.js';

/**
 * A positive id as text (a path or query parameter): digits only, so "1 OR 1=1" is a 400, never
 * SQL, and at most 2^31 - 1, the largest integer column value, so 2147483648 is a 400 too rather
 * than PostgreSQL's out-of-range error (a 500).
 */
export const IdText = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive whole number')
  .transform(Number)
  .pipe(z.number().int().max(2_147_483_647, 'is too large (at most 2147483647)'));

/** A positive integer id in a path (/users/:id). */
export const IdParams = z.strictObject({
  id: IdText.meta({ description: 'Numeric id.' }),
});

export const Username = z.string().regex(USERNAME_RE, 'must be 1 to 64 letters, digits and _ . @ -, starting with a letter or digit');

export const RoleSchema = z.enum(ROLES).meta({ description: 'admin: users, tokens of anyone, retention; viewer: read, own password and tokens.' });

/** An ISO 8601 timestamp in responses (Dates serialise as such). */
export const Timestamp = z.string().meta({ format: 'date-time' });

/** A password as typed at login: anything non-empty up to 1024 characters (the policy applies to new passwords). */
export const PasswordInput = z.string().min(1, 'is required').max(1024, 'must be at most 1024 characters');

/** A new password under the configured policy. */
export function newPassword(minLength: number) {
  return z.string().min(minLength, `must be at least ${minLength} characters`).max(1024, 'must be at most 1024 characters');
}

/** Query booleans: only the words true and false. */
export const QueryBool = z.enum(['true', 'false']).transform((v) => v === 'true');
