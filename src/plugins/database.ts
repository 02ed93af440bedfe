/**
 * The database as a Fastify plugin: decorates `fastify.db` (pool + Prisma
 * client) and closes it, with the embedded server if any, when the app closes.
 */
import fp from 'fastify-plugin';
import { openDatabase, type Database, type DatabaseConfig } from '../db/database.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
  }
}

export interface DatabasePluginOptions {
  config: DatabaseConfig;
  /** An already open database (tests, CLI); the app then still closes it on close. */
  database?: Database;
}

export default fp<DatabasePluginOptions>(
  async (fastify, { config, database }) => {
    const db = database ?? (await openDatabase(config, { role: 'server' }));
    fastify.decorate('db', db);
    // An idle connection that dies (server restart, backend terminated) is replaced by the pool on
    // the next checkout; the log says it happened.
    const pools = new Map([[db.probePool, 'ready'], [db.pool, 'api']]); // one entry when they are one pool (embedded)
    const listeners = [...pools].map(([pool, name]) => {
      const listener = (err: Error) => fastify.log.warn({ err, pool: name }, 'an idle database connection was lost; the pool opens a new one when needed');
      pool.on('error', listener);
      return () => pool.off('error', listener);
    });
    fastify.addHook('onClose', async () => {
      for (const stopListening of listeners) stopListening();
      await db.close();
    });
  },
  { name: 'database' },
);
