/**
 * The Redis history store against the real Redis at 127.0.0.1:6379: atomic check-and-add
 * shared by several clients, keys under their prefix that expire with their window, and a
 * Redis that cannot be reached answered at once with null (fail open) and one warning.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisHistoryStore, type RedisHistoryStore } from '../../src/cache/redis-history.js';
import { closedPort, deleteKeysUnder, keysUnder, REDIS_URL } from '../helpers/redis.js';


const opened: RedisHistoryStore[] = [];
const prefixes: string[] = [];

function uniquePrefix(): string {
  const prefix = `oms-customers-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  prefixes.push(prefix);
  return prefix;
}

async function store(prefix: string, url = REDIS_URL, warnings: string[] = []): Promise<RedisHistoryStore> {
  const created = createRedisHistoryStore({ url, keyPrefix: prefix, warn: (_details, message) => warnings.push(message) });
  opened.push(created);
  await created.connected(2_000);
  return created;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await deleteKeysUnder(...prefixes.splice(0));
});

describe('Redis history store', () => {
  it('lets exactly `limit` of many concurrent hits from two clients through (one shared, atomic budget)', async () => {
    const prefix = uniquePrefix();
    const [a, b] = [await store(prefix), await store(prefix)];
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).hit('throttle_user_1', 7, 60_000, true)));
    expect(results.filter((r) => r?.allowed)).toHaveLength(7);
    const last = await a.hit('throttle_user_1', 7, 60_000, false);
    expect(last).toMatchObject({ allowed: false, count: 7 });
    expect(last!.now - last!.oldest!).toBeGreaterThanOrEqual(0);
    expect(last!.now - last!.oldest!).toBeLessThan(60_000);
  });

  it('keeps each history under the prefix, expiring with its window', async () => {
    const prefix = uniquePrefix();
    const s = await store(prefix);
    await s.hit('throttle_anon_10.0.0.1', 3, 5_000, true);
    expect(await keysUnder(prefix)).toEqual([`${prefix}throttle_anon_10.0.0.1`]);
    const admin = new Redis(REDIS_URL);
    const ttl = await admin.pttl(`${prefix}throttle_anon_10.0.0.1`);
    admin.disconnect();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });

  it('does not record a hit that was only looked at, nor one refused', async () => {
    const prefix = uniquePrefix();
    const s = await store(prefix);
    expect(await s.hit('k', 1, 60_000, false)).toMatchObject({ allowed: true, count: 0, oldest: null });
    expect(await s.hit('k', 1, 60_000, true)).toMatchObject({ allowed: true, count: 1 });
    expect(await s.hit('k', 1, 60_000, true)).toMatchObject({ allowed: false, count: 1 });
  });

  it('gives up on a Redis that accepts commands but never answers, after the short command timeout', async () => {
    // A server that gets through ioredis's handshake (HELLO 3, CLIENT SETINFO, INFO) and then answers nothing.
    const replies: Record<string, string> = { hello: '%1\r\n+proto\r\n:3\r\n', client: '+OK\r\n', info: '$0\r\n\r\n' };
    const silent = net.createServer((socket) => {
      socket.on('data', (data) => {
        for (const [, name] of data.toString('latin1').matchAll(/\*\d+\r\n\$\d+\r\n(\w+)/g)) {
          const reply = replies[name!.toLowerCase()];
          if (reply) socket.write(reply);
        }
      });
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const warnings: string[] = [];
      const s = await store(uniquePrefix(), `redis://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, warnings);
      const started = performance.now();
      expect(await s.hit('k', 1, 60_000, true)).toBeNull();
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(200);
      expect(waited).toBeLessThan(1_500);
      expect(warnings).toHaveLength(1);
      await s.close();
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('answers null at once when Redis cannot be reached, warning once rather than per call', async () => {
    const warnings: string[] = [];
    const s = await store(uniquePrefix(), `redis://127.0.0.1:${await closedPort()}`, warnings);
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 50 }, () => s.hit('k', 1, 60_000, true)));
    expect(results.every((r) => r === null)).toBe(true);
    // No queue, no retry: nothing waits for a connection that is not there.
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(warnings).toEqual(['throttle store (Redis) unreachable: serving requests without throttling']);
  });
});
