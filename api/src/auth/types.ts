/** Roles, most powerful first: an admin can do everything a viewer can. */
export const ROLES = ['admin', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Whether `have` includes the rights of `need`. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) <= ROLES.indexOf(need);
}

/** The lesser of two roles (an admin's token made with role viewer acts as a viewer). */
export function lesserRole(a: Role, b: Role): Role {
  return roleAtLeast(a, b) ? b : a;
}

/** Who made a request, as requireAuth establishes it. */
export interface Principal {
  userId: number;
  username: string;
  /** the effective role: the user's, or lower for an API token made with a lower role. */
  role: Role;
  mustChangePassword: boolean;
  /** how the request authenticated. */
  via: 'session' | 'api_token';
  /** the login session (via session). */
  sessionId?: string;
  /** the access token's id and expiry (via session), for logout. */
  jti?: string;
  tokenExpiresAt?: Date;
  /** the API token (via api_token). */
  apiTokenId?: number;
}

/** A credential as a request presents it: where it came from decides how it is checked. */
export interface Credential {
  token: string;
  /** Authorization: Bearer, the live stream's ?access_token=, or the admin UI's session cookie. */
  from: 'header' | 'query' | 'cookie';
}

declare global {
  // passport's req.user is an Express.User; ours is the Principal.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends Principal {}
  }
}
