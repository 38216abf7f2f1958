/** Small helpers shared by the api's queries modules: every failure becomes an ApiError or a StoreError with context. */
import type { Pool, PoolClient } from '@perfwatch/store';
import { statement, wrapPgError } from '@perfwatch/store';
import { ApiError } from '../errors.js';

export type Db = Pool | PoolClient;

/**
 * Runs one parameterised statement and returns its rows. `named`: one every request runs (a
 * credential's check), sent as store's statement() makes it (planned once per connection).
 */
export async function rows<T extends object>(db: Db, context: string, text: string, values: unknown[] = [], named = false): Promise<T[]> {
  try {
    return (await db.query<T>(named ? statement(db, text, values) : { text, values })).rows;
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
