/** /api/v1/users (administrators). */
import { request } from './http.js';
import type { Role, User } from './types.js';

export async function listUsers(signal?: AbortSignal): Promise<User[]> {
  return (await request<{ users: User[] }>('GET', '/api/v1/users', { signal })).users;
}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  mustChangePassword: boolean;
}

export function createUser(u: NewUser, signal?: AbortSignal): Promise<User> {
  return request<User>('POST', '/api/v1/users', { body: u, signal });
}

export interface UserPatch {
  role?: Role;
  disabled?: boolean;
  password?: string;
  mustChangePassword?: boolean;
  /** with password: also revoke their API tokens (the api's default: true). */
  revokeTokens?: boolean;
}

/** The user as changed; after a password reset, how many API tokens it revoked. */
export function updateUser(id: number, patch: UserPatch, signal?: AbortSignal): Promise<User & { revokedTokens?: number }> {
  return request<User & { revokedTokens?: number }>('PATCH', `/api/v1/users/${id}`, { body: patch, signal });
}

export function deleteUser(id: number, signal?: AbortSignal): Promise<void> {
  return request<void>('DELETE', `/api/v1/users/${id}`, { signal });
}

/** The user name rule of the users table (api/src/config.ts USERNAME_RE). */
export const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
