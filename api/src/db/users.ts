/**
 * SQL of the users table. Values are always parameters; the only identifiers are the fixed table
 * and column names below. Rules that need several rows (the last administrator) run in one
 * transaction under an advisory lock, so two concurrent demotions cannot both pass the check.
 */
import type { Pool, PoolClient } from '@perfwatch/store';
import { sqlState, withTransaction, wrapPgError } from '@perfwatch/store';
import type { Role } from '../auth/types.js';
import { conflict, notFound } from '../errors.js';
import { rethrow, rows as q, type Db } from './sql.js';

export interface User {
  id: number;
  username: string;
  role: Role;
  disabled: boolean;
  mustChangePassword: boolean;
  createdAt: Date;
  updatedAt: Date;
  passwordChangedAt: Date;
  lastLoginAt: Date | null;
}

/** A user with the password hash: never leaves the auth code. */
export interface UserWithHash extends User {
  passwordHash: string;
}

interface UserRow {
  id: number;
  username: string;
  password_hash: string;
  role: Role;
  disabled: boolean;
  must_change_password: boolean;
  created_at: Date;
  updated_at: Date;
  password_changed_at: Date;
  last_login_at: Date | null;
}

const COLUMNS = 'id, username, password_hash, role, disabled, must_change_password, created_at, updated_at, password_changed_at, last_login_at';

function toUser(r: UserRow): UserWithHash {
  return {
    id: r.id,
    username: r.username,
    role: r.role,
    disabled: r.disabled,
    mustChangePassword: r.must_change_password,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    passwordChangedAt: r.password_changed_at,
    lastLoginAt: r.last_login_at,
    passwordHash: r.password_hash,
  };
}

/** The user without its hash. */
export function publicUser(u: UserWithHash): User {
  const { passwordHash: _hash, ...rest } = u;
  return rest;
}

export async function findUserByName(pool: Pool, username: string): Promise<UserWithHash | undefined> {
  const rows = await q<UserRow>(pool, 'looking up a user', `SELECT ${COLUMNS} FROM users WHERE lower(username) = lower($1)`, [username]);
  return rows[0] && toUser(rows[0]);
}

export async function getUser(pool: Db, id: number): Promise<UserWithHash | undefined> {
  const rows = await q<UserRow>(pool, 'reading a user', `SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0] && toUser(rows[0]);
}

export async function listUsers(pool: Pool): Promise<User[]> {
  const rows = await q<UserRow>(pool, 'listing users', `SELECT ${COLUMNS} FROM users ORDER BY lower(username)`);
  return rows.map((r) => publicUser(toUser(r)));
}

export interface NewUser {
  username: string;
  passwordHash: string;
  role: Role;
  mustChangePassword: boolean;
}

export async function insertUser(db: Db, u: NewUser): Promise<User> {
  try {
    const r = await db.query<UserRow>(
      `INSERT INTO users (username, password_hash, role, must_change_password) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
      [u.username, u.passwordHash, u.role, u.mustChangePassword],
    );
    return publicUser(toUser(r.rows[0]!));
  } catch (err) {
    if (sqlState(err) === '23505') throw conflict('USERNAME_TAKEN', `user name "${u.username}" is taken`);
    throw wrapPgError(err, 'creating a user');
  }
}

/**
 * Takes the lock that serialises changes to who is an administrator (per schema: tests run many
 * schemas in one database).
 */
async function lockAdmins(c: PoolClient): Promise<void> {
  await c.query(`SELECT pg_advisory_xact_lock(hashtext('perfwatch.users.admins'), hashtext(current_schema()))`);
}

