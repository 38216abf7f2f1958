/**
 * SQL of API tokens. The token itself is returned once by createApiToken and never stored: the
 * table keeps its SHA-256 and its first characters. Lookups go by the hash (a unique index), so a
 * request authenticated by a token costs one indexed read, plus an UPDATE of last_used_at at most
 * once a minute per token.
 */
import type { Pool } from '@perfwatch/store';
import { withTransaction } from '@perfwatch/store';
import type { Role } from '../auth/types.js';
import { conflict } from '../errors.js';
import { rethrow, rows } from './sql.js';
import { API_TOKEN_PREFIX, newSecret, tokenHash } from './tokens.js';

export interface ApiToken {
  id: number;
  userId: number;
  username: string;
  name: string;
  role: Role;
  /** the first characters of the token, e.g. "pw_AbCd1234". */
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

interface TokenRow {
  id: number;
  user_id: number;
  username: string;
  name: string;
  role: Role;
  token_prefix: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 't.id, t.user_id, u.username, t.name, t.role, t.token_prefix, t.created_at, t.expires_at, t.last_used_at, t.revoked_at';

function toToken(r: TokenRow): ApiToken {
  return {
    id: r.id,
    userId: r.user_id,
    username: r.username,
    name: r.name,
    role: r.role,
    prefix: r.token_prefix,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

/** Most tokens one user may hold that are neither revoked nor expired. */
export const MAX_ACTIVE_TOKENS_PER_USER = 100;

export async function createApiToken(pool: Pool, userId: number, name: string, role: Role, expiresAt: Date | null): Promise<{ token: string; info: ApiToken }> {
  const token = `${API_TOKEN_PREFIX}${newSecret()}`;
  const info = await withTransaction(
    pool,
    async (c) => {
      // Serialises one user's creations so the cap below holds under concurrency.
      await c.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
      const n = await c.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())',
        [userId],
      );
      if ((n.rows[0]?.n ?? 0) >= MAX_ACTIVE_TOKENS_PER_USER) {
        throw conflict('TOO_MANY_TOKENS', `a user may hold at most ${MAX_ACTIVE_TOKENS_PER_USER} active tokens: revoke some first`);
      }
      const r = await c.query<TokenRow>(
        `WITH t AS (
           INSERT INTO api_tokens (user_id, name, role, token_hash, token_prefix, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING *)
         SELECT ${COLUMNS} FROM t JOIN users u ON u.id = t.user_id`,
        [userId, name, role, tokenHash(token), token.slice(0, 11), expiresAt],
      );
      return toToken(r.rows[0]!);
    },
    'creating an API token',
  ).catch(rethrow('creating an API token'));
  return { token, info };
}

/** Tokens of one user, or of everyone (userId undefined), newest first. */
export async function listApiTokens(pool: Pool, userId: number | undefined): Promise<ApiToken[]> {
  const r = await rows<TokenRow>(
    pool,
    'listing API tokens',
    `SELECT ${COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
      WHERE $1::int IS NULL OR t.user_id = $1
      ORDER BY t.created_at DESC, t.id DESC`,
    [userId ?? null],
  );
  return r.map(toToken);
}

/**
 * Revokes token id when it belongs to ownerId (or to anyone, ownerId undefined); revoking twice
 * is not an error. Returns the token, or undefined when there is no such token (for this owner).
 */
export async function revokeApiToken(pool: Pool, id: number, ownerId: number | undefined): Promise<ApiToken | undefined> {
  const r = await rows<TokenRow>(
    pool,
    'revoking an API token',
    `WITH t AS (
       UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
        WHERE id = $1 AND ($2::int IS NULL OR user_id = $2)
        RETURNING *)
     SELECT ${COLUMNS} FROM t JOIN users u ON u.id = t.user_id`,
    [id, ownerId ?? null],
  );
  return r[0] && toToken(r[0]);
}

export interface TokenAuthState {
  id: number;
  tokenRole: Role;
  expired: boolean;
  revoked: boolean;
  lastUsedAt: Date | null;
  userId: number;
  username: string;
  userRole: Role;
  disabled: boolean;
  mustChangePassword: boolean;
}

export async function tokenAuthState(pool: Pool, token: string): Promise<TokenAuthState | undefined> {
  const r = await rows<{
    id: number;
    role: Role;
    expired: boolean;
    revoked: boolean;
    last_used_at: Date | null;
    user_id: number;
    username: string;
    user_role: Role;
    disabled: boolean;
    must_change_password: boolean;
  }>(
    pool,
    'checking an API token',
    `SELECT t.id, t.role, coalesce(t.expires_at <= now(), false) AS expired, t.revoked_at IS NOT NULL AS revoked, t.last_used_at,
            u.id AS user_id, u.username, u.role AS user_role, u.disabled, u.must_change_password
       FROM api_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.token_hash = $1`,
    [tokenHash(token)],
    true,
  );
  const t = r[0];
  if (!t) return undefined;
  return {
    id: t.id,
    tokenRole: t.role,
    expired: t.expired,
    revoked: t.revoked,
    lastUsedAt: t.last_used_at,
    userId: t.user_id,
    username: t.username,
    userRole: t.user_role,
    disabled: t.disabled,
    mustChangePassword: t.must_change_password,
  };
}

/** Records a use; the WHERE makes concurrent requests (and replicas) write at most once a minute. */
export async function touchApiToken(pool: Pool, id: number): Promise<void> {
  await rows(pool, 'recording an API token use', `UPDATE api_tokens SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [id]);
}
