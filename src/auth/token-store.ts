/**
 * API tokens, stored as SHA-256 hashes (port of DRF's `authtoken.Token`, minus
 * the plaintext key). A key is 40 hex characters like the original's; only its
 * hash is kept, and lookups go by hash through a unique index, so verifying a
 * key never compares secrets byte by byte in application code.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';

export interface TokenUser {
  userId: number;
  username: string;
  isActive: boolean;
}

export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** 160 random bits as 40 lower-case hex characters, as DRF's Token.generate_key(). */
export const generateKey = (): string => randomBytes(20).toString('hex');

export function createTokenStore(prisma: PrismaClient) {
  return {
    async findByKey(key: string): Promise<TokenUser | null> {
      const token = await prisma.apiToken.findUnique({
        where: { keyHash: hashKey(key) },
        select: { user: { select: { id: true, username: true, isActive: true } } },
      });
      return token ? { userId: token.user.id, username: token.user.username, isActive: token.user.isActive } : null;
    },

    /** Creates the user if needed (active) and returns a new key; the key is not retrievable later. */
    async create(username: string): Promise<string> {
      const user = await prisma.apiUser.upsert({ where: { username }, update: {}, create: { username } });
      const key = generateKey();
      await prisma.apiToken.create({ data: { keyHash: hashKey(key), userId: user.id } });
      return key;
    },

    /** Deletes the token with this key; false when no such token exists. */
    async revoke(key: string): Promise<boolean> {
      const { count } = await prisma.apiToken.deleteMany({ where: { keyHash: hashKey(key) } });
      return count > 0;
    },

    async setUserActive(username: string, isActive: boolean): Promise<boolean> {
      const { count } = await prisma.apiUser.updateMany({ where: { username }, data: { isActive } });
      return count > 0;
    },

    async countTokens(username: string): Promise<number> {
      return prisma.apiToken.count({ where: { user: { username } } });
    },
  };
}

export type TokenStore = ReturnType<typeof createTokenStore>;
