/**
 * DB_POOL_IDLE_TIMEOUT_MS: how long an unused connection stays in the API's pool. A reopened
 * connection costs PostgreSQL more per statement for a while (docs/reliability.md), so the default
 * keeps them for a minute, not pg-pool's 10 s; 0 keeps them for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('DB_POOL_IDLE_TIMEOUT_MS', () => {
  it('closes a connection left unused that long, and keeps it while shorter', async () => {
    const db = await openDatabase(defaultConfig({ DATABASE_URL: database.url, DB_POOL_IDLE_TIMEOUT_MS: 300 }));
    try {
      await db.pool.query('SELECT 1');
      expect(db.pool.totalCount).toBe(1);
      await pause(50);
      expect(db.pool.totalCount).toBe(1);
      await expect.poll(() => db.pool.totalCount, { timeout: 5_000, interval: 50 }).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('keeps connections for a minute by default, and for good with 0', async () => {
    expect(defaultConfig({}).DB_POOL_IDLE_TIMEOUT_MS).toBe(60_000);
    const db = await openDatabase(defaultConfig({ DATABASE_URL: database.url, DB_POOL_IDLE_TIMEOUT_MS: 0 }));
    try {
      await db.pool.query('SELECT 1');
      expect(db.pool.options.idleTimeoutMillis).toBe(0);
      await pause(500);
      expect(db.pool.totalCount).toBe(1);
    } finally {
      await db.close();
    }
  });
});
