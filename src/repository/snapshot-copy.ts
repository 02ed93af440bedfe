/**
 * Reading a whole result set as bytes PostgreSQL writes (`COPY … TO STDOUT`), from one snapshot
 * (snapshot.ts), piped with backpressure: when the consumer stops reading, pg-copy-streams
 * stops reading the socket and the server waits.
 *
 * A COPY is one statement for the whole download, so statement_timeout is lifted for it (the
 * count before it keeps the limit); otherwise a client slower than the timeout would lose its
 * export. Stopping early (the client went away, or the consumer destroyed the stream) drops the
 * connection (snapshot.ts says why), and the pool opens a new one.
 *
 * With statement_timeout lifted, a frozen server or connection would hold the download (and its
 * connection) for ever; a stall timer bounds it instead, running only while the reader waits for
 * bytes the database has not sent, so a slow reader still gets its whole export.
 */
import { PassThrough, Readable, pipeline, type Transform } from 'node:stream';
import type pg from 'pg';
import { openSnapshot, type SnapshotQuery } from './snapshot.js';
import { withDeadline } from '../db/unavailable.js';
import type { CopyStatement } from '../resource/csv-sql.js';

export type { CopyStatement } from '../resource/csv-sql.js';

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
  options: {
    /** Aborting ends the read at once (the client went away) and drops the connection if need be. */
    signal?: AbortSignal;
    /** What the COPY's bytes pass through on their way out (e.g. to change line endings). */
    transform?: () => Transform;
    /** Longest wait for the database's next bytes while the reader wants them, ms; default the pool's query_timeout, 0 = none. */
    stallTimeoutMs?: number;
  } = {},
): Promise<CopiedBytes> {
  const stallTimeoutMs = options.stallTimeoutMs ?? pool.options.query_timeout ?? 0;
  const { signal, transform } = options;
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
      const copy = snapshot.copyOut(statement.copy);
      const done = () => void snapshot.close();
      if (stallTimeoutMs > 0) pipeline(copy, stallGuard(stallTimeoutMs), out, done);
      else pipeline(copy, out, done);
      return out;
    },
  };
}

/**
 * A pipeline stage that fails with DatabaseTimeout when the source gives nothing for `ms` while
 * asked for more. The pipeline asks only when the stage after it has room, so the time a slow
 * reader keeps the bytes waiting never counts.
 */
function stallGuard(ms: number) {
  return async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const chunks = source[Symbol.asyncIterator]();
    for (;;) {
      // Once stalled, the pipeline destroys the source and this read settles unheard.
      const result = await withDeadline(chunks.next(), ms, `the database sent nothing for ${ms} ms`);
      if (result.done) return;
      yield result.value;
    }
  };
}
