/**
 * The database as a Fastify plugin: decorates `fastify.db` (pool + Prisma
 * client) and closes it, with the embedded server if any, when the app closes.
 */
import type { EventEmitter } from 'node:events';
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { Config } from '../config.js';
import { namedPools, openDatabase, prismaClientOn, type Database, type DatabaseConfig } from '../db/database.js';
import { PREPARED_STATEMENTS_OFF } from '../db/pool.js';
import type { ReadSource } from '../repository/list-repository.js';
import { createPgReads, type ListReads } from '../repository/list-reads.js';
import { createPrismaReads } from '../repository/prisma-reads.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
    /** Where list repositories read: the pool, the replicas, and the client DB_READ_CLIENT chose. */
    readSource: ReadSource;
  }
}

export interface DatabasePluginOptions {
  config: DatabaseConfig & Pick<Config, 'DB_READ_CLIENT'>;
  /** An already open database (tests, CLI); the app then still closes it on close. */
  database?: Database;
}

export default fp<DatabasePluginOptions>(
  async (fastify, { config, database }) => {
    const db = database ?? (await openDatabase(config, { role: 'server' }));
    fastify.decorate('db', db);
    // An idle connection that dies (server restart, backend terminated) is replaced by the pool on
    // the next checkout; the log says it happened.
    const listeners = [...namedPools(db)].map(([name, pool]) => {
      const listener = (err: Error) => fastify.log.warn({ err, pool: name }, 'an idle database connection was lost; the pool opens a new one when needed');
      const preparedOff = (err: Error) =>
        fastify.log.warn({ err, pool: name }, 'prepared statements switched off: a pooler in transaction mode does not keep them; reads go on unnamed');
      const events = pool as EventEmitter;
      events.on('error', listener).on(PREPARED_STATEMENTS_OFF, preparedOff);
      return () => events.off('error', listener).off(PREPARED_STATEMENTS_OFF, preparedOff);
    });
    fastify.decorate('readSource', { pool: db.pool, replicas: db.replicas, readsOn: readClient(config.DB_READ_CLIENT, db) });
    fastify.addHook('onClose', async () => {
      for (const stopListening of listeners) stopListening();
      await db.close();
    });
  },
  { name: 'database' },
);

/** The client that runs counts and pages on each pool, made once per pool: the primary's Prisma client its own. */
function readClient(client: Config['DB_READ_CLIENT'], db: Database): (pool: pg.Pool) => ListReads {
  const create = (pool: pg.Pool): ListReads => {
    if (client === 'pg') return createPgReads(pool);
    let replicaClient: ReturnType<typeof prismaClientOn> | null = null;
    return createPrismaReads(pool === db.pool ? () => db.prisma() : () => (replicaClient ??= prismaClientOn(pool)));
  };
  const byPool = new WeakMap<pg.Pool, ListReads>();
  return (pool) => {
    let reads = byPool.get(pool);
    if (!reads) byPool.set(pool, (reads = create(pool)));
    return reads;
  };
}
