/**
 * Reading a whole result set as bytes PostgreSQL writes (`COPY … TO STDOUT`), from one snapshot
 * (db/snapshot.ts), piped with backpressure: when the consumer stops reading, pg-copy-streams
 * stops reading the socket and the server waits.
 *
 * A COPY is one statement for the whole download, so statement_timeout is lifted for it (the
 * count before it keeps the limit); otherwise a client slower than the timeout would lose its
 * export. Stopping early (the client went away, or the consumer destroyed the stream) drops the
 * connection (db/snapshot.ts says why), and the pool opens a new one.
 */
import { PassThrough, Readable, pipeline, type Transform } from 'node:stream';
import type pg from 'pg';
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
  const snapshot = await openSnapshot(pool, count, { signal });
  try {
    await snapshot.query('SET LOCAL statement_timeout = 0');
    if (statement.settings) await snapshot.query(statement.settings.text, statement.settings.values);
  } catch (error) {
    await snapshot.close();
    throw error;
  }

  return {
    count: snapshot.count,
    close: () => snapshot.close(),
    stream() {
      if (snapshot.closed) return Readable.from([]);
      const out = transform?.() ?? new PassThrough();
      pipeline(snapshot.copyOut(statement.copy), out, () => void snapshot.close());
      return out;
    },
  };
}
