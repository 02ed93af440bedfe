/**
 * API tokens, stored as SHA-256 hashes (port of DRF's `authtoken.Token`, minus
 * the plaintext key). A key is 40 hex characters like the original's; only its
 * hash is kept, and lookups go by hash through a unique index, so verifying a
 * key never compares secrets byte by byte in application code.
 */
import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { PrismaClient } from '../generated/prisma/client.js';

/** The user a token belongs to: DRF's `request.user` as the API needs it. */
export interface AuthUser {
  userId: number;
  username: string;
  isActive: boolean;
}

export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** 160 random bits as 40 lower-case hex characters, as DRF's Token.generate_key(). */
export const generateKey = (): string => randomBytes(20).toString('hex');

/** `prisma` gives the Prisma client (db/database.ts creates it on first use); lookups need only the pool. */
export function createTokenStore({ prisma: client, pool }: { prisma: () => Promise<PrismaClient>; pool: pg.Pool }) {
  return {
    /** On every request: one indexed join on the pool (through Prisma it was two statements and half the throughput). */
    async findByKey(key: string): Promise<AuthUser | null> {
      const { rows } = await pool.query<AuthUser>(
        `SELECT u.id AS "userId", u.username, u.is_active AS "isActive"
           FROM api_token t JOIN api_user u ON u.id = t.user_id
          WHERE t.key_hash = $1`,
        [hashKey(key)],
      );
      return rows[0] ?? null;
    },

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

/** What authenticating a request needs of the store: the lookup alone. */
export type TokenLookup = Pick<TokenStore, 'findByKey'>;
