/**
 * Opens the service's database: the PostgreSQL at DATABASE_URL, or an embedded
 * one (PGlite served on a loopback socket) when none is configured. Either way
 * the rest of the service sees the same thing: a `pg` pool for hand-built,
 * parameterised SQL on hot paths and a Prisma client (through @prisma/adapter-pg,
 * no native engine) sharing that pool.
 */
import type pg from 'pg';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config.js';
import { createPool } from './pool.js';

export interface Database {
  pool: pg.Pool;
  /**
   * What the readiness probe queries: a pool of one connection of its own, so that a check never
   * queues behind exports holding every API connection, with every wait bounded by
   * DB_READY_TIMEOUT_MS. The embedded database has one connection in all: there it is `pool`.
   */
  probePool: pg.Pool;
  /**
   * The Prisma client on the same pool, created on first use: only admin work (tokens, users)
   * needs it, so a serving process that does none never loads it (~9 MB of resident memory).
   */
  prisma(): Promise<PrismaClient>;
  embedded: boolean;
  close(): Promise<void>;
}

export type DatabaseConfig = Pick<
  Config,
  'DATABASE_URL' | 'DATA_DIR' | 'DB_POOL_MAX' | 'DB_STATEMENT_TIMEOUT_MS' | 'DB_CONNECT_TIMEOUT_MS' | 'DB_READY_TIMEOUT_MS'
>;

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  let embedded: Awaited<ReturnType<typeof import('./embedded.js').startEmbeddedPostgres>> | null = null;
  let maxConnections = config.DB_POOL_MAX;
  if (config.DATABASE_URL === undefined) {
    // PGlite (WebAssembly) is loaded only when it is used.
    const { EMBEDDED_MAX_CONNECTIONS, startEmbeddedPostgres } = await import('./embedded.js');
    embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR });
    maxConnections = EMBEDDED_MAX_CONNECTIONS;
  }
  const pool = createPool({
    url: embedded?.url ?? (config.DATABASE_URL as string),
    max: maxConnections,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    applicationName: 'oms-customers',
  });
  const readyTimeoutMs = config.DB_READY_TIMEOUT_MS;
  const probePool = embedded
    ? pool
    : createPool({
        url: config.DATABASE_URL as string,
        max: 1,
        statementTimeoutMs: readyTimeoutMs,
        connectTimeoutMs: readyTimeoutMs,
        queryTimeoutMs: readyTimeoutMs,
        applicationName: 'oms-customers-probe',
      });
  let prisma: Promise<PrismaClient> | null = null;
  let closed = false;
  return {
    pool,
    probePool,
    prisma: () =>
      (prisma ??= (async () => {
        const [{ PrismaClient }, { PrismaPg }] = await Promise.all([
          import('../generated/prisma/client.js'),
          import('@prisma/adapter-pg'),
        ]);
        return new PrismaClient({ adapter: new PrismaPg(pool) });
      })()),
    embedded: embedded !== null,
    async close() {
      if (closed) return;
      closed = true;
      if (prisma) await (await prisma).$disconnect();
      if (!pool.ended) await pool.end();
      if (!probePool.ended) await probePool.end();
      await embedded?.stop();
    },
  };
}
