/**
 * Access tokens: JWTs signed with HS256 and verified with the algorithm pinned, so `alg: none`,
 * RS256 (the public-key confusion attack), HS512 and any other algorithm are refused before the
 * signature is even looked at. Each token names its login session (`sid`) and has its own id
 * (`jti`) for the revocation list; the user's role and status are read from the database on
 * every request, so the `role` claim is informative only.
 */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { unauthenticated } from '../errors.js';
import type { Role } from './types.js';

export const JWT_ALGORITHM = 'HS256' as const;
export const JWT_ISSUER = 'perfwatch';
export const JWT_AUDIENCE = 'perfwatch-api';

export interface AccessClaims {
  /** user id. */
  sub: string;
  role: Role;
  /** login session (auth_sessions.id). */
  sid: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface SignedAccessToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

export class JwtKeys {
  private readonly key: Buffer;

  constructor(
    secret: Buffer,
    readonly ttlSeconds: number,
  ) {
    if (secret.length < 16) throw new Error('JWT key shorter than 16 bytes');
    this.key = secret;
  }

  sign(userId: number, role: Role, sessionId: string, now = Date.now()): SignedAccessToken {
    const jti = randomUUID();
    const iat = Math.floor(now / 1000);
    const exp = iat + this.ttlSeconds;
    const token = jwt.sign({ sub: String(userId), role, sid: sessionId, jti, iat, exp }, this.key, {
      algorithm: JWT_ALGORITHM,
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
    });
    return { token, jti, expiresAt: new Date(exp * 1000) };
  }

  /** The claims of a valid token; throws a 401 ApiError otherwise (TOKEN_EXPIRED when only the expiry is wrong). */
  verify(token: string): AccessClaims {
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, this.key, {
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        clockTolerance: 5,
      });
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError) throw unauthenticated('TOKEN_EXPIRED', 'access token expired: refresh it (POST /api/v1/auth/refresh) or log in again');
      throw unauthenticated('INVALID_TOKEN', 'invalid access token');
    }
    if (
      typeof payload !== 'object' ||
      typeof payload.sub !== 'string' ||
      !/^\d{1,15}$/.test(payload.sub) ||
      typeof payload.sid !== 'string' ||
      typeof payload.jti !== 'string' ||
      typeof payload.exp !== 'number' ||
      typeof payload.iat !== 'number' ||
      (payload.role !== 'admin' && payload.role !== 'viewer')
    ) {
      throw unauthenticated('INVALID_TOKEN', 'invalid access token');
    }
    return payload as AccessClaims;
  }
}

/** Whether a bearer credential looks like a JWT (three base64url parts) rather than an API token. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token);
}
