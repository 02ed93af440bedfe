/**
 * API tokens, stored as SHA-256 hashes (port of DRF's `authtoken.Token`, minus
 * the plaintext key). A key is 40 hex characters like the original's; only its
 * hash is kept, and lookups go by hash through a unique index, so verifying a
 * key never compares secrets byte by byte in application code.
 */
import { hash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { sql, type Sql } from '@prisma/client-runtime-utils';
import type { PrismaClient } from '../generated/prisma/client.js';

/** The user a token belongs to: DRF's `request.user` as the API needs it. */
export interface AuthUser {
  userId: number;
  username: string;
  isActive: boolean;
}

// One-shot: a Hash object per request was most of the lookup's own CPU.
export const hashKey = (key: string): string => hash('sha256', key, 'hex');

/** 160 random bits as 40 lower-case hex characters, as DRF's Token.generate_key(). */
export const generateKey = (): string => randomBytes(20).toString('hex');

/**
 * The statement that finds a key's user: at most one row, `admitted` when the user may be served.
 * A page read runs it inside its own statement (repository/page-read.ts), so that the token, the
 * count and the page cost one round trip; `findByKey` runs it alone.
 */
export function userByKey(key: string): { statement: Sql; decode(row: Record<string, unknown>): AuthUser } {
  return {
    statement: sql`SELECT u.id AS "userId", u.username, u.is_active AS "isActive", u.is_active AS admitted
                     FROM api_token t JOIN api_user u ON u.id = t.user_id
                    WHERE t.key_hash = ${hashKey(key)}`,
    decode: (row) => ({ userId: Number(row.userId), username: String(row.username), isActive: row.isActive === true }),
  };
}

/** `prisma` gives the Prisma client (db/database.ts creates it on first use); lookups need only the pool. */
export function createTokenStore({ prisma: client, pool }: { prisma: () => Promise<PrismaClient>; pool: pg.Pool }) {
  return {
    /** On every request: one indexed join on the pool (through Prisma it was two statements and half the throughput). */
    async findByKey(key: string): Promise<AuthUser | null> {
      const lookup = userByKey(key);
      const { rows } = await pool.query<Record<string, unknown>>(lookup.statement);
      return rows[0] ? lookup.decode(rows[0]) : null;
    },

    /** The lookup as a statement, for a read that checks the token in the same round trip. */
    userByKey,

    /** Creates the user if needed (active) and returns a new key; the key is not retrievable later. */
    async create(username: string): Promise<string> {
      const prisma = await client();
      const user = await prisma.apiUser.upsert({ where: { username }, update: {}, create: { username } });
      const key = generateKey();
      await prisma.apiToken.create({ data: { keyHash: hashKey(key), userId: user.id } });
      return key;
    },

    /** Deletes the token with this key; false when no such token exists. */
    async revoke(key: string): Promise<boolean> {
      const { count } = await (await client()).apiToken.deleteMany({ where: { keyHash: hashKey(key) } });
      return count > 0;
    },

    async setUserActive(username: string, isActive: boolean): Promise<boolean> {
      const { count } = await (await client()).apiUser.updateMany({ where: { username }, data: { isActive } });
      return count > 0;
    },

    async countTokens(username: string): Promise<number> {
      return (await client()).apiToken.count({ where: { user: { username } } });
    },
  };
}

export type TokenStore = ReturnType<typeof createTokenStore>;

/** What authenticating a request needs of the store: the lookup, and where it has one, the lookup as a statement. */
export type TokenLookup = Pick<TokenStore, 'findByKey'> & Partial<Pick<TokenStore, 'userByKey'>>;

/** A key's user lookup as a statement (`userByKey`). */
export type UserLookup = ReturnType<typeof userByKey>;
