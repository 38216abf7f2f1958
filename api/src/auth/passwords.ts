/**
 * Password hashing with node's scrypt at OWASP's recommended cost (N=2^17, r=8, p=1: 128 MiB and
 * ~0.2-0.5 s per hash). The parameters are stored with each hash, so raising the cost later keeps
 * old hashes verifiable (and login re-hashes them, see needsRehash):
 *
 *   scrypt$<N>$<r>$<p>$<salt base64url>$<key base64url>
 *
 * Verification compares in constant time. Hashing runs on libuv's thread pool; at most
 * `concurrency` hashes run at once so a burst of logins cannot take N x 128 MiB of memory.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ApiError } from '../errors.js';
import { guessableProblem } from './strength.js';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** block size. */
  r: number;
  /** parallelisation. */
  p: number;
}

/** OWASP Password Storage Cheat Sheet: scrypt with N=2^17, r=8, p=1. */
export const OWASP_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
export const KEY_LENGTH = 32;
export const SALT_LENGTH = 16;
const PREFIX = 'scrypt';
/** Refuse stored hashes whose parameters would take absurd memory or time (a corrupt or hostile row). */
const MAX_N = 2 ** 20;

/** scrypt needs 128 * N * r bytes; node refuses above maxmem (32 MiB by default), so raise it with headroom. */
export function scryptMaxmem(params: ScryptParams): number {
  return 128 * params.N * params.r * params.p + 16 * 1024 * 1024;
}

function derive(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: scryptMaxmem(params) };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * A small semaphore: scrypt at 2^17 takes 128 MiB per call. The queue is bounded too: a flood of
 * logins beyond it is answered 503 BUSY at once instead of piling up behind the hashing.
 */
class Limiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  constructor(
    private readonly max: number,
    private readonly maxQueue: number,
  ) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) {
      if (this.queue.length >= this.maxQueue) throw new ApiError(503, 'BUSY', 'too many password checks at once; try again', { headers: { 'retry-after': '1' } });
      await new Promise<void>((resolve) => this.queue.push(resolve));
    }
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
}

export interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

export function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0)) return undefined;
  if ((N & (N - 1)) !== 0 || N > MAX_N || r > 32 || p > 16) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || key.length < 16) return undefined;
  return { params: { N, r, p }, salt, key };
}

export class PasswordHasher {
  private readonly limiter: Limiter;
  private dummy: Promise<string> | undefined;

  constructor(
    readonly params: ScryptParams = OWASP_SCRYPT,
    opts: { concurrency?: number; maxQueue?: number } = {},
  ) {
    this.limiter = new Limiter(opts.concurrency ?? 2, opts.maxQueue ?? 100);
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_LENGTH);
    const key = await this.limiter.run(() => derive(password, salt, this.params, KEY_LENGTH));
    const { N, r, p } = this.params;
    return `${PREFIX}$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
  }

  /** Whether password matches stored; false (not an error) for a malformed stored hash. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parsed = parseHash(stored);
    if (!parsed) {
      // Spend the same time as a real check, so a broken row is not distinguishable by timing.
      await this.verifyDummy(password);
      return false;
    }
    const key = await this.limiter.run(() => derive(password, parsed.salt, parsed.params, parsed.key.length));
    return timingSafeEqual(key, parsed.key);
  }

  /** Makes the dummy hash now, so the first unknown-user login takes no longer than the others. */
  async warmUp(): Promise<void> {
    this.dummy ??= this.hash(randomBytes(16).toString('base64url'));
    await this.dummy;
  }

  /**
   * Hashes against a fixed dummy hash of the current parameters and returns false: what a login
   * for an unknown or disabled user does, so that it takes as long as a wrong password.
   */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash(randomBytes(16).toString('base64url'));
    const parsed = parseHash(await this.dummy)!;
    const key = await this.limiter.run(() => derive(password, parsed.salt, parsed.params, parsed.key.length));
    timingSafeEqual(key, parsed.key);
    return false;
  }

  /** Whether stored was made with other parameters than the current ones (login then re-hashes). */
  needsRehash(stored: string): boolean {
    const parsed = parseHash(stored);
    if (!parsed) return true;
    const { N, r, p } = parsed.params;
    return N !== this.params.N || r !== this.params.r || p !== this.params.p || parsed.key.length !== KEY_LENGTH;
  }
}

/** A random password for a generated admin: 24 characters of base64url (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** The original design's default admin password: accepted at first start, but must be changed. */
export const LEGACY_DEFAULT_PASSWORD = 'admin123';

/**
 * Why a new password is refused, or undefined when it is acceptable: NIST SP 800-63B's rules,
 * a minimum length and no common, breached, repetitive, sequential or context-specific password
 * (strength.ts says which and why).
 */
export function passwordProblem(password: string, minLength: number, username?: string): string | undefined {
  const length = [...password].length;
  if (length < minLength) return `must be at least ${minLength} characters`;
  if (length > 1024) return 'must be at most 1024 characters';
  if (password === LEGACY_DEFAULT_PASSWORD) return 'is a published default';
  if (username !== undefined && password.toLowerCase() === username.toLowerCase()) return 'must not be the user name';
  return guessableProblem(password, username === undefined ? [] : [username]);
}
