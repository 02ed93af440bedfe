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
import type { Snapshot } from './snapshot.js';
import { withDeadline } from '../db/unavailable.js';
import type { CopyStatement } from '../resource/csv-sql.js';


/**
 * Runs `statement` in the open snapshot and gives the COPY's bytes. Statement_timeout is lifted
 * first (the count before it kept the limit) and the statement's settings set; a failure there
 * closes the snapshot and rejects, before any byte. The snapshot is closed when the bytes end,
 * however they end.
 */
export async function copyRows(
  snapshot: Snapshot,
  statement: CopyStatement,
  options: {
    /** What the COPY's bytes pass through on their way out (e.g. to change line endings). */
    transform?: () => Transform;
    /** Longest wait for the database's next bytes while the reader wants them, ms; 0 = none. */
    stallTimeoutMs: number;
  },
): Promise<Readable> {
  const { transform, stallTimeoutMs } = options;
  try {
    await snapshot.query('SET LOCAL statement_timeout = 0');
    if (statement.settings) await snapshot.query(statement.settings.text, statement.settings.values);
  } catch (error) {
    await snapshot.close();
    throw error;
  }
  if (snapshot.closed) return Readable.from([]);
  const out = transform?.() ?? new PassThrough();
  const copy = snapshot.copyOut(statement.copy);
  const done = () => void snapshot.close();
  if (stallTimeoutMs > 0) pipeline(copy, stallGuard(stallTimeoutMs), out, done);
  else pipeline(copy, out, done);
  return out;
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
