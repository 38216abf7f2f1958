/** The shapes the API answers (docs/api.md, "Routes"); timestamps are ISO 8601 strings. */

export type Role = 'admin' | 'viewer';

export interface Me {
  id: number;
  username: string;
  role: Role;
  mustChangePassword: boolean;
  authenticatedWith: 'session' | 'api_token';
  tokenId?: number;
}

/** Login and refresh in cookie mode: the tokens are in httpOnly cookies only, never here. */
export interface LoginAnswer {
  expiresAt: string;
  mustChangePassword: boolean;
  refreshExpiresAt: string;
}

export interface User {
  id: number;
  username: string;
  role: Role;
  disabled: boolean;
  mustChangePassword: boolean;
  createdAt: string;
  updatedAt: string;
  passwordChangedAt: string;
  lastLoginAt: string | null;
}

export interface ApiToken {
  id: number;
  userId: number;
  username: string;
  name: string;
  role: Role;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedToken extends ApiToken {
  /** pw_ + 43 characters: the only time it is shown. */
  token: string;
}

export type Tier = 'raw' | '1m' | '1h';

export interface TierPolicy {
  tier: Tier;
  days: number;
  minDays: number;
  maxDays: number;
  updatedAt: string;
}

export interface RetentionRun {
  id: number;
  tier: string;
  startedAt: string;
  finishedAt: string | null;
  durationSeconds: number | null;
  droppedPartitions: string[];
  error: string | null;
}
