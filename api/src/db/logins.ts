/**
 * Failed-login counters in the database, so several api replicas share them: one row per failure,
 * counted per user name and per client IP over a sliding window, pruned once older than it.
 */
import type { Pool } from '@perfwatch/store';
import { rows } from './sql.js';

export interface ThrottleLimits {
  windowSeconds: number;
  maxPerUser: number;
  maxPerIp: number;
}

/**
 * Undefined when a login for username from ip may be tried; otherwise the seconds until it may
 * (when enough of the failures leave the window to fall under the limit).
 */
export async function loginThrottle(pool: Pool, username: string, ip: string, limits: ThrottleLimits): Promise<number | undefined> {
  // The max-th newest failure in the window: while it exists the count is at the limit, and the
  // count falls below the limit when it leaves the window.
  const r = await rows<{ user_until: number | null; ip_until: number | null }>(
    pool,
    'checking login throttling',
    `WITH w AS (SELECT now() - make_interval(secs => $3) AS since)
     SELECT
       (SELECT extract(epoch FROM f.at + make_interval(secs => $3) - now())::float8
          FROM auth_login_failures f, w WHERE f.username = lower($1) AND f.at > w.since
          ORDER BY f.at DESC OFFSET $4 - 1 LIMIT 1) AS user_until,
       (SELECT extract(epoch FROM f.at + make_interval(secs => $3) - now())::float8
          FROM auth_login_failures f, w WHERE f.client_ip = $2 AND f.at > w.since
          ORDER BY f.at DESC OFFSET $5 - 1 LIMIT 1) AS ip_until`,
    [username, ip, limits.windowSeconds, limits.maxPerUser, limits.maxPerIp],
  );
  const until = Math.max(r[0]?.user_until ?? -1, r[0]?.ip_until ?? -1);
  return until > 0 ? until : undefined;
}

export async function recordLoginFailure(pool: Pool, username: string, ip: string): Promise<void> {
  await rows(pool, 'recording a failed login', 'INSERT INTO auth_login_failures (username, client_ip) VALUES (lower($1), $2)', [username.slice(0, 256), ip]);
}

/** A successful login clears the user name's failures (not the IP's). */
export async function clearLoginFailures(pool: Pool, username: string): Promise<void> {
  await rows(pool, 'clearing failed logins', 'DELETE FROM auth_login_failures WHERE username = lower($1)', [username]);
}

export async function pruneLoginFailures(pool: Pool, windowSeconds: number): Promise<number> {
  const r = await rows<{ n: number }>(
    pool,
    'pruning failed logins',
    'WITH d AS (DELETE FROM auth_login_failures WHERE at < now() - make_interval(secs => $1) RETURNING 1) SELECT count(*)::int AS n FROM d',
    [windowSeconds],
  );
  return r[0]?.n ?? 0;
}
