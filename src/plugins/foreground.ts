/**
 * Counts every request in while it is in flight (http/foreground.ts), so that `limit=all` exports
 * can let them go first. Decorated as `fastify.foreground`; a request's `leaveForeground()` counts
 * it out early (an export, once it streams).
 */
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { createForeground, type Foreground } from '../http/foreground.js';

declare module 'fastify' {
  interface FastifyInstance {
    foreground: Foreground;
  }
  interface FastifyRequest {
    /** Counts this request out of the foreground (once); null before the hook ran. */
    leaveForeground: (() => void) | null;
  }
}

export default fp<{ config: Pick<Config, 'EXPORT_YIELD_MAX_MS'> }>(
  async (fastify, { config }) => {
    const foreground = createForeground({ maxWaitMs: config.EXPORT_YIELD_MAX_MS });
    fastify.decorate('foreground', foreground);
    fastify.decorateRequest('leaveForeground', null);
    fastify.addHook('onRequest', (request, reply, done) => {
      const leave = foreground.enter();
      request.leaveForeground = leave;
      // 'close' comes after the last byte and after a client hung up alike, once (and `leave` counts once).
      reply.raw.on('close', leave);
      done();
    });
  },
  { name: 'foreground' },
);
