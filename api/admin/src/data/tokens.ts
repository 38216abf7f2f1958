/** /api/v1/tokens: your API tokens (administrators: anyone's). */
import { request } from './http.js';
import type { ApiToken, CreatedToken, Role } from './types.js';

export async function listTokens(all: boolean, signal?: AbortSignal): Promise<ApiToken[]> {
  return (await request<{ tokens: ApiToken[] }>('GET', `/api/v1/tokens${all ? '?all=true' : ''}`, { signal })).tokens;
}

export interface NewToken {
  name: string;
  role: Role;
  /** ISO 8601; left out: never expires. */
  expiresAt?: string;
}

export function createToken(t: NewToken, signal?: AbortSignal): Promise<CreatedToken> {
  return request<CreatedToken>('POST', '/api/v1/tokens', { body: t, signal });
}

export function revokeToken(id: number, signal?: AbortSignal): Promise<void> {
  return request<void>('DELETE', `/api/v1/tokens/${id}`, { signal });
}

export type TokenState = 'active' | 'expired' | 'revoked';

export function tokenState(t: ApiToken, now = Date.now()): TokenState {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return 'expired';
  return 'active';
}
