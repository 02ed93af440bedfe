/**
 * Where THROTTLE_RATE's histories live, as a Fastify plugin: `fastify.throttleStore` is in
 * process by default, in Redis when REDIS_URL is set (several processes then share one
 * budget), and null when throttling is off. Closed with the app.
 */
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { HistoryStore } from '../rest/throttling.js';
import { createMemoryHistoryStore } from '../cache/memory-history.js';

declare module 'fastify' {
  interface FastifyInstance {
    throttleStore: HistoryStore | null;
  }
}

export interface ThrottlePluginOptions {
  config: Pick<Config, 'THROTTLE_RATE' | 'REDIS_URL' | 'REDIS_KEY_PREFIX'>;
}

/** How long start-up waits for Redis before serving (failing open until it connects). */
const REDIS_STARTUP_WAIT_MS = 2_000;

export default fp<ThrottlePluginOptions>(
  async (fastify, { config }) => {
    let store: HistoryStore | null = null;
    if (config.THROTTLE_RATE && config.REDIS_URL) {
      // Loaded only here: ioredis is ~20 modules that a start without Redis would parse for nothing.
      const { createRedisHistoryStore } = await import('../cache/redis-history.js');
      const redis = createRedisHistoryStore({
        url: config.REDIS_URL,
        keyPrefix: config.REDIS_KEY_PREFIX,
        warn: (details, message) => fastify.log.warn(details, message),
      });
      if (!(await redis.connected(REDIS_STARTUP_WAIT_MS))) {
        fastify.log.warn('throttle store (Redis) not reachable at start: serving without throttling until it is');
      }
      store = redis;
    } else if (config.THROTTLE_RATE) {
      store = createMemoryHistoryStore();
    }
    fastify.decorate('throttleStore', store);
    fastify.addHook('onClose', async () => store?.close());
  },
  { name: 'throttle' },
);
