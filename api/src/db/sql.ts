/** Small helpers shared by the api's queries modules: every failure becomes an ApiError or a StoreError with context. */
import type { Pool, PoolClient } from '@perfwatch/store';
import { statement, wrapPgError } from '@perfwatch/store';
import { ApiError } from '../errors.js';

export type Db = Pool | PoolClient;

/** Runs one parameterised statement and returns its rows. */
export async function rows<T extends object>(db: Db, context: string, text: string, values: unknown[] = []): Promise<T[]> {
  try {
    return (await db.query<T>(text, values)).rows;
  } catch (err) {
    throw wrapPgError(err, context);
  }
}

/** rows() of a statement every request runs (a credential's check): named, planned once per connection (store's statement()). */
export async function hotRows<T extends object>(pool: Pool, context: string, text: string, values: unknown[]): Promise<T[]> {
  try {
    return (await pool.query<T>(statement(pool, text, values))).rows;
  } catch (err) {
    throw wrapPgError(err, context);
  }
}

/** For .catch() of a transaction: ApiErrors (rules a handler decided) pass, anything else gets context. */
export function rethrow(context: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof ApiError) throw err;
    throw wrapPgError(err, context);
  };
}
