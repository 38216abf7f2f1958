/** /api/v1/users: administrators manage accounts. The last enabled administrator cannot be removed, disabled or demoted. */
import type { Pool } from '@perfwatch/store';
import { z } from 'zod';
import type { PasswordHasher } from '../auth/passwords.js';
import type { ApiConfig } from '../config.js';
import { deleteUser, getUser, insertUser, listUsers, publicUser, updateUser } from '../db/users.js';
import { notFound, validationFailed } from '../errors.js';
import type { Logger } from '../log.js';
import { route, type RouteDef } from '../route.js';
import { IdParams, newPassword, RoleSchema, Timestamp, Username } from '../schemas.js';
import { passwordProblem } from '../auth/passwords.js';

export interface UserRouteDeps {
  pool: Pool;
  config: ApiConfig;
  hasher: PasswordHasher;
  log: Logger;
}

export const UserSchema = z.object({
  id: z.number().int(),
  username: z.string(),
  role: RoleSchema,
  disabled: z.boolean(),
  mustChangePassword: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  passwordChangedAt: Timestamp,
  lastLoginAt: Timestamp.nullable(),
});

const LAST_ADMIN = { 409: 'LAST_ADMIN: the last enabled administrator cannot be removed, disabled or demoted', 404: 'NOT_FOUND: no such user' };

export function userRoutes(deps: UserRouteDeps): RouteDef[] {
  const { pool, config, hasher, log } = deps;

  function checkPassword(password: string, username: string): void {
    const problem = passwordProblem(password, config.passwordMinLength, username);
    if (problem) throw validationFailed('body.password', `body.password: ${problem}`);
  }

  return [
    route({
      method: 'get',
      path: '/api/v1/users',
      tag: 'users',
      summary: 'List users with their role, status and last login.',
      access: 'admin',
      response: z.object({ users: z.array(UserSchema) }),
      handler: async () => ({ users: await listUsers(pool) }),
    }),
    route({
      method: 'post',
      path: '/api/v1/users',
      tag: 'users',
      summary: 'Create a user.',
      description: 'The password is a temporary one unless mustChangePassword is false: the user must change it at first login.',
      access: 'admin',
      body: z.strictObject({
        username: Username,
        password: newPassword(config.passwordMinLength),
        role: RoleSchema,
        mustChangePassword: z.boolean().default(true),
      }),
      status: 201,
      response: UserSchema,
      errors: { 409: 'USERNAME_TAKEN: the user name exists (names are unique regardless of case)' },
      handler: async ({ body, user }) => {
        checkPassword(body.password, body.username);
        const created = await insertUser(pool, { username: body.username, passwordHash: await hasher.hash(body.password), role: body.role, mustChangePassword: body.mustChangePassword });
        log.info({ by: user.username, userId: created.id, username: created.username, role: created.role }, 'user created');
        return created;
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/users/:id',
      tag: 'users',
      summary: 'One user.',
      access: 'admin',
      params: IdParams,
      response: UserSchema,
      errors: { 404: 'NOT_FOUND: no such user' },
      handler: async ({ params }) => {
        const u = await getUser(pool, params.id);
        if (!u) throw notFound(`no user ${params.id}`);
        return publicUser(u);
      },
    }),
    route({
      method: 'patch',
      path: '/api/v1/users/:id',
      tag: 'users',
      summary: 'Change a user: role, disabled, or reset the password.',
      description:
        'A password reset makes the user change it at next login (unless mustChangePassword is false) and revokes their sessions, ' +
        'as disabling does, and their API tokens too unless revokeTokens is false (a reset is what one does after an account is ' +
        'compromised: tokens made by whoever had it must stop working). API tokens of a disabled user are refused; a demoted ' +
        'user\'s admin tokens act as viewer tokens.',
      access: 'admin',
      params: IdParams,
      body: z
        .strictObject({
          role: RoleSchema.optional(),
          disabled: z.boolean().optional(),
          password: newPassword(config.passwordMinLength).optional(),
          mustChangePassword: z.boolean().optional(),
          revokeTokens: z.boolean().optional().meta({ description: 'With password: also revoke the user\'s API tokens (default true).' }),
        })
        .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one of role, disabled, password, mustChangePassword')
        .refine((b) => b.revokeTokens === undefined || b.password !== undefined, { message: 'goes with password (a reset)', path: ['revokeTokens'] })
        .meta({ minProperties: 1 }),
      response: UserSchema.extend({
        revokedTokens: z.number().int().optional().meta({ description: 'After a password reset: how many API tokens it revoked.' }),
      }),
      errors: LAST_ADMIN,
      handler: async ({ params, body, user }) => {
        let passwordHash: string | undefined;
        if (body.password !== undefined) {
          const target = await getUser(pool, params.id);
          if (!target) throw notFound(`no user ${params.id}`);
          checkPassword(body.password, target.username);
          passwordHash = await hasher.hash(body.password);
        }
        const updated = await updateUser(pool, params.id, {
          role: body.role,
          disabled: body.disabled,
          passwordHash,
          mustChangePassword: body.mustChangePassword ?? (passwordHash !== undefined ? true : undefined),
          revokeTokens: passwordHash !== undefined && body.revokeTokens !== false,
        });
        log.info(
          { by: user.username, userId: updated.id, role: body.role, disabled: body.disabled, passwordReset: passwordHash !== undefined, revokedTokens: updated.revokedTokens },
          'user changed',
        );
        return updated;
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/users/:id',
      tag: 'users',
      summary: 'Delete a user, with their sessions and API tokens.',
      access: 'admin',
      params: IdParams,
      status: 204,
      errors: LAST_ADMIN,
      handler: async ({ params, user }) => {
        await deleteUser(pool, params.id);
        log.info({ by: user.username, userId: params.id }, 'user deleted');
      },
    }),
  ];
}
