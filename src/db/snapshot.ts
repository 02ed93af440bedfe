/**
 * One consistent snapshot to read a whole result set from: a REPEATABLE READ READ ONLY
 * transaction on one pooled client that first counts the rows. Whatever reads them afterwards
 * in the same transaction (a cursor, db/snapshot-cursor.ts, or a COPY, db/snapshot-copy.ts) sees
 * exactly the rows counted: rows written meanwhile neither appear twice nor go missing.
 *
 * The client is held from open to close, so with the embedded database (a pool of one) nothing
 * else runs meanwhile.
 */
import type pg from 'pg';

export interface SnapshotQuery {
  text: string;
  values: readonly unknown[];
}

export interface Snapshot {
  readonly client: pg.PoolClient;
  /** Rows the reader will see, counted in the snapshot. */
  readonly count: number;
  /** True once close() has been called. */
  readonly closed: boolean;
  /** Runs a statement in the snapshot; close() lets it land before ending the transaction. */
  query<R extends pg.QueryResultRow>(text: string, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
  /**
   * Ends the transaction and releases the client; idempotent. With `broken`, the connection is
   * dropped instead (its socket destroyed): the way to stop a COPY in the middle, which no
   * statement can interrupt while the server is blocked writing to us.
   */
  close(broken?: Error): Promise<void>;
}

/** Opens the transaction and runs `count` (one row with a column `n`). */
export async function openSnapshot(pool: pg.Pool, countQuery: SnapshotQuery): Promise<Snapshot> {
  const client = await pool.connect();
  // The pool stops listening while a client is checked out; a connection that dies under a
  // read fails the read, and must not also crash the process with an unheard 'error'.
  const ignore = () => undefined;
  client.on('error', ignore);
  const release = (error?: Error) => {
    client.removeListener('error', ignore);
    client.release(error);
  };
  let inFlight: Promise<unknown> = Promise.resolve();
  let closing: Promise<void> | null = null;
  let count = 0;

  const snapshot: Snapshot = {
    client,
    get count() {
      return count;
    },
    get closed() {
      return closing !== null;
    },
    query<R extends pg.QueryResultRow>(text: string, values: readonly unknown[] = []) {
      const running = client.query<R>(text, [...values]);
      inFlight = running;
      return running;
    },
    close: (broken?: Error) =>
      (closing ??= (async () => {
        if (broken) {
          // pg destroys the socket of a client released with an error while a query is active
          // (the 'error' listener stays: the dying connection may still report).
          client.release(broken);
          return;
        }
        // A client runs one command at a time: let the statement in flight land first.
        await inFlight.catch(() => undefined);
        try {
          // Ends the snapshot and closes any cursor with it.
          await client.query('ROLLBACK');
          release();
        } catch (error) {
          // The connection is broken: the pool drops it instead of handing it out again.
          release(error instanceof Error ? error : new Error(String(error)));
        }
      })()),
  };

  try {
    await snapshot.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await snapshot.query<{ n: string | number }>(countQuery.text, countQuery.values);
    count = Number(rows[0]?.n ?? 0);
    return snapshot;
  } catch (error) {
    await snapshot.close();
    throw error;
  }
}
