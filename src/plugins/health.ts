/**
 * Liveness and readiness, in the root scope (no auth, no API headers):
 * `/health` says the process is up; `/ready` that the database answers and
 * every migration is applied, so a load balancer only sends traffic then, and
 * how each read replica is doing (DATABASE_REPLICA_URLS).
 *
 * `/ready` asks the database on a connection of its own (db.probePool), not
 * through the API's pool: exports holding every API connection make the
 * service busy, not the database unreachable. It answers within
 * DB_READY_TIMEOUT_MS even when the database hangs.
 */
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { migrationStatus } from '../db/migrate.js';
import { withDeadline } from '../db/unavailable.js';

export interface HealthPluginOptions {
  config: Pick<Config, 'DB_READY_TIMEOUT_MS'>;
}

export default fp<HealthPluginOptions>(
  async (fastify, { config }) => {
    fastify.get('/health', async () => ({ status: 'ok' }));

    fastify.get('/ready', async (request, reply) => {
      try {
        const { pending } = await withDeadline(migrationStatus(fastify.db.probePool), config.DB_READY_TIMEOUT_MS, `no answer within ${config.DB_READY_TIMEOUT_MS} ms`);
        if (pending.length > 0) {
          return reply.code(503).send({ status: 'unavailable', reason: `pending migrations: ${pending.join(', ')}` });
        }
        // Replicas take reads only while well (db/replicas.ts); one that is not degrades nothing here.
        const { replicas } = fastify.db;
        return replicas ? { status: 'ready', replicas: replicas.report() } : { status: 'ready' };
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable' });
      }
    });
  },
  { name: 'health', dependencies: ['database'] },
);
