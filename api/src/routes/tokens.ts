/**
 * /api/v1/tokens: API tokens for Grafana and scripts. Everyone manages their own; administrators
 * may list and revoke anyone's. A token is shown once, at creation; its role cannot exceed its
 * creator's.
 */
import type { Pool } from '@perfwatch/store';
import { z } from 'zod';
import { roleAtLeast } from '../auth/types.js';
import { createApiToken, listApiTokens, MAX_ACTIVE_TOKENS_PER_USER, revokeApiToken } from '../db/api-tokens.js';
import { forbidden, notFound, validationFailed } from '../errors.js';
import type { Logger } from '../log.js';
import { route, type RouteDef } from '../route.js';
import { IdParams, IdText, QueryBool, RoleSchema, Timestamp } from '../schemas.js';

export interface TokenRouteDeps {
  pool: Pool;
  log: Logger;
}

const TokenSchema = z.object({
  id: z.number().int(),
  userId: z.number().int(),
  username: z.string(),
  name: z.string(),
  role: RoleSchema,
  prefix: z.string().meta({ description: 'The first characters of the token, to tell tokens apart.' }),
  createdAt: Timestamp,
  expiresAt: Timestamp.nullable(),
  lastUsedAt: Timestamp.nullable().meta({ description: 'Updated at most once a minute.' }),
  revokedAt: Timestamp.nullable(),
});

/** Longest lifetime of a token with an expiry: ten years. */
const MAX_EXPIRY_MS = 10 * 366 * 86_400_000;

export function tokenRoutes(deps: TokenRouteDeps): RouteDef[] {
  const { pool, log } = deps;
  return [
    route({
      method: 'get',
      path: '/api/v1/tokens',
      tag: 'tokens',
      summary: 'List your API tokens (administrators: anyone\'s with all=true or userId).',
      access: 'user',
      query: z.strictObject({
        all: QueryBool.optional().meta({ description: 'Administrators: tokens of every user.' }),
        userId: IdText.optional().meta({ description: 'Administrators: tokens of this user.' }),
      }),
      response: z.object({ tokens: z.array(TokenSchema) }),
      errors: { 403: 'FORBIDDEN: all or another userId without the admin role' },
      handler: async ({ query, user }) => {
        const others = query.all === true || (query.userId !== undefined && query.userId !== user.userId);
        if (others && user.role !== 'admin') throw forbidden('FORBIDDEN', 'only administrators may list other users\' tokens');
        const owner = query.all === true ? undefined : (query.userId ?? user.userId);
        return { tokens: await listApiTokens(pool, owner) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/tokens',
      tag: 'tokens',
      summary: 'Create an API token; the answer is the only time the token is shown.',
      description: `Send it as Authorization: Bearer pw_... . The role defaults to viewer and cannot be above yours. At most ${MAX_ACTIVE_TOKENS_PER_USER} active tokens per user.`,
      access: 'user',
      body: z.strictObject({
        name: z
          .string()
          .trim()
          .min(1, 'is required')
          .max(100, 'must be at most 100 characters')
          .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
          .meta({ description: 'What the token is for, e.g. "grafana prod".' }),
        role: RoleSchema.default('viewer'),
        expiresAt: z.iso.datetime({ offset: true }).optional().meta({ description: 'When the token stops working (ISO 8601); none: never.' }),
      }),
      status: 201,
      response: TokenSchema.extend({ token: z.string().meta({ description: 'pw_ + 43 characters. Shown once: store it now.' }) }),
      errors: { 403: 'FORBIDDEN: a role above your own', 409: `TOO_MANY_TOKENS: ${MAX_ACTIVE_TOKENS_PER_USER} active tokens already` },
      handler: async ({ body, user }) => {
        if (!roleAtLeast(user.role, body.role)) {
          throw forbidden('FORBIDDEN', `a token cannot have a higher role than its creator (${user.role})`);
        }
        let expiresAt: Date | null = null;
        if (body.expiresAt !== undefined) {
          expiresAt = new Date(body.expiresAt);
          const ms = expiresAt.getTime() - Date.now();
          if (ms <= 0) throw validationFailed('body.expiresAt', 'body.expiresAt: must be in the future');
          if (ms > MAX_EXPIRY_MS) throw validationFailed('body.expiresAt', 'body.expiresAt: must be within ten years (leave it out for a token that never expires)');
        }
        const { token, info } = await createApiToken(pool, user.userId, body.name, body.role, expiresAt);
        log.info({ by: user.username, tokenId: info.id, role: info.role }, 'API token created');
        return { ...info, token };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/tokens/:id',
      tag: 'tokens',
      summary: 'Revoke an API token (yours; administrators: anyone\'s). It is refused from the next request on.',
      access: 'user',
      params: IdParams,
      status: 204,
      errors: { 404: 'NOT_FOUND: no such token of yours' },
      handler: async ({ params, user }) => {
        const t = await revokeApiToken(pool, params.id, user.role === 'admin' ? undefined : user.userId);
        if (!t) throw notFound(`no token ${params.id}`);
        log.info({ by: user.username, tokenId: t.id, owner: t.userId }, 'API token revoked');
      },
    }),
  ];
}
