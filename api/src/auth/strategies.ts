/**
 * passport strategies, on a Passport instance of each app (never the global singleton, so apps
 * in one process stay apart):
 *  - local: username + password from the JSON body (POST /api/v1/auth/login);
 *  - token: `Authorization: Bearer <access token | pw_ API token>`, else the pw_session cookie.
 * Neither uses passport sessions: the api is stateless apart from the database.
 */
import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { parse as parseCookies } from 'cookie';
import { ApiError, unauthenticated } from '../errors.js';
import type { AuthService, ClientInfo } from './service.js';
import type { Credential, Principal } from './types.js';

/** The admin UI's access-token cookie (httpOnly, SameSite=Strict). */
export const SESSION_COOKIE = 'pw_session';
/** The admin UI's refresh-token cookie (httpOnly, SameSite=Strict, path /api/v1/auth). */
export const REFRESH_COOKIE = 'pw_refresh';

export function clientInfo(req: Request): ClientInfo {
  return { ip: req.ip ?? req.socket.remoteAddress ?? 'unknown', userAgent: req.headers['user-agent'] };
}

export function cookies(req: IncomingMessage): Record<string, string | undefined> {
  const header = req.headers.cookie;
  return header ? parseCookies(header) : {};
}

/**
 * Where the request's credential came from, when it has one: the Authorization header, else
 * `queryToken` (the live stream's ?access_token=, which a browser's WebSocket cannot send as a
 * header), else the session cookie.
 */
export function bearerCredential(req: IncomingMessage, queryToken?: string | null): Credential | undefined {
  const h = req.headers.authorization;
  if (h !== undefined) {
    const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(h);
    if (!m) throw unauthenticated('INVALID_TOKEN', 'the Authorization header must be "Bearer <token>"');
    return { token: m[1]!, from: 'header' };
  }
  if (queryToken) return { token: queryToken, from: 'query' };
  const c = cookies(req)[SESSION_COOKIE];
  return c ? { token: c, from: 'cookie' } : undefined;
}

/** passport's Strategy base, typed as a class to extend. */
const Strategy = passport.Strategy as unknown as new () => passport.Strategy & passport.StrategyCreatedStatic;

class TokenStrategy extends Strategy {
  override name = 'token';

  constructor(private readonly auth: AuthService) {
    super();
  }

  override authenticate(req: Request): void {
    let cred: ReturnType<typeof bearerCredential>;
    try {
      cred = bearerCredential(req);
    } catch (err) {
      this.error(err);
      return;
    }
    if (!cred) {
      this.error(unauthenticated('UNAUTHENTICATED', 'log in first: send Authorization: Bearer <token> (an access token or an API token)'));
      return;
    }
    this.auth.authenticateCredential(cred).then(
      (p: Principal) => this.success(p),
      (err: unknown) => this.error(err),
    );
  }
}

/** A Passport instance with this app's local and token strategies. */
export function createPassport(auth: AuthService): passport.PassportStatic {
  const p = new passport.Passport() as passport.PassportStatic;
  p.use(
    'local',
    new LocalStrategy({ usernameField: 'username', passwordField: 'password', passReqToCallback: true, session: false }, (req, username, password, done) => {
      auth.checkPassword(username, password, clientInfo(req as Request)).then(
        (user) => done(null, user as unknown as Express.User),
        (err: unknown) => done(err),
      );
    }),
  );
  p.use('token', new TokenStrategy(auth));
  return p;
}

/** Runs a strategy and resolves with what it established (or rejects with its ApiError). */
export function runStrategy<T>(pp: passport.PassportStatic, name: 'local' | 'token', req: Request, res: Response): Promise<T> {
  return new Promise((resolve, reject) => {
    const handler = pp.authenticate(name, { session: false }, (err: unknown, user: unknown) => {
      if (err) reject(err);
      else if (!user) reject(name === 'local' ? new ApiError(400, 'VALIDATION_FAILED', 'body.username and body.password are required') : unauthenticated('UNAUTHENTICATED', 'log in first'));
      else resolve(user as T);
    });
    // With a callback, passport answers nothing itself: the promise decides.
    handler(req, res, () => undefined);
  });
}
