/**
 * The auth rules in one place: password login with throttling, sessions with rotating refresh
 * tokens, logout, password changes, and turning a bearer credential (access token or API token)
 * into a Principal. Routes and strategies call it; the SQL lives in db/.
 */
import type { Pool } from '@perfwatch/store';
import type { ApiConfig } from '../config.js';
import { clearLoginFailures, releaseLoginAttempt, reserveLoginAttempt } from '../db/logins.js';
import { createSession, revokeSession, rotateRefreshToken, sessionAuthState } from '../db/sessions.js';
import { tokenAuthState, touchApiToken } from '../db/api-tokens.js';
import { API_TOKEN_RE } from '../db/tokens.js';
import { findUserByName, getUser, rehashPassword, setOwnPassword, type UserWithHash } from '../db/users.js';
import { ApiError, errorMessage, tooManyRequests, unauthenticated, validationFailed } from '../errors.js';
import type { Logger } from '../log.js';
import type { ApiMetrics } from '../metrics.js';
import { JwtKeys, looksLikeJwt } from './jwt.js';
import { passwordProblem, type PasswordHasher } from './passwords.js';
import { lesserRole, type Credential, type Principal, type Role } from './types.js';

/** The one answer to every failed login: it must not tell unknown users from wrong passwords. */
export const BAD_CREDENTIALS = 'invalid username or password';

export interface ClientInfo {
  ip: string;
  userAgent?: string | undefined;
}

export interface IssuedSession {
  token: string;
  expiresAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
  mustChangePassword: boolean;
  userId: number;
  role: Role;
}

export interface AuthServiceDeps {
  pool: Pool;
  config: ApiConfig;
  hasher: PasswordHasher;
  jwt: JwtKeys;
  metrics: ApiMetrics;
  log: Logger;
}

export class AuthService {
  private readonly pool: Pool;
  private readonly config: ApiConfig;
  private readonly hasher: PasswordHasher;
  private readonly jwt: JwtKeys;
  private readonly metrics: ApiMetrics;
  private readonly log: Logger;

  constructor(deps: AuthServiceDeps) {
    this.pool = deps.pool;
    this.config = deps.config;
    this.hasher = deps.hasher;
    this.jwt = deps.jwt;
    this.metrics = deps.metrics;
    this.log = deps.log;
  }

  private get limits() {
    return { windowSeconds: this.config.loginWindowSeconds, maxPerUser: this.config.loginMaxPerUser, maxPerIp: this.config.loginMaxPerIp };
  }

  /**
   * Reserves one password check for username from ip (db/logins.ts: atomic across concurrent
   * requests and replicas), or answers 429 when the limits are reached. Returns the reservation's
   * id: the row stays as the failure record when the check fails.
   */
  private async reserve(username: string, ip: string, isLogin: boolean): Promise<number> {
    const r = await reserveLoginAttempt(this.pool, username, ip, this.limits);
    if (!r.ok) {
      if (isLogin) this.metrics.login('throttled');
      throw tooManyRequests(r.retryAfterSeconds, `too many failed logins: try again in ${Math.ceil(r.retryAfterSeconds)} s`);
    }
    return r.id;
  }

