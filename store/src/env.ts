/**
 * Typed parsers of environment variables, shared by the services' config modules (exporter,
 * api), which are the only places that read the environment. Each returns the default when the
 * variable is unset or blank and throws ConfigError naming the variable, the value and what it
 * accepts otherwise.
 */
import { readFileSync } from 'node:fs';

export type Env = Record<string, string | undefined>;

/** The message of anything thrown, for logs and error bodies. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A configuration value that cannot be used. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    // "DATABASE_URL is not set: ..." reads as a sentence; "X: "abc" is not a number" names the value.
    super(message.startsWith('is ') ? `${variable} ${message}` : `${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The trimmed value, or undefined when unset or blank. */
export function value(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function intVar(env: Env, name: string, def: number, min: number, max: number): number {
  const v = value(env, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ConfigError(name, `"${v}" is not a whole number from ${min} to ${max} (default ${def})`);
  }
  return Number(v);
}

export function numberVar(env: Env, name: string, def: number, min: number, max: number): number {
  const v = value(env, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(name, `"${v}" is not a number from ${min} to ${max} (default ${def})`);
  }
  return n;
}

export function boolVar(env: Env, name: string, def: boolean): boolean {
  const v = value(env, name);
  if (v === undefined) return def;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(name, `"${v}" is not a boolean: use true or false (default ${def})`);
}

export function enumVar<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const v = value(env, name);
  if (v === undefined) return def;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(name, `"${v}" is not one of ${allowed.join(', ')} (default ${def})`);
  }
  return v as T;
}

export function regexVar(env: Env, name: string, def: string): RegExp {
  const v = env[name] ?? def;
  try {
    return new RegExp(v);
  } catch (err) {
    throw new ConfigError(name, `"${v}" is not a valid regular expression (${(err as Error).message})`);
  }
}

export function pathVar(env: Env, name: string, def: string): string {
  const v = value(env, name) ?? def;
  if (!v.startsWith('/')) throw new ConfigError(name, `"${v}" must be an absolute path (default ${def})`);
  return v;
}

/** A comma-separated list; undefined when unset. */
export function listVar(env: Env, name: string): string[] | undefined {
  const v = value(env, name);
  if (v === undefined) return undefined;
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** A postgres:// URL; the message never echoes it, since it may hold a password. */
export function postgresUrlVar(env: Env, name: string, required: true): string;
export function postgresUrlVar(env: Env, name: string, required?: false): string | undefined;
export function postgresUrlVar(env: Env, name: string, required = false): string | undefined {
  const v = value(env, name);
  if (v === undefined) {
    if (!required) return undefined;
    throw new ConfigError(name, 'is not set: npm start sets it to the embedded PostgreSQL; set it to postgres://user:password@host:5432/database otherwise');
  }
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new ConfigError(name, 'is not a URL: use postgres://user:password@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(name, `has protocol "${url.protocol}": use postgres://user:password@host:5432/database`);
  }
  return v;
}

/**
 * Whether s is a schema name store/ may splice into SQL as an identifier: lower-case letters,
 * digits and _, at most 63 bytes, not starting with pg_ (schemaVar and store's checkSchemaName).
 */
export function isSchemaName(s: string): boolean {
  return /^[a-z_][a-z0-9_]{0,62}$/.test(s) && !s.startsWith('pg_');
}

/** A schema name safe to splice into SQL as an identifier. */
export function schemaVar(env: Env, name: string, def: string): string {
  const v = value(env, name) ?? def;
  if (!isSchemaName(v)) {
    throw new ConfigError(name, `"${v}" is not a usable schema name: lower-case letters, digits and _, not starting with pg_ (default ${def})`);
  }
  return v;
}

/**
 * A service's version (its package.json) and git revision (build-info.json, which
 * scripts/lib.mjs writes at every build), read from the package directory `dir`.
 */
export function readBuildInfo(dir: URL): { version: string; revision: string } {
  const read = (name: string): Record<string, string> => {
    try {
      return JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  };
  return { version: read('package.json').version ?? 'unknown', revision: read('build-info.json').revision ?? '' };
}
