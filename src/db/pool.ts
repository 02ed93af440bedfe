/**
 * The `pg` connection pool behind Prisma's pg adapter, the migration runner
 * and the readiness probe: one place that decides connection limits and
 * timeouts.
 */
import pg from 'pg';
import { PreparingClient, type PreparedStatementsOption, type PreparedStatementsState } from './prepared-statements.js';

export interface PoolOptions {
  /** postgresql:// URL; for the embedded server, the URL startEmbeddedPostgres returned. */
  url: string;
  /** Pool size; must be EMBEDDED_MAX_CONNECTIONS (1) for the embedded server, see db/embedded.ts. */
  max: number;
  /** Server-side limit for every statement; 0 disables it. Not enforced by embedded PGlite. */
  statementTimeoutMs: number;
  /** How long a checkout may wait for a new connection before failing. */
  connectTimeoutMs: number;
  /**
   * Client-side bound on every query, ms (0 = none): a frozen server or connection answers
   * nothing, which statement_timeout cannot catch. Defaults to queryTimeoutFor(statementTimeoutMs).
   */
  queryTimeoutMs?: number;
  /** Shown in pg_stat_activity; defaults to `oms-customers`. */
  applicationName?: string;
  /** How long a connection may sit unused in the pool before it is closed, ms (0 = never); pg-pool's 10 s by default. */
  idleTimeoutMs?: number;
  /**
   * Named prepared statements per connection for the reads marked `prepared()` (0 or absent = none;
   * db/prepared-statements.ts). Switched off for the pool if the server side turns out not to keep them.
   */
  preparedStatements?: number;
}

/** The pool's event when it stops naming statements (a pooler in transaction mode), with the error that showed it. */
export const PREPARED_STATEMENTS_OFF = 'preparedStatementsOff';

/**
 * How much longer than statement_timeout the client waits before giving a query up: enough for
 * the server's own cancel (an ErrorResponse, the better outcome: the connection stays usable) to
 * arrive first over a loaded network.
 */
export const QUERY_TIMEOUT_MARGIN_MS = 1_000;

/**
 * The client-side query timeout for a statement_timeout: a little above it, so the server's
 * cancel normally wins; none when statement_timeout is none (0), since queries are then allowed
 * to run for as long as they take and a client bound would cut them anyway.
 */
export function queryTimeoutFor(statementTimeoutMs: number): number {
  return statementTimeoutMs > 0 ? statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS : 0;
}

export function createPool(opts: PoolOptions): pg.Pool {
  const queryTimeoutMs = opts.queryTimeoutMs ?? queryTimeoutFor(opts.statementTimeoutMs);
  const perConnection = opts.preparedStatements ?? 0;
  const preparedStatements: PreparedStatementsState = {
    perConnection,
    enabled: perConnection > 0,
    onDisabled: (error) => {
      if (!pool.emit(PREPARED_STATEMENTS_OFF, error)) {
        process.stderr.write(`oms-customers: prepared statements switched off (${error.message}): the server side does not keep them\n`);
      }
    },
  };
  const config: pg.PoolConfig & PreparedStatementsOption = {
    // pg's client, with its query_timeout armed without keeping finished queries alive (read-timeout-client.ts)
    // and the list reads prepared under names (prepared-statements.ts).
    Client: PreparingClient,
    preparedStatements,
    connectionString: opts.url,
    max: opts.max,
    // pg sends this in the startup packet, so it is the session default of
    // every connection and covers Prisma's queries too, with no SET round trip.
    statement_timeout: opts.statementTimeoutMs,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    ...(opts.idleTimeoutMs === undefined ? {} : { idleTimeoutMillis: opts.idleTimeoutMs }),
    // A timed-out query fails with 'Query read timeout'; pool.query() then discards its connection
    // (release with the error), and repository/snapshot.ts does the same for its own.
    ...(queryTimeoutMs > 0 ? { query_timeout: queryTimeoutMs } : {}),
    application_name: opts.applicationName ?? 'oms-customers',
  };
  const pool = new pg.Pool(config);
  // pg re-emits the error of an *idle* client (server restart, terminated backend, embedded server
  // stopped) on the pool, where an unheard 'error' event would crash the process. The broken client
  // is already discarded and the next checkout reconnects or fails loudly; the loss is reported,
  // by whoever listens too (the server's log: plugins/database.ts), else on stderr.
  pool.on('error', (error) => {
    if (pool.listenerCount('error') === 1) process.stderr.write(`oms-customers: an idle database connection was lost: ${error.message}\n`);
  });
  return pool;
}

/** One short-lived connection (outside any pool) for admin work such as CREATE/DROP DATABASE. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
