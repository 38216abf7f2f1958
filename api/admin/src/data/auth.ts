/** Login, logout, who am I, own password, and the password policy (from the OpenAPI document). */
import { request } from './http.js';
import type { LoginAnswer, Me } from './types.js';

export function login(username: string, password: string, signal?: AbortSignal): Promise<LoginAnswer> {
  // cookie: the api keeps both tokens in httpOnly cookies and puts neither in the body.
  return request<LoginAnswer>('POST', '/api/v1/auth/login', { body: { username, password, cookie: true }, signal, renew: false });
}

export function logout(signal?: AbortSignal): Promise<void> {
  return request<void>('POST', '/api/v1/auth/logout', { signal, renew: false });
}

export function me(signal?: AbortSignal): Promise<Me> {
  return request<Me>('GET', '/api/v1/me', { signal });
}

export function changePassword(currentPassword: string, newPassword: string, signal?: AbortSignal): Promise<void> {
  return request<void>('POST', '/api/v1/auth/password', { body: { currentPassword, newPassword }, signal });
}

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
}

/** What the api enforces when PERFWATCH_PASSWORD_MIN_LENGTH is not changed. */
export const DEFAULT_POLICY: PasswordPolicy = { minLength: 12, maxLength: 1024 };

let policy: Promise<PasswordPolicy> | undefined;

/**
 * The minimum length the api enforces, read from the schema of POST /api/v1/auth/password in
 * /api/openapi.json (the same zod schema validates the request), so forms check it before sending.
 */
export function passwordPolicy(): Promise<PasswordPolicy> {
  policy ??= request<OpenApiDoc>('GET', '/api/openapi.json', { renew: false })
    .then((doc) => {
      const p = doc.paths?.['/api/v1/auth/password']?.post?.requestBody?.content?.['application/json']?.schema?.properties?.newPassword;
      return { minLength: p?.minLength ?? DEFAULT_POLICY.minLength, maxLength: p?.maxLength ?? DEFAULT_POLICY.maxLength };
    })
    .catch(() => {
      policy = undefined;
      return DEFAULT_POLICY;
    });
  return policy;
}

/** The parts of the OpenAPI document the UI reads. */
export interface OpenApiDoc {
  info?: { version?: string; title?: string };
  paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, { minLength?: number; maxLength?: number }> } }> } }>>;
}

/** Problems with a new password the api would refuse (docs/api.md, "Passwords"), or undefined. */
export function passwordProblem(password: string, p: PasswordPolicy, username?: string): string | undefined {
  if (!password) return 'Enter a password.';
  if (password.length < p.minLength) return `Use at least ${p.minLength} characters (${password.length} so far).`;
  if (password.length > p.maxLength) return `Use at most ${p.maxLength} characters.`;
  if (password === 'admin123') return 'That is the old default password; choose another.';
  if (username && password.toLowerCase() === username.toLowerCase()) return 'The password cannot be the user name.';
  return undefined;
}

/**
 * The api's reason for refusing a new password (400 VALIDATION_FAILED on `field`: too short, too
 * easy to guess and why, ...) as a sentence to show under the password field, or undefined for
 * any other error. The api's estimator (zxcvbn-ts, docs/security.md) is the one that decides: the
 * UI does not ship its dictionaries.
 */
export function passwordRefusal(err: unknown, field: 'body.password' | 'body.newPassword'): string | undefined {
  const e = err as { code?: unknown; field?: unknown; message?: unknown } | undefined;
  if (e?.code !== 'VALIDATION_FAILED' || e.field !== field || typeof e.message !== 'string') return undefined;
  const prefix = `${field}: `;
  return `This password ${e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message}`;
}

/** A random password for a new user or a reset: 20 characters from an unambiguous alphabet. */
export function generatePassword(length = 20): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_';
  const out: string[] = [];
  const bytes = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(bytes);
    // Rejection sampling keeps every character equally likely.
    for (const b of bytes) if (b < 256 - (256 % alphabet.length) && out.length < length) out.push(alphabet[b % alphabet.length]!);
  }
  return out.join('');
}
