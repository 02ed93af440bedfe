/**
 * Opens the service's database: the PostgreSQL at DATABASE_URL, or an embedded
 * one (PGlite served on a loopback socket) when none is configured. Either way
 * the rest of the service sees the same thing: a `pg` pool for hand-built,
 * parameterised SQL on hot paths and a Prisma client (through @prisma/adapter-pg,
 * no native engine) sharing that pool.
 *
 * An embedded DATA_DIR has one owner at a time (db/data-dir-owner.ts). The
 * server takes it for its lifetime and refuses to start when another process
 * holds it. A command (cli.ts, generate-customers.ts) that finds a serving
 * server there connects to the database the server publishes, so what it
 * writes is served at once; otherwise it takes DATA_DIR for its own run.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config.js';
import { createPool } from './pool.js';
import { createReplicaSet, type ReplicaSet } from './replicas.js';
import { claimDataDir, DataDirInUseError, type OwnerLock } from './data-dir-owner.js';
import type { EmbeddedPostgres } from './embedded.js';

export interface Database {
  pool: pg.Pool;
  /**
   * What the readiness probe queries: a pool of one connection of its own, so that a check never
   * queues behind exports holding every API connection, with every wait bounded by
   * DB_READY_TIMEOUT_MS. The embedded database has one connection in all: there it is `pool`.
   */
  probePool: pg.Pool;
  /**
   * Where migrations run: one connection to DIRECT_DATABASE_URL when it is set, since the
   * migration lock is a session-level advisory lock and a transaction pooler (PgBouncer) gives no
   * session; otherwise `pool`. Connects on first use only.
   */
  migrationPool: pg.Pool;
  /**
   * The streaming replicas of DATABASE_REPLICA_URLS that list reads go to (db/replicas.ts), or null
   * without any: reads then run on `pool` like everything else.
   */
  replicas: ReplicaSet | null;
  /**
   * The Prisma client on the same pool, created on first use: only admin work (tokens, users)
   * and DB_READ_CLIENT=prisma need it, so a serving process that does neither never loads it
   * (~9 MB of resident memory, and ~20 MB more once its first query starts the query compiler).
   */
  prisma(): Promise<PrismaClient>;
  embedded: boolean;
  /**
   * The server calls this once it serves: publishes its embedded database and HTTP port in
   * DATA_DIR for the commands. A no-op on PostgreSQL or for a process that does not own DATA_DIR.
   */
  publish(httpPort: number): void;
  close(): Promise<void>;
}

/** Who opens the database: the server, or the named npm command (shown to a process that finds DATA_DIR taken). */
export type DatabaseUser = { role: 'server' } | { role: 'command'; name: string };

/** How long a command waits for a server that holds DATA_DIR but does not serve yet (migrating, or stopping). */
const WAIT_FOR_SERVER_MS = 60_000;
const POLL_MS = 250;

interface EmbeddedTarget {
  url: string;
  /** This process runs PGlite (and owns DATA_DIR), as opposed to using a running server's. */
  own: { server: EmbeddedPostgres; lock: OwnerLock | null } | null;
}

/** The embedded database for `user`: PGlite in this process, or the one a running server publishes. */
async function openEmbedded(dataDirSetting: string, user: DatabaseUser): Promise<EmbeddedTarget> {
  // PGlite (WebAssembly) is loaded only when it is used.
  const { startEmbeddedPostgres } = await import('./embedded.js');
  if (dataDirSetting === 'memory') {
    return { url: '', own: { server: await startEmbeddedPostgres({ dataDir: 'memory' }), lock: null } };
  }
  const dataDir = resolve(dataDirSetting);
  await mkdir(dataDir, { recursive: true });
  const deadline = Date.now() + WAIT_FOR_SERVER_MS;
  for (;;) {
    const claim = await claimDataDir(dataDir, user.role === 'server' ? { role: 'server' } : { role: 'command', name: user.name });
    if ('lock' in claim) {
      try {
        return { url: '', own: { server: await startEmbeddedPostgres({ dataDir }), lock: claim.lock } };
      } catch (error) {
        claim.lock.release();
        throw error;
      }
    }
    const { owner } = claim;
    if (user.role === 'command' && owner.role === 'server') {
      if (owner.database) return { url: owner.database, own: null };
      if (Date.now() < deadline) {
        await sleep(POLL_MS);
        continue;
      }
    }
    throw new DataDirInUseError(dataDir, owner);
  }
}