async function otherActiveAdmins(c: PoolClient, id: number): Promise<number> {
  const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND NOT disabled AND id <> $1`, [id]);
  return r.rows[0]?.n ?? 0;
}

export interface UserPatch {
  role?: Role;
  disabled?: boolean;
  passwordHash?: string;
  mustChangePassword?: boolean;
  /** with passwordHash: revoke the user's API tokens too (what a reset after a compromise needs). */
  revokeTokens?: boolean;
}

/**
 * Applies patch to user id. Refuses (409 LAST_ADMIN) to demote or disable the last enabled
 * administrator. Disabling a user or setting their password revokes their login sessions; a
 * password reset with revokeTokens also revokes their API tokens, in the same transaction.
 * revokedTokens: how many API tokens that revoked.
 */
export async function updateUser(pool: Pool, id: number, patch: UserPatch): Promise<User & { revokedTokens?: number }> {
  return withTransaction(
    pool,
    async (c) => {
      await lockAdmins(c);
      const cur = (await c.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [id])).rows[0];
      if (!cur) throw notFound(`no user ${id}`);
      const losesAdmin = cur.role === 'admin' && !cur.disabled && ((patch.role !== undefined && patch.role !== 'admin') || patch.disabled === true);
      if (losesAdmin && (await otherActiveAdmins(c, id)) === 0) {
        throw conflict('LAST_ADMIN', `"${cur.username}" is the last enabled administrator: make another user an administrator first`);
      }
      const r = await c.query<UserRow>(
        `UPDATE users SET
           role = coalesce($2, role),
           disabled = coalesce($3, disabled),
           password_hash = coalesce($4, password_hash),
           password_changed_at = CASE WHEN $4::text IS NULL THEN password_changed_at ELSE now() END,
           must_change_password = coalesce($5, must_change_password),
           updated_at = now()
         WHERE id = $1
         RETURNING ${COLUMNS}`,
        [id, patch.role ?? null, patch.disabled ?? null, patch.passwordHash ?? null, patch.mustChangePassword ?? null],
      );
      if (patch.disabled === true || patch.passwordHash !== undefined) {
        await c.query(`UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL`, [
          id,
          patch.disabled === true ? 'user disabled' : 'password reset',
        ]);
      }
      let revokedTokens: number | undefined;
      if (patch.passwordHash !== undefined && patch.revokeTokens) {
        const t = await c.query(`UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [id]);
        revokedTokens = t.rowCount ?? 0;
      }
      return { ...publicUser(toUser(r.rows[0]!)), ...(revokedTokens !== undefined ? { revokedTokens } : {}) };
    },
    'updating a user',
  ).catch(rethrow('updating a user'));
}

/** Deletes user id (their sessions and API tokens go with it); refuses to delete the last enabled administrator. */
export async function deleteUser(pool: Pool, id: number): Promise<void> {
  await withTransaction(
    pool,
    async (c) => {
      await lockAdmins(c);
      const cur = (await c.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [id])).rows[0];
      if (!cur) throw notFound(`no user ${id}`);
      if (cur.role === 'admin' && !cur.disabled && (await otherActiveAdmins(c, id)) === 0) {
        throw conflict('LAST_ADMIN', `"${cur.username}" is the last enabled administrator: make another user an administrator first`);
      }
      await c.query('DELETE FROM users WHERE id = $1', [id]);
    },
    'deleting a user',
  ).catch(rethrow('deleting a user'));
}

/** A user's own password change: new hash, no forced change, every other session revoked. */
export async function setOwnPassword(pool: Pool, id: number, passwordHash: string, keepSessionId: string | undefined): Promise<void> {
  await withTransaction(
    pool,
    async (c) => {
      await c.query(
        `UPDATE users SET password_hash = $2, must_change_password = false, password_changed_at = now(), updated_at = now() WHERE id = $1`,
        [id, passwordHash],
      );
      await c.query(
        `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'password changed'
          WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2::uuid)`,
        [id, keepSessionId ?? null],
      );
    },
    'changing a password',
  ).catch(rethrow('changing a password'));
}

/** Replaces a hash made with old scrypt parameters (login re-hashes with the current ones). */
export async function rehashPassword(pool: Pool, id: number, oldHash: string, newHash: string): Promise<void> {
  await q(pool, 're-hashing a password', 'UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2', [id, oldHash, newHash]);
}

export async function hasEnabledAdmin(pool: Pool): Promise<boolean> {
  return (await q(pool, 'looking for an administrator', `SELECT 1 FROM users WHERE role = 'admin' AND NOT disabled LIMIT 1`)).length > 0;
}

/**
 * Creates the configured administrator when no enabled administrator exists: on first start, and
 * after an operator deleted a lost administrator with SQL (docs/api.md). Under the admins lock so
 * two replicas starting together create it once.
 */
export async function ensureAdmin(pool: Pool, u: NewUser): Promise<'exists' | 'created' | 'name-taken'> {
  return withTransaction(
    pool,
    async (c) => {
      await lockAdmins(c);
      const admins = await c.query(`SELECT 1 FROM users WHERE role = 'admin' AND NOT disabled LIMIT 1`);
      if (admins.rowCount) return 'exists';
      const taken = await c.query('SELECT 1 FROM users WHERE lower(username) = lower($1)', [u.username]);
      if (taken.rowCount) return 'name-taken';
      await insertUser(c, u);
      return 'created';
    },
    'creating the administrator',
  ).catch(rethrow('creating the administrator'));
}
