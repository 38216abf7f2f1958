/**
 * SQL of login sessions, their rotating refresh tokens and the revocation list of access tokens.
 * A session is the family of one login's refresh tokens: each refresh marks the token it was
 * given as used and issues the next; a used token presented again revokes the whole family
 * (it was stolen, or replayed), and with it every access token naming the session.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from '@perfwatch/store';
import { withTransaction } from '@perfwatch/store';
import type { Role } from '../auth/types.js';
import { rethrow, rows } from './sql.js';
import { newSecret, tokenHash } from './tokens.js';

export interface IssuedRefresh {
  sessionId: string;
  refreshToken: string;
  refreshExpiresAt: Date;
}

/** Starts a session for userId after a successful login and records the login time. */
export async function createSession(
  pool: Pool,
  userId: number,
  ttlSeconds: number,
  client: { userAgent?: string | undefined; ip?: string | undefined },
): Promise<IssuedRefresh> {
  const sessionId = randomUUID();
  const refreshToken = newSecret();
  const r = await withTransaction(
    pool,
    async (c) => {
      const s = await c.query<{ expires_at: Date }>(
        `INSERT INTO auth_sessions (id, user_id, expires_at, user_agent, client_ip)
         VALUES ($1, $2, now() + make_interval(secs => $3), left($4, 256), $5) RETURNING expires_at`,
        [sessionId, userId, ttlSeconds, client.userAgent ?? null, client.ip ?? null],
      );
      const expiresAt = s.rows[0]!.expires_at;
      await c.query('INSERT INTO auth_refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)', [tokenHash(refreshToken), sessionId, expiresAt]);
      await c.query('UPDATE users SET last_login_at = now() WHERE id = $1', [userId]);
      return expiresAt;
    },
    'starting a session',
  ).catch(rethrow('starting a session'));
  return { sessionId, refreshToken, refreshExpiresAt: r };
}

export type RefreshOutcome =
  | { ok: true; userId: number; role: Role; mustChangePassword: boolean; issued: IssuedRefresh }
  | { ok: false; reason: 'unknown' | 'reused' | 'expired' | 'revoked' | 'disabled' };

/** Exchanges a refresh token for the next one of its session. */
export async function rotateRefreshToken(pool: Pool, refreshToken: string, ttlSeconds: number): Promise<RefreshOutcome> {
  return withTransaction(
    pool,
    async (c): Promise<RefreshOutcome> => {
      const found = await c.query<{
        session_id: string;
        used_at: Date | null;
        expired: boolean;
        revoked: boolean;
        user_id: number;
        role: Role;
        disabled: boolean;
        must_change_password: boolean;
      }>(
        `SELECT rt.session_id, rt.used_at, rt.expires_at <= now() AS expired, s.revoked_at IS NOT NULL AS revoked,
                u.id AS user_id, u.role, u.disabled, u.must_change_password
           FROM auth_refresh_tokens rt
           JOIN auth_sessions s ON s.id = rt.session_id
           JOIN users u ON u.id = s.user_id
          WHERE rt.token_hash = $1
          FOR UPDATE OF rt, s`,
        [tokenHash(refreshToken)],
      );
      const t = found.rows[0];
      if (!t) return { ok: false, reason: 'unknown' };
      if (t.revoked) return { ok: false, reason: 'revoked' };
      if (t.used_at) {
        // Committed with the transaction: the refusal below must not roll the revocation back.
        await c.query(`UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'refresh token reused' WHERE id = $1`, [t.session_id]);
        return { ok: false, reason: 'reused' };
      }
      if (t.expired) return { ok: false, reason: 'expired' };
      if (t.disabled) return { ok: false, reason: 'disabled' };
      const next = newSecret();
      await c.query('UPDATE auth_refresh_tokens SET used_at = now() WHERE token_hash = $1', [tokenHash(refreshToken)]);
      const s = await c.query<{ expires_at: Date }>(
        'UPDATE auth_sessions SET expires_at = now() + make_interval(secs => $2) WHERE id = $1 RETURNING expires_at',
        [t.session_id, ttlSeconds],
      );
      const expiresAt = s.rows[0]!.expires_at;
      await c.query('INSERT INTO auth_refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)', [tokenHash(next), t.session_id, expiresAt]);
      return {
        ok: true,
        userId: t.user_id,
        role: t.role,
        mustChangePassword: t.must_change_password,
        issued: { sessionId: t.session_id, refreshToken: next, refreshExpiresAt: expiresAt },
      };
    },
    'refreshing a session',
  ).catch(rethrow('refreshing a session'));
}

/** Logout: the session (all its refresh tokens and access tokens) and the presented access token. */
export async function revokeSession(pool: Pool, sessionId: string, jti: string | undefined, jtiExpiresAt: Date | undefined, reason: string): Promise<void> {
  await withTransaction(
    pool,
    async (c) => {
      await c.query('UPDATE auth_sessions SET revoked_at = coalesce(revoked_at, now()), revoked_reason = coalesce(revoked_reason, $2) WHERE id = $1', [sessionId, reason]);
      if (jti && jtiExpiresAt) {
        await c.query('INSERT INTO auth_revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING', [jti, jtiExpiresAt]);
      }
    },
    'logging out',
  ).catch(rethrow('logging out'));
}

export interface SessionAuthState {
  userId: number;
  username: string;
  role: Role;
  disabled: boolean;
  mustChangePassword: boolean;
  /** the session exists, belongs to the user and is not revoked. */
  sessionValid: boolean;
  jtiRevoked: boolean;
}

/** One query per request authenticated by an access token: the user as it is now, the session, the revocation list. */
export async function sessionAuthState(pool: Pool, userId: number, sessionId: string, jti: string): Promise<SessionAuthState | undefined> {
  const r = await rows<{
    id: number;
    username: string;
    role: Role;
    disabled: boolean;
    must_change_password: boolean;
    session_valid: boolean;
    jti_revoked: boolean;
  }>(
    pool,
    'checking an access token',
    `SELECT u.id, u.username, u.role, u.disabled, u.must_change_password,
            coalesce(s.user_id = u.id AND s.revoked_at IS NULL, false) AS session_valid,
            EXISTS (SELECT 1 FROM auth_revoked_tokens r WHERE r.jti = $3::uuid) AS jti_revoked
       FROM users u
       LEFT JOIN auth_sessions s ON s.id = $2::uuid
      WHERE u.id = $1`,
    [userId, sessionId, jti],
    true,
  );
  const u = r[0];
  if (!u) return undefined;
  return {
    userId: u.id,
    username: u.username,
    role: u.role,
    disabled: u.disabled,
    mustChangePassword: u.must_change_password,
    sessionValid: u.session_valid,
    jtiRevoked: u.jti_revoked,
  };
}

/** Deletes what can no longer matter: revocations of expired tokens, long-expired sessions. */
export async function pruneSessions(pool: Pool): Promise<void> {
  await rows(pool, 'pruning revoked access tokens', 'DELETE FROM auth_revoked_tokens WHERE expires_at < now()');
  // Sessions linger a day past their end so a late refresh still says why it failed.
  await rows(pool, 'pruning sessions', `DELETE FROM auth_sessions WHERE expires_at < now() - interval '1 day'`);
  await rows(pool, 'pruning refresh tokens', `DELETE FROM auth_refresh_tokens WHERE expires_at < now() - interval '1 day'`);
}
