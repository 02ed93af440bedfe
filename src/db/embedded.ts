/**
 * Embedded PostgreSQL for running without DATABASE_URL: PGlite (PostgreSQL
 * compiled to WASM, in this process) served on 127.0.0.1 through
 * pglite-socket's connection handler, so the ordinary `pg` pool and Prisma
 * adapter reach it like any server.
 *
 * One PGlite is one backend session. db/session-socket-server.ts serves it to
 * several connections by giving one connection the session at a time, from its
 * first message to the end of its transaction or Sync; see there. Being one
 * session, a second connection buys no concurrency, and session state (SET,
 * advisory locks, prepared statement names, temporary tables) is shared.
 * Hence EMBEDDED_MAX_CONNECTIONS: one pool of max 1 per process. The server's
 * pool and the operator commands run while it owns DATA_DIR (db/data-dir-owner.ts)
 * are two such processes. Code must never hold a client while waiting for
 * another (deadlock at max 1).
 *
 * PGlite also ignores startup parameters (application_name, statement_timeout)
 * and does not enforce statement_timeout at all, and its now() has millisecond
 * resolution; stored values keep their microseconds.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { serveSession } from './session-socket-server.js';

/** The only safe pool size for a client of the embedded server (see above). */
export const EMBEDDED_MAX_CONNECTIONS = 1;

/**
 * Sockets the server accepts. More than the pool size so that a reconnect,
 * racing the server's bookkeeping of the socket it replaces, a short-lived
 * second pool (a migration run before the app's pool) or operator commands
 * run against the running server are not refused.
 */
const EMBEDDED_SOCKET_LIMIT = 8;

/**
 * How every PGlite cluster is made and started (measured here, a cluster loaded from a dump):
 * - initdb with 1 MB WAL segments instead of 16 MB: a new cluster holds one segment, so initdb and
 *   loading a dumped cluster write 16 MB less (initdb 4.0 s → 2.2 s). A cluster made before keeps
 *   its own segment size (it is in pg_control).
 * - shared_buffers 16 MB instead of initdb's 128 MB: PGlite sets up its buffer pool at every start,
 *   at about 8 ms per MB here (a start 1.2 s → 0.5 s). Pages past it come from PGlite's in-process
 *   file system or, with a DATA_DIR, the OS's page cache.
 */
export const PGLITE_OPTIONS: PGliteOptions = {
  initDbStartParams: ['--wal-segsize=1'],
  startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'],
};

/** A PGlite cluster in `dataDir` (in memory if absent), made by initdb or from `loadDataDir` if it has none yet. */
export function openPGlite(options: { dataDir?: string; loadDataDir?: Blob } = {}): Promise<PGlite> {
  return PGlite.create({ ...PGLITE_OPTIONS, ...options });
}

export interface EmbeddedPostgres {
  /** postgresql://postgres@127.0.0.1:<port>/postgres, port assigned by the OS. */
  url: string;
  /** Closes client sockets (rolling back an open transaction), the listener and PGlite. Idempotent. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Directory of the cluster, created if missing and reopened if not; 'memory' keeps nothing. */
  dataDir: string | 'memory';
  /**
   * A PGlite `dumpDataDir()` tarball to start a new cluster from instead of
   * running initdb (seconds of CPU); the tests keep a cached one.
   */
  loadDataDir?: Blob;
}

/**
 * Starts PGlite and serves it on a loopback port. Callers should end their
 * pools before stop(): a checked-out client whose socket is closed under it
 * emits 'error'.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgres> {
  let dataDir: string | undefined;
  if (opts.dataDir !== 'memory') {
    dataDir = resolve(opts.dataDir);
    await mkdir(dataDir, { recursive: true });
  }
  const db = await openPGlite({
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(opts.loadDataDir === undefined ? {} : { loadDataDir: opts.loadDataDir }),
  });
  const server = await serveOrClose(db);
  const url = `postgresql://postgres@${server.address}/postgres`;

  let stopping: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    // stop() ends every client's turn (rolling back an open transaction) before PGlite closes.
    await server.stop();
    await db.close();
  };
  return { url, stop: () => (stopping ??= shutdown()) };
}

/** Serves `db` on a new loopback port; closes it if that fails, so that no PGlite is left running unowned. */
export async function serveOrClose(db: PGlite): Promise<Awaited<ReturnType<typeof serveSession>>> {
  try {
    return await serveSession(db, EMBEDDED_SOCKET_LIMIT);
  } catch (error) {
    await db.close();
    throw error;
  }
}
