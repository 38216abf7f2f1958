/** Random secrets handed out once (refresh and API tokens) and the hash the database keeps of them. */
import { createHash, randomBytes } from 'node:crypto';

/** API tokens: "pw_" + 43 base64url characters (256 random bits). */
export const API_TOKEN_PREFIX = 'pw_';
export const API_TOKEN_RE = /^pw_[A-Za-z0-9_-]{43}$/;
/** Refresh tokens: 43 base64url characters (256 random bits). */
export const REFRESH_TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 of the token: enough for 256-bit random values, which no dictionary contains. */
export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
