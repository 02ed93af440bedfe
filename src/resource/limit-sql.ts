import { raw, type Sql } from '@prisma/client-runtime-utils';

/**
 * ` LIMIT n` with n written out, not bound: with a parameter there, a prepared statement's generic
 * plan (db/prepared-statements.ts) guesses that a tenth of the table is wanted, and PostgreSQL then
 * keeps planning it anew on every execution. The page size is an integer the query parser bounded.
 */
export function limitLiteral(limit: number): Sql {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`LIMIT must be a non-negative integer, not ${limit}`);
  return raw(` LIMIT ${limit}`);
}
