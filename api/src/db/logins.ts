/**
 * Login throttling in the database, so several api replicas share it: one row per password check
 * (reserved before the check, kept when it failed), counted per user name and per client IP over
 * a sliding window, pruned once older than it.
 *
 * The limit counts attempts, not completed failures: an attempt reserves its row before the
 * password is checked, under a transaction-scoped advisory lock on the user name and one on the
 * IP, so concurrent attempts (from one api or from several sharing the database) count one after
 * the other and a limit of N lets at most N password checks through per window, however many
 * arrive at once. (A check-then-record without the lock let a burst of 20 parallel logins all
 * pass a limit of 5: each counted the failures committed before it, and none were yet.)
 */
import { withTransaction, type Pool } from '@perfwatch/store';
import { rethrow, rows } from './sql.js';

export interface ThrottleLimits {
  windowSeconds: number;
  maxPerUser: number;
  maxPerIp: number;
}

/** A reserved attempt (its row id), or how long until one may be made. */
export type Reservation = { ok: true; id: number } | { ok: false; retryAfterSeconds: number };

/** User names are counted lower-cased and cut to 256 characters (the column's rows). */
function nameKey(username: string): string {
  return username.slice(0, 256).toLowerCase();
}

/**
 * Reserves a password check for username from ip: inserts its row when fewer than maxPerUser
 * rows of the name and fewer than maxPerIp rows of the IP are in the window, otherwise answers
 * the seconds until enough of them leave the window to fall under the limits.
 */
export async function reserveLoginAttempt(pool: Pool, username: string, ip: string, limits: ThrottleLimits): Promise<Reservation> {
  const name = nameKey(username);
  return withTransaction(
    pool,
    async (c) => {
      // One lock per name and one per IP, always in that order (no deadlock: nobody waits for a
      // name lock while holding an IP lock). Keyed per schema: tests run many in one database.
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('perfwatch.login.user'), hashtext(current_schema() || ':' || $1))`, [name]);
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('perfwatch.login.ip'), hashtext(current_schema() || ':' || $1))`, [ip]);
      // A new statement, so a new snapshot (READ COMMITTED): it sees every attempt committed by
      // whoever held the locks before. The max-th newest row in the window: while it exists the
      // count is at the limit, and it falls below the limit when that row leaves the window.
      const r = await c.query<{ id: string | null; user_until: number | null; ip_until: number | null }>(
        `WITH w AS (SELECT now() - make_interval(secs => $3) AS since),
         lim AS (
           SELECT
             (SELECT extract(epoch FROM f.at + make_interval(secs => $3) - now())::float8
                FROM auth_login_failures f, w WHERE f.username = $1 AND f.at > w.since
                ORDER BY f.at DESC OFFSET $4 - 1 LIMIT 1) AS user_until,
             (SELECT extract(epoch FROM f.at + make_interval(secs => $3) - now())::float8
                FROM auth_login_failures f, w WHERE f.client_ip = $2 AND f.at > w.since
                ORDER BY f.at DESC OFFSET $5 - 1 LIMIT 1) AS ip_until),
         ins AS (
           INSERT INTO auth_login_failures (username, client_ip)
           SELECT $1, $2 FROM lim WHERE lim.user_until IS NULL AND lim.ip_until IS NULL
           RETURNING id)
         SELECT (SELECT id FROM ins) AS id, lim.user_until, lim.ip_until FROM lim`,
        [name, ip, limits.windowSeconds, limits.maxPerUser, limits.maxPerIp],
      );
      const row = r.rows[0]!;
      if (row.id !== null) return { ok: true as const, id: Number(row.id) };
      // A row exactly at the window's edge: at least a second, never 0.
      return { ok: false as const, retryAfterSeconds: Math.max(1, row.user_until ?? 0, row.ip_until ?? 0) };
    },
    'reserving a login attempt',
  ).catch(rethrow('reserving a login attempt'));
}

/**
 * An attempt whose password was not checked after all (the hashing queue was full, the database
 * failed): it gives its reservation back.
 */
export async function releaseLoginAttempt(pool: Pool, id: number): Promise<void> {
  await rows(pool, 'releasing a login attempt', 'DELETE FROM auth_login_failures WHERE id = $1', [id]);
}

/**
 * A successful login clears the user name's failures (not the IP's), up to its own attempt:
 * attempts reserved after it are still being checked and keep counting.
 */
export async function clearLoginFailures(pool: Pool, username: string, upToId: number): Promise<void> {
  await rows(pool, 'clearing failed logins', 'DELETE FROM auth_login_failures WHERE username = $1 AND id <= $2', [nameKey(username), upToId]);
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
