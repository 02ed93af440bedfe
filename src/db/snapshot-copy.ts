/**
 * Reading a whole result set as bytes PostgreSQL writes (`COPY … TO STDOUT`), from one snapshot
 * (db/snapshot.ts), piped with backpressure: when the consumer stops reading, pg-copy-streams
 * stops reading the socket and the server waits.
 *
 * A COPY is one statement for the whole download, so statement_timeout is lifted for it (the
 * count before it keeps the limit); otherwise a client slower than the timeout would lose its
 * export. While the server is blocked writing, no statement or cancel request reaches it, so
 * stopping early (the client went away, or the consumer destroyed the stream) drops the
 * connection: the server sees the reset and ends the backend, and the pool opens a new one.
 */
import { PassThrough, Readable, pipeline, type Transform } from 'node:stream';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { openSnapshot, type SnapshotQuery } from './snapshot.js';

export interface CopyStatement {
  /** Run first in the snapshot, e.g. to set what the COPY reads with current_setting(). */
  settings?: SnapshotQuery;
  /** `COPY (…) TO STDOUT …`. */
  copy: string;
}

export interface CopiedBytes {
  /** Rows the COPY writes, counted first in the same snapshot. */
  readonly count: number;
  /** Starts the COPY and gives its bytes. Call once. */
  stream(): Readable;
  /** Ends the transaction (dropping the connection if the COPY is running); idempotent. */
  close(): Promise<void>;
}

export async function openSnapshotCopy(
  pool: pg.Pool,
  count: SnapshotQuery,
  statement: CopyStatement,
  { signal, transform }: {
    /** Aborting ends the read at once (the client went away) and drops the connection if need be. */
    signal?: AbortSignal;
    /** What the COPY's bytes pass through on their way out (e.g. to change line endings). */
    transform?: () => Transform;
  } = {},
): Promise<CopiedBytes> {
  signal?.throwIfAborted();
  const snapshot = await openSnapshot(pool, count);
  let copying = false;
  let finished = false;

  const close = (): Promise<void> => {
    signal?.removeEventListener('abort', onAbort);
    return snapshot.close(copying && !finished ? new Error('COPY stopped before its end') : undefined);
  };
  const onAbort = () => void close();
  if (signal?.aborted) await close();
  else signal?.addEventListener('abort', onAbort, { once: true });

  try {
    await snapshot.query('SET LOCAL statement_timeout = 0');
    if (statement.settings) await snapshot.query(statement.settings.text, statement.settings.values);
  } catch (error) {
    await close();
    throw error;
  }

  return {
    count: snapshot.count,
    close,
    stream() {
      if (snapshot.closed) return Readable.from([]);
      copying = true;
      const source = snapshot.client.query(copyTo(statement.copy));
      const out = transform?.() ?? new PassThrough();
      pipeline(source, out, (error) => {
        finished = !error;
        void close();
      });
      return out;
    },
  };
}
