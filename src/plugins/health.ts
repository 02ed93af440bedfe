/**
 * Liveness and readiness, in the root scope (no auth, no API headers):
 * `/health` says the process is up; `/ready` that the database answers and
 * every migration is applied, so a load balancer only sends traffic then.
 *
 * `/ready` asks the database on a connection of its own (db.probePool), not
 * through the API's pool: exports holding every API connection make the
 * service busy, not the database unreachable. It answers within
 * DB_READY_TIMEOUT_MS even when the database hangs.
 */
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { migrationStatus } from '../db/migrate.js';
import { DatabaseTimeout } from '../db/unavailable.js';

export interface HealthPluginOptions {
  config: Pick<Config, 'DB_READY_TIMEOUT_MS'>;
}

/** `work`, or a DatabaseTimeout after `ms`; the work itself is bounded by the probe pool's timeouts. */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DatabaseTimeout(`no answer within ${ms} ms`)), ms);
  });
  // Settles after we have answered when it loses the race; nobody needs it then.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export default fp<HealthPluginOptions>(
  async (fastify, { config }) => {
    fastify.get('/health', async () => ({ status: 'ok' }));

    fastify.get('/ready', async (request, reply) => {
      try {
        const { pending } = await within(config.DB_READY_TIMEOUT_MS, migrationStatus(fastify.db.probePool));
        if (pending.length > 0) {
          return reply.code(503).send({ status: 'unavailable', reason: `pending migrations: ${pending.join(', ')}` });
        }
        return { status: 'ready' };
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable' });
      }
    });
  },
  { name: 'health', dependencies: ['database'] },
);
