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
    fastify.addHook('onClose', async () => db.close());
  },
  { name: 'database' },
);
