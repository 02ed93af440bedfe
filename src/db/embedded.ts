/**
 * Embedded PostgreSQL for running without DATABASE_URL: PGlite (PostgreSQL
 * compiled to WASM, in this process) served on 127.0.0.1 by pglite-socket's
 * PGLiteSocketServer, so the ordinary `pg` pool and Prisma adapter reach it
 * like any server.
 *
 * One PGlite is one backend session. The socket server multiplexes its client
 * sockets onto that session message by message (pglite-socket 0.2.17,
 * `QueryQueueManager`), which makes several connections unsafe:
 * - the extended-protocol messages of one query (Parse/Bind/Execute/Sync) are
 *   not kept together: when a large message arrives in several TCP chunks,
 *   another connection's Parse can land between them ("bind message supplies 2
 *   parameters, but prepared statement requires 1"; reproduced with a 2 MB
 *   parameter on two connections);
 * - session state is shared: SET, advisory locks (so they exclude nobody),
 *   prepared statement names, temporary tables;
 * - an open transaction makes every other connection wait until it ends, so a
 *   second connection buys no concurrency anyway.
 * Hence EMBEDDED_MAX_CONNECTIONS: use ONE pool of max 1 per embedded server.
 * Code must never hold a client while waiting for another (deadlock at max 1).
 *
 * PGlite also ignores startup parameters (application_name, statement_timeout)
 * and does not enforce statement_timeout at all, and its now() has millisecond
 * resolution; stored values keep their microseconds.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** The only safe pool size for a client of the embedded server (see above). */
export const EMBEDDED_MAX_CONNECTIONS = 1;

/**
 * Sockets the server accepts. More than the pool size so that a reconnect,
 * racing the server's bookkeeping of the socket it replaces, or a short-lived
 * second pool (a migration run before the app's pool) is not refused.
 */
const SOCKET_LIMIT = 8;

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
  const db = await PGlite.create({
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(opts.loadDataDir === undefined ? {} : { loadDataDir: opts.loadDataDir }),
  });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: SOCKET_LIMIT });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  const url = `postgresql://postgres@${server.getServerConn()}/postgres`;

  let stopping: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    // stop() detaches every socket without awaiting it; a detach that finds
    // its connection inside a transaction queues a ROLLBACK, which db.close()
    // waits for because it takes the same mutexes.
    await server.stop();
    await new Promise((done) => setImmediate(done));
    await db.close();
  };
  return { url, stop: () => (stopping ??= shutdown()) };
}
