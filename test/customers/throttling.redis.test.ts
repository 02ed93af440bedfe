/**
 * THROTTLE_RATE counted in the real Redis at 127.0.0.1:6379 (REDIS_URL): two app instances
 * share one budget, keys hold no token, and a Redis that cannot be reached leaves the service
 * serving, with a warning in the log, never a 500.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { closedPort, deleteKeysUnder, keysUnder, REDIS_URL } from '../helpers/redis.js';
import { hasRealServer } from '../helpers/database.js';
import { buildApp } from '../../src/app.js';
import { openDatabase } from '../../src/db/database.js';

const URL_PATH = '/api/v1/oms/customers/list-simple/';
const RATE = { numRequests: 4, durationSeconds: 60 };

describe('THROTTLE_RATE in Redis (REDIS_URL)', () => {
  const prefix = `oms-customers-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  let one: TestApp;
  let two: TestApp;
  beforeAll(async () => {
    const config = { THROTTLE_RATE: RATE, REDIS_URL, REDIS_KEY_PREFIX: prefix, TRUST_PROXY: true };
    [one, two] = [await createTestApp({ config }), await createTestApp({ config })];
  }, 60_000);
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await deleteKeysUnder(prefix);
  });

  it('makes two instances share one budget per address', async () => {
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const app = i % 2 ? one : two;
      statuses.push((await app.app.inject({ url: URL_PATH, headers: { 'x-forwarded-for': '10.2.0.1' } })).statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
  });

  it('keys a token’s history by its user id, never by the token', async () => {
    const headers = { authorization: `Token ${one.token}`, 'x-forwarded-for': '10.2.0.2' };
    for (let i = 0; i < 4; i++) expect((await one.app.inject({ url: URL_PATH, headers })).statusCode).toBe(200);
    const res = await one.app.inject({ url: URL_PATH, headers });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    const { rows } = await one.db.pool.query<{ id: number }>(`SELECT id FROM api_user WHERE username = 'tester'`);
    const keys = await keysUnder(prefix);
    expect(keys).toContain(`${prefix}throttle_user_${rows[0]!.id}`);
    expect(keys.join(' ')).not.toContain(one.token);
  });

  it.skipIf(!hasRealServer())('shares a token’s budget between two instances on one database', async () => {
    const second = await buildApp(one.config, { database: await openDatabase(one.config) });
    try {
      // A user whose budget is untouched: 'retired', made active again.
      await one.db.pool.query(`UPDATE api_user SET is_active = true WHERE username = 'retired'`);
      const headers = { authorization: `Token ${one.inactiveToken}`, 'x-forwarded-for': '10.2.0.3' };
      const statuses = [];
      for (let i = 0; i < 6; i++) {
        const app = i % 2 ? one.app : second;
        statuses.push((await app.inject({ url: URL_PATH, headers })).statusCode);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      await second.close();
    }
  });
});

describe('THROTTLE_RATE with Redis unreachable', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ config: { THROTTLE_RATE: { numRequests: 1, durationSeconds: 60 }, REDIS_URL: `redis://127.0.0.1:${await closedPort()}` } });
  }, 60_000);
  afterAll(async () => t?.close());

  it('serves every request (fail open) and says so in the log, not once per request', async () => {
    const statuses = new Set<number>();
    for (let i = 0; i < 10; i++) {
      statuses.add((await t.app.inject({ url: URL_PATH, headers: { authorization: `Token ${t.token}` } })).statusCode);
      statuses.add((await t.app.inject({ url: URL_PATH, headers: { authorization: 'Token nope' } })).statusCode);
    }
    expect([...statuses].sort()).toEqual([200, 401]);
    const warnings = t.logs().split('\n').filter((line) => line.includes('throttle store (Redis)'));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(warnings.every((line) => JSON.parse(line).level === 40)).toBe(true);
  });
});