  /** Runs a password check under a reservation; a check that could not run (BUSY, database) gives the reservation back. */
  private async checked<T>(attempt: number, check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (err) {
      await releaseLoginAttempt(this.pool, attempt).catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'releasing a login attempt failed'));
      throw err;
    }
  }

  /**
   * Checks username + password. Every attempt is counted before its password is checked, per user
   * name and per IP; past the limits it is answered 429 without a check. Unknown users, disabled
   * users and wrong passwords all cost one scrypt and get the same 401.
   */
  async checkPassword(username: string, password: string, client: ClientInfo): Promise<UserWithHash> {
    const attempt = await this.reserve(username, client.ip, true);
    const { user, ok } = await this.checked(attempt, async () => {
      const u = await findUserByName(this.pool, username);
      return { user: u, ok: u ? await this.hasher.verify(password, u.passwordHash) : await this.hasher.verifyDummy(password) };
    });
    if (!user || !ok || user.disabled) {
      // The reservation stays: it is this failure's row.
      this.metrics.login('failure');
      this.log.info({ username: username.slice(0, 64), ip: client.ip, reason: !user ? 'unknown user' : !ok ? 'wrong password' : 'disabled' }, 'login failed');
      throw unauthenticated('INVALID_CREDENTIALS', BAD_CREDENTIALS);
    }
    await clearLoginFailures(this.pool, username, attempt);
    if (this.hasher.needsRehash(user.passwordHash)) {
      // Cost raised since this hash was made: store one at the current cost (best effort).
      this.hasher
        .hash(password)
        .then((h) => rehashPassword(this.pool, user.id, user.passwordHash, h))
        .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 're-hashing a password failed'));
    }
    this.metrics.login('success');
    return user;
  }

  /** A new session for a user who just proved their password. */
  async startSession(user: UserWithHash, client: ClientInfo): Promise<IssuedSession> {
    const refresh = await createSession(this.pool, user.id, this.config.refreshTtlSeconds, client);
    const access = this.jwt.sign(user.id, user.role, refresh.sessionId);
    this.log.info({ userId: user.id, username: user.username, ip: client.ip }, 'login');
    return { token: access.token, expiresAt: access.expiresAt, ...refresh, mustChangePassword: user.mustChangePassword, userId: user.id, role: user.role };
  }

  /** Exchanges a refresh token for a new access token and the next refresh token. */
  async refresh(refreshToken: string): Promise<IssuedSession> {
    const r = await rotateRefreshToken(this.pool, refreshToken, this.config.refreshTtlSeconds);
    if (!r.ok) {
      if (r.reason === 'reused') this.log.warn('a refresh token was used twice: its session is revoked (stolen token, or two clients refreshing at once)');
      throw unauthenticated(r.reason === 'expired' ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN', r.reason === 'expired' ? 'refresh token expired: log in again' : 'invalid refresh token: log in again');
    }
    const access = this.jwt.sign(r.userId, r.role, r.issued.sessionId);
    return { token: access.token, expiresAt: access.expiresAt, ...r.issued, mustChangePassword: r.mustChangePassword, userId: r.userId, role: r.role };
  }

  async logout(p: Principal): Promise<void> {
    if (p.via !== 'session' || !p.sessionId) {
      throw new ApiError(400, 'NOT_A_SESSION', 'logout ends a login session; revoke an API token with DELETE /api/v1/tokens/{id}');
    }
    await revokeSession(this.pool, p.sessionId, p.jti, p.tokenExpiresAt, 'logout');
  }

  /** A user changes their own password; other sessions are revoked, this one stays. */
  async changePassword(p: Principal, currentPassword: string, newPassword: string, client: ClientInfo): Promise<void> {
    const user = await getUser(this.pool, p.userId);
    if (!user) throw unauthenticated('INVALID_TOKEN', 'the user no longer exists');
    // The current password is a password check like a login's: the same limits, counted first.
    const attempt = await this.reserve(user.username, client.ip, false);
    if (!(await this.checked(attempt, () => this.hasher.verify(currentPassword, user.passwordHash)))) {
      throw new ApiError(400, 'WRONG_PASSWORD', 'body.currentPassword: is not the current password', { field: 'body.currentPassword' });
    }
    await releaseLoginAttempt(this.pool, attempt);
    const problem = passwordProblem(newPassword, this.config.passwordMinLength, user.username);
    if (problem) throw validationFailed('body.newPassword', `body.newPassword: ${problem}`);
    if (newPassword === currentPassword) throw validationFailed('body.newPassword', 'body.newPassword: must differ from the current password');
    await setOwnPassword(this.pool, user.id, await this.hasher.hash(newPassword), p.via === 'session' ? p.sessionId : undefined);
    this.log.info({ userId: user.id, username: user.username }, 'password changed');
  }

  /** Who a request's credential belongs to; the session cookie only ever holds an access token. */
  authenticateCredential(cred: Credential): Promise<Principal> {
    return cred.from === 'cookie' ? this.authenticateAccessToken(cred.token) : this.authenticateBearer(cred.token);
  }

  /** Who a bearer credential (access token or API token) belongs to; 401 when it is not valid now. */
  async authenticateBearer(credential: string): Promise<Principal> {
    if (credential.startsWith('pw_')) return this.authenticateApiToken(credential);
    if (looksLikeJwt(credential)) return this.authenticateAccessToken(credential);
    throw unauthenticated('INVALID_TOKEN', 'invalid token');
  }

  async authenticateAccessToken(token: string): Promise<Principal> {
    const claims = this.jwt.verify(token);
    const s = await sessionAuthState(this.pool, Number(claims.sub), claims.sid, claims.jti);
    if (!s || s.disabled || !s.sessionValid || s.jtiRevoked) throw unauthenticated('INVALID_TOKEN', 'access token revoked: log in again');
    return {
      userId: s.userId,
      username: s.username,
      role: s.role,
      mustChangePassword: s.mustChangePassword,
      via: 'session',
      sessionId: claims.sid,
      jti: claims.jti,
      tokenExpiresAt: new Date(claims.exp * 1000),
    };
  }

  async authenticateApiToken(token: string): Promise<Principal> {
    if (!API_TOKEN_RE.test(token)) throw unauthenticated('INVALID_TOKEN', 'invalid API token');
    const t = await tokenAuthState(this.pool, token);
    if (!t || t.revoked || t.disabled) throw unauthenticated('INVALID_TOKEN', 'invalid API token');
    if (t.expired) throw unauthenticated('TOKEN_EXPIRED', 'API token expired: create a new one');
    if (!t.lastUsedAt || Date.now() - t.lastUsedAt.getTime() >= 60_000) {
      touchApiToken(this.pool, t.id).catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'recording an API token use failed'));
    }
    return {
      userId: t.userId,
      username: t.username,
      // A token never grants more than its owner has now.
      role: lesserRole(t.tokenRole, t.userRole),
      mustChangePassword: t.mustChangePassword,
      via: 'api_token',
      apiTokenId: t.id,
    };
  }
}
