/**
 * /api/v1/auth/* and /api/v1/me. API clients get the access token (and refresh token) in the
 * body and send `Authorization: Bearer`; the admin UI logs in with "cookie": true and gets both
 * only as httpOnly, SameSite=Strict cookies that its scripts cannot read (none in the body).
 */
import type { Request, Response } from 'express';
import type passport from 'passport';
import { z } from 'zod';
import type { ApiConfig } from '../config.js';
import { REFRESH_TOKEN_RE } from '../db/tokens.js';
import { unauthenticated } from '../errors.js';
import type { AuthService, IssuedSession } from '../auth/service.js';
import { clientInfo, cookies, REFRESH_COOKIE, runStrategy, SESSION_COOKIE } from '../auth/strategies.js';
import { route, type RouteDef } from '../route.js';
import { newPassword, PasswordInput, RoleSchema, Timestamp } from '../schemas.js';
import type { UserWithHash } from '../db/users.js';

export interface AuthRouteDeps {
  config: ApiConfig;
  auth: AuthService;
  passport: passport.PassportStatic;
}

const SessionResponse = z.object({
  token: z.string().optional().meta({ description: 'Token mode only: the access token (JWT, HS256); send as Authorization: Bearer <token>.' }),
  expiresAt: Timestamp,
  mustChangePassword: z.boolean().meta({ description: 'Every route but auth/password, auth/logout and me answers 403 PASSWORD_CHANGE_REQUIRED until the password is changed.' }),
  refreshToken: z.string().optional().meta({ description: 'Token mode only: exchange it at POST /api/v1/auth/refresh; it is rotated on every use.' }),
  refreshExpiresAt: Timestamp,
});

const Me = z.object({
  id: z.number().int(),
  username: z.string(),
  role: RoleSchema,
  mustChangePassword: z.boolean(),
  authenticatedWith: z.enum(['session', 'api_token']),
  tokenId: z.number().int().optional().meta({ description: 'The API token, when authenticated with one.' }),
});

export function authRoutes(deps: AuthRouteDeps): RouteDef[] {
  const { config, auth } = deps;

  const secure = (req: Request): boolean => (config.cookieSecure === 'auto' ? req.secure : config.cookieSecure === 'true');

  /**
   * The answer to a login or refresh: in cookie mode (the UI) both tokens only in httpOnly cookies
   * and neither in the body, where page script could read them and so undo httpOnly; in token
   * mode both in the body.
   */
  function sessionAnswer(req: Request, res: Response, s: IssuedSession, cookieMode: boolean) {
    if (cookieMode) {
      const base = { httpOnly: true, sameSite: 'strict' as const, secure: secure(req) };
      res.cookie(SESSION_COOKIE, s.token, { ...base, path: '/api', maxAge: config.jwtTtlSeconds * 1000 });
      res.cookie(REFRESH_COOKIE, s.refreshToken, { ...base, path: '/api/v1/auth', expires: s.refreshExpiresAt });
    }
    return {
      ...(cookieMode ? {} : { token: s.token }),
      expiresAt: s.expiresAt,
      mustChangePassword: s.mustChangePassword,
      ...(cookieMode ? {} : { refreshToken: s.refreshToken }),
      refreshExpiresAt: s.refreshExpiresAt,
    };
  }

  function clearCookies(req: Request, res: Response): void {
    const base = { httpOnly: true, sameSite: 'strict' as const, secure: secure(req) };
    res.clearCookie(SESSION_COOKIE, { ...base, path: '/api' });
    res.clearCookie(REFRESH_COOKIE, { ...base, path: '/api/v1/auth' });
  }

  return [
    route({
      method: 'post',
      path: '/api/v1/auth/login',
      tag: 'auth',
      summary: 'Log in with a user name and password.',
      description:
        'Answers an access token (15 minutes) and a refresh token. With "cookie": true (the admin UI) both are set as httpOnly, ' +
        'SameSite=Strict cookies instead and neither is in the body. Unknown users and wrong passwords get the ' +
        'same 401; more than 5 failures for a user name in 5 minutes (or too many from one IP) answer 429 with Retry-After.',
      access: 'public',
      body: z.strictObject({
        username: z.string().min(1, 'is required').max(256, 'is too long'),
        password: PasswordInput,
        cookie: z.boolean().optional().meta({ description: 'Set the session as cookies (admin UI).' }),
      }),
      response: SessionResponse,
      errors: { 401: 'INVALID_CREDENTIALS: invalid username or password', 429: 'TOO_MANY_REQUESTS: too many failed logins; see Retry-After' },
      handler: async ({ req, res, body }) => {
        const user = await runStrategy<UserWithHash>(deps.passport, 'local', req, res);
        const s = await auth.startSession(user, clientInfo(req));
        return sessionAnswer(req, res, s, body.cookie === true);
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/auth/refresh',
      tag: 'auth',
      summary: 'Exchange a refresh token for a new access token and the next refresh token.',
      description:
        'Send {"refreshToken"} (token mode) or no body with the pw_refresh cookie (admin UI). The refresh token given is used up: ' +
        'presenting it again is refused and revokes its whole session.',
      access: 'public',
      body: z.strictObject({ refreshToken: z.string().regex(REFRESH_TOKEN_RE, 'is not a refresh token').optional() }),
      bodyOptional: true,
      response: SessionResponse,
      errors: { 401: 'INVALID_TOKEN or TOKEN_EXPIRED: log in again' },
      handler: async ({ req, res, body }) => {
        const fromCookie = body.refreshToken === undefined;
        const token = body.refreshToken ?? cookies(req)[REFRESH_COOKIE];
        if (!token) throw unauthenticated('UNAUTHENTICATED', 'send {"refreshToken"} or the pw_refresh cookie');
        if (!REFRESH_TOKEN_RE.test(token)) throw unauthenticated('INVALID_TOKEN', 'invalid refresh token: log in again');
        try {
          return sessionAnswer(req, res, await auth.refresh(token), fromCookie);
        } catch (err) {
          if (fromCookie) clearCookies(req, res);
          throw err;
        }
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/auth/logout',
      tag: 'auth',
      summary: 'End this login session: its access and refresh tokens are refused from now on.',
      access: 'user',
      duringPasswordChange: true,
      status: 204,
      errors: { 400: 'NOT_A_SESSION: called with an API token (revoke it with DELETE /api/v1/tokens/{id})' },
      handler: async ({ req, res, user }) => {
        await auth.logout(user);
        clearCookies(req, res);
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/auth/password',
      tag: 'auth',
      summary: 'Change your own password.',
      description: 'Other sessions of the user are revoked; this one stays. Clears a forced password change.',
      access: 'user',
      duringPasswordChange: true,
      body: z.strictObject({ currentPassword: PasswordInput, newPassword: newPassword(config.passwordMinLength) }),
      status: 204,
      errors: { 400: 'VALIDATION_FAILED (the new password breaks the policy) or WRONG_PASSWORD (currentPassword)', 429: 'TOO_MANY_REQUESTS: too many wrong passwords' },
      handler: async ({ req, body, user }) => {
        await auth.changePassword(user, body.currentPassword, body.newPassword, clientInfo(req));
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/me',
      tag: 'auth',
      summary: 'Who you are: user, effective role, whether a password change is due.',
      access: 'user',
      duringPasswordChange: true,
      response: Me,
      handler: ({ user }) => ({
        id: user.userId,
        username: user.username,
        role: user.role,
        mustChangePassword: user.mustChangePassword,
        authenticatedWith: user.via,
        ...(user.apiTokenId !== undefined ? { tokenId: user.apiTokenId } : {}),
      }),
    }),
  ];
}
