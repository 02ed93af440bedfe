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
   * The Prisma client on the same pool, created on first use: only admin work (tokens, users)
   * needs it, so a serving process that does none never loads it (~9 MB of resident memory).
   */
  prisma(): Promise<PrismaClient>;
  embedded: boolean;
  close(): Promise<void>;
}

export type DatabaseConfig = Pick<
  Config,
  'DATABASE_URL' | 'DATA_DIR' | 'DB_POOL_MAX' | 'DB_STATEMENT_TIMEOUT_MS' | 'DB_CONNECT_TIMEOUT_MS'
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
  // An idle client's socket error must not crash the process; the pool drops it.
  pool.on('error', () => undefined);
  let prisma: Promise<PrismaClient> | null = null;
  let closed = false;
  return {
    pool,
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
      await embedded?.stop();
    },
  };
}
