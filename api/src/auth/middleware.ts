/**
 * requireAuth and requireRole as route.ts runs them before validation: who is calling (passport's
 * token strategy), whether they must change their password first, and whether their role
 * suffices. Every failure is an ApiError: 401 without valid credentials, 403 otherwise.
 */
import type { Request, Response } from 'express';
import type passport from 'passport';
import { forbidden } from '../errors.js';
import type { RouteDef } from '../route.js';
import { runStrategy } from './strategies.js';
import { roleAtLeast, type Principal, type Role } from './types.js';

export async function requireAuth(pp: passport.PassportStatic, req: Request, res: Response): Promise<Principal> {
  const p = await runStrategy<Principal>(pp, 'token', req, res);
  req.user = p;
  return p;
}

export function requireRole(p: Principal, role: Role): void {
  if (!roleAtLeast(p.role, role)) throw forbidden('FORBIDDEN', `this needs the ${role} role; ${p.via === 'api_token' ? 'this token has' : 'you have'} ${p.role}`);
}

/** The RouteHooks.authenticate of the app: auth, then the forced password change, then the role. */
export function routeGuard(pp: passport.PassportStatic) {
  return async (def: RouteDef, req: Request, res: Response): Promise<void> => {
    const p = await requireAuth(pp, req, res);
    if (p.mustChangePassword && !def.duringPasswordChange) {
      throw forbidden('PASSWORD_CHANGE_REQUIRED', 'change your password first: POST /api/v1/auth/password with currentPassword and newPassword');
    }
    if (def.access === 'admin') requireRole(p, 'admin');
  };
}
