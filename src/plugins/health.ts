/**
 * Liveness and readiness, in the root scope (no auth, no API headers):
 * `/health` says the process is up; `/ready` that the database answers and
 * every migration is applied, so a load balancer only sends traffic then.
 */
import fp from 'fastify-plugin';
import { migrationStatus } from '../db/migrate.js';

export default fp(
  async (fastify) => {
    fastify.get('/health', async () => ({ status: 'ok' }));

    fastify.get('/ready', async (request, reply) => {
      try {
        const { pending } = await migrationStatus(fastify.db.pool);
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