export type DatabaseConfig = Pick<
  Config,
  'DATABASE_URL' | 'DATA_DIR' | 'DB_POOL_MAX' | 'DB_STATEMENT_TIMEOUT_MS' | 'DB_CONNECT_TIMEOUT_MS' | 'DB_READY_TIMEOUT_MS'
> &
  Partial<Pick<Config, 'DIRECT_DATABASE_URL' | 'DATABASE_REPLICA_URLS' | 'REPLICA_MAX_LAG_MS' | 'DB_POOL_IDLE_TIMEOUT_MS' | 'DB_PREPARED_STATEMENTS'>>;

/**
 * The database's own pools by name, each once (logs and metrics name them so): `api`, and `ready`
 * for the readiness probe's, except on the embedded database, where they are one pool, `api`.
 */
export function namedPools(db: Pick<Database, 'pool' | 'probePool'>): ReadonlyMap<string, pg.Pool> {
  return db.probePool === db.pool ? new Map([['api', db.pool]]) : new Map([['api', db.pool], ['ready', db.probePool]]);
}

/**
 * A Prisma client over `pool` (@prisma/adapter-pg: no native engine), its code loaded on first
 * call. The Database's own is `prisma()`; read replicas' pools get theirs from here.
 */
export async function prismaClientOn(pool: pg.Pool): Promise<PrismaClient> {
  const [{ PrismaClient }, { PrismaPg }] = await Promise.all([import('../generated/prisma/client.js'), import('@prisma/adapter-pg')]);
  // 'minimal': no call site captured (a stack trace) on every query for a prettier error message.
  return new PrismaClient({ adapter: new PrismaPg(pool), errorFormat: 'minimal' });
}

export async function openDatabase(config: DatabaseConfig, user: DatabaseUser = { role: 'command', name: 'oms-customers' }): Promise<Database> {
  let embedded: EmbeddedTarget | null = null;
  let maxConnections = config.DB_POOL_MAX;
  if (config.DATABASE_URL === undefined) {
    embedded = await openEmbedded(config.DATA_DIR, user);
    // A running server's database is one PGlite session as well (see db/embedded.ts).
    const { EMBEDDED_MAX_CONNECTIONS } = await import('./embedded.js');
    maxConnections = EMBEDDED_MAX_CONNECTIONS;
  }
  const pool = createPool({
    url: embedded?.own?.server.url ?? embedded?.url ?? (config.DATABASE_URL as string),
    max: maxConnections,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: config.DB_POOL_IDLE_TIMEOUT_MS,
    // The embedded server is one PGlite session that every command's connection shares in turn.
    preparedStatements: embedded ? 0 : config.DB_PREPARED_STATEMENTS,
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
  const migrationPool =
    embedded || config.DIRECT_DATABASE_URL === undefined
      ? pool
      : createPool({
          url: config.DIRECT_DATABASE_URL,
          max: 1,
          statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
          connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
          applicationName: 'oms-customers-migrate',
        });
  const replicaUrls = embedded ? [] : config.DATABASE_REPLICA_URLS ?? [];
  const replicas =
    replicaUrls.length === 0
      ? null
      : createReplicaSet({
          urls: replicaUrls,
          maxLagMs: config.REPLICA_MAX_LAG_MS ?? 5000,
          pool: {
            max: maxConnections, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS, connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
            idleTimeoutMs: config.DB_POOL_IDLE_TIMEOUT_MS, preparedStatements: config.DB_PREPARED_STATEMENTS,
          },
        });
  // Measured before the first request, so reads go to the replicas from the start.
  await replicas?.check();
  let prisma: Promise<PrismaClient> | null = null;
  let closed = false;
  return {
    pool,
    probePool,
    migrationPool,
    replicas,
    prisma: () => (prisma ??= prismaClientOn(pool)),
    embedded: embedded !== null,
    publish(httpPort) {
      const own = embedded?.own;
      if (own?.lock) own.lock.update({ database: own.server.url, port: httpPort });
    },
    async close() {
      if (closed) return;
      closed = true;
      const own = embedded?.own;
      // Commands arriving from now on wait for DATA_DIR instead of connecting to a database about to go.
      if (own?.lock?.record.database) own.lock.update({ port: own.lock.record.port });
      try {
        if (prisma) await (await prisma).$disconnect();
        if (!pool.ended) await pool.end();
        if (!probePool.ended) await probePool.end();
        if (!migrationPool.ended) await migrationPool.end();
        await replicas?.close();
        await own?.server.stop();
      } finally {
        own?.lock?.release();
      }
    },
  };
}
