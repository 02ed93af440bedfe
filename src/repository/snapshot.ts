/**
 * One consistent snapshot to read a whole result set from: a REPEATABLE READ READ ONLY
 * transaction on one pooled client that first counts the rows. Whatever reads them afterwards
 * in the same transaction (a cursor, snapshot-cursor.ts, or a COPY, snapshot-copy.ts) sees
 * exactly the rows counted: rows written meanwhile neither appear twice nor go missing.
 *
 * The client is held from open to close, so with the embedded database (a pool of one) nothing
 * else runs meanwhile. Aborting the signal (the client went away) closes the snapshot at once.
 */
import type { Readable } from 'node:stream';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { withoutQueryTimeout } from '../db/read-timeout-client.js';

export interface SnapshotQuery {
  text: string;
  values: readonly unknown[];
}

export interface Snapshot {
  /** Rows the reader will see, counted in the snapshot. */
  readonly count: number;
  /** True once close() has been called. */
  readonly closed: boolean;
  /** Runs a statement in the snapshot; close() lets it land before ending the transaction. */
  query<R extends pg.QueryResultRow>(text: string, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
  /** Starts `COPY … TO STDOUT` in the snapshot and gives its bytes, with backpressure. */
  copyOut(text: string): Readable;
  /**
   * Ends the transaction and releases the client; idempotent. A COPY that has not reached its
   * end cannot be interrupted while the server is blocked writing to us, so its connection is
   * dropped instead (the socket destroyed): the server sees the reset and ends the backend.
   */
  close(): Promise<void>;
}

/** Opens the transaction and runs `countQuery` (one row with a column `n`). */
export async function openSnapshot(
  pool: pg.Pool,
  countQuery: SnapshotQuery,
  { signal }: { signal?: AbortSignal } = {},
): Promise<Snapshot> {
  signal?.throwIfAborted();
  const client = await pool.connect();
  // The pool stops listening while a client is checked out; a connection that dies under a
  // read fails the read, and must not also crash the process with an unheard 'error'.
  const ignore = () => undefined;
  client.on('error', ignore);
  let inFlight: Promise<unknown> = Promise.resolve();
  let copyUnfinished = false;
  // A statement that failed (cancelled, timed out client-side, connection lost) leaves a connection
  // not worth a ROLLBACK round trip, which a frozen server would not answer: it is discarded.
  let failed: Error | null = null;
  let closing: Promise<void> | null = null;
  let count = 0;

  const close = (): Promise<void> =>
    (closing ??= (async () => {
      signal?.removeEventListener('abort', onAbort);
      if (copyUnfinished || failed) {
        // pg destroys the socket of a client released with an error while a query is active
        // (the 'error' listener stays: the dying connection may still report).
        client.release(failed ?? new Error('COPY stopped before its end'));
        return;
      }
      // A client runs one command at a time: let the statement in flight land first.
      await inFlight.catch(() => undefined);
      if (failed) {
        client.release(failed);
        return;
      }
      try {
        // Ends the snapshot and closes any cursor with it.
        await client.query('ROLLBACK');
        client.removeListener('error', ignore);
        client.release();
      } catch (error) {
        // The connection is broken: the pool drops it instead of handing it out again.
        client.release(error instanceof Error ? error : new Error(String(error)));
      }
    })());
  const onAbort = () => void close();

  const snapshot: Snapshot = {
    get count() {
      return count;
    },
    get closed() {
      return closing !== null;
    },
    query<R extends pg.QueryResultRow>(text: string, values: readonly unknown[] = []) {
      const running = client.query<R>(text, [...values]);
      inFlight = running;
      // Observed here, at once, for every statement: a reader may hold one unawaited (a prefetched
      // FETCH while the client is slow), and a rejection nobody listens to yet ends the process.
      // Whoever awaits `running` still gets the error.
      running.catch((error: unknown) => {
        failed ??= error instanceof Error ? error : new Error(String(error));
      });
      return running;
    },
    copyOut(text) {
      // Without the client's query_timeout: pg arms that timer for every query and clears it in the
      // query's callback, which pg-copy-streams never calls, so it would fire in the middle of (or
      // after) any COPY longer than the timeout, for a slow reader too. A COPY is bounded instead by
      // a stall timer that runs only while its reader waits (repository/snapshot-copy.ts).
      const copy = withoutQueryTimeout(client, () => client.query(copyTo(text)));
      copyUnfinished = true;
      // The reader hears errors through its pipeline; this one hears those pg reports after the
      // pipeline has already ended (the connection dropped under a stopped COPY).
      copy.on('error', () => undefined);
      // Only a COPY that ran to its end leaves the connection usable for ROLLBACK.
      copy.once('end', () => (copyUnfinished = false));
      return copy;
    },
    close,
  };

  try {
    await snapshot.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await snapshot.query<{ n: string | number }>(countQuery.text, countQuery.values);
    count = Number(rows[0]?.n ?? 0);
  } catch (error) {
    await close();
    throw error;
  }
  if (signal?.aborted) await close();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return snapshot;
}
