/**
 * Throttle histories in Redis, shared by every process that points at it: one sorted set per
 * key (scores are request times in ms on Redis's own clock, so hosts' clocks need not agree),
 * updated by one Lua script so that check-and-add is atomic, and expiring with its window.
 * Redis being down or slow never holds a request: commands time out quickly, nothing queues
 * while disconnected, and the store answers null so the throttle lets the request through,
 * with a warning in the log at most once per `warnEveryMs`.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { HistoryStore, WindowState } from '../rest/throttling.js';

/** KEYS[1] the history; ARGV: limit, window ms, record (1/0), a unique member. */
const HIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local duration = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - duration)
local allowed = 0
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  allowed = 1
  if ARGV[3] == '1' then
    redis.call('ZADD', KEYS[1], now, ARGV[4])
    redis.call('PEXPIRE', KEYS[1], duration)
  end
end
local count = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or ''
return {allowed, now, count, oldest}
`;

export interface RedisHistoryOptions {
  url: string;
  /** Put before every key, so deployments (and tests) sharing one Redis stay apart. */
  keyPrefix: string;
  /** Longest wait for one command before failing open, ms. */
  commandTimeoutMs?: number;
  /** Where the fail-open warning goes. */
  warn: (details: { err: unknown }, message: string) => void;
  warnEveryMs?: number;
}

interface HistoryCommands {
  throttleHit(key: string, limit: number, durationMs: number, record: string, member: string): Promise<[number, number, number, string]>;
}

export interface RedisHistoryStore extends HistoryStore {
  /** Resolves once connected, or after `ms` (the store then fails open until it connects). */
  connected(ms: number): Promise<boolean>;
}

export function createRedisHistoryStore({
  url, keyPrefix, commandTimeoutMs = 250, warn, warnEveryMs = 30_000,
}: RedisHistoryOptions): RedisHistoryStore {
  const redis = new Redis(url, {
    keyPrefix,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1_000,
    // A request never waits for a reconnect: without a connection a command fails at once.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Reconnect forever in the background, at most every 2 s.
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
  }) as Redis & HistoryCommands;
  redis.defineCommand('throttleHit', { numberOfKeys: 1, lua: HIT_SCRIPT });

  let lastWarning = -Infinity;
  const warnSometimes = (err: unknown) => {
    const now = Date.now();
    if (now - lastWarning < warnEveryMs) return;
    lastWarning = now;
    warn({ err }, 'throttle store (Redis) unreachable: serving requests without throttling');
  };
  // Connection errors come as events too; unheard, ioredis would print them to the console.
  redis.on('error', warnSometimes);

  let sequence = 0;
  const instance = randomBytes(6).toString('hex');

  return {
    async hit(key, limit, durationMs, record): Promise<WindowState | null> {
      try {
        const member = `${instance}:${sequence++}`;
        const [allowed, now, count, oldest] = await redis.throttleHit(key, limit, durationMs, record ? '1' : '0', member);
        return { allowed: allowed === 1, now, count, oldest: oldest === '' ? null : Number(oldest) };
      } catch (error) {
        warnSometimes(error);
        return null;
      }
    },
    connected(ms) {
      if (redis.status === 'ready') return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => done(false), ms);
        const done = (ok: boolean) => {
          clearTimeout(timer);
          redis.off('ready', onReady);
          resolve(ok);
        };
        const onReady = () => done(true);
        redis.once('ready', onReady);
      });
    },
    async close() {
      redis.disconnect();
    },
  };
}
