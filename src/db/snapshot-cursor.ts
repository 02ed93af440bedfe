/**
 * Reading a whole result set in constant memory and from one consistent snapshot: a
 * REPEATABLE READ READ ONLY transaction on one pooled client that first counts, then reads the
 * rows through a server-side cursor (`DECLARE … CURSOR`, `FETCH n`) one batch at a time, only as
 * fast as they are consumed (the next batch is fetched while one is being written, no further).
 * The count and the rows come from the same snapshot, so rows written meanwhile neither appear
 * twice nor go missing, and the count is exactly the number of rows read.
 *
 * Each FETCH is a statement of its own, so statement_timeout bounds each batch and not the
 * whole download. (pg-cursor's portal is suspended between reads without a Sync, and the server
 * keeps one statement timer running across all of them: a client slower than the timeout
 * would have its export cancelled.)
 *
 * The client is held from open to close, so with the embedded database (a pool of one) nothing
 * else runs meanwhile; close() rolls back and returns it as soon as any fetch in flight lands.
 */
import type pg from 'pg';

export interface SnapshotQuery {
  text: string;
  values: readonly unknown[];
}

export interface SnapshotCursorOptions {
  /** Aborting closes the cursor at once (the client went away). */
  signal?: AbortSignal;
  /** Rows per fetch. */
  batchSize?: number;
}

export interface RowBatches<R> extends AsyncIterable<R[]> {
  /** Rows the iteration yields, counted first in the same snapshot. */
  readonly count: number;
  /** Ends the transaction and releases the client; idempotent, and run when iteration ends. */
  close(): Promise<void>;
}

export const DEFAULT_BATCH_SIZE = 5000;

const CURSOR = 'snapshot_rows';

/**
 * Opens the snapshot and runs `count` (a query returning one row with a column `n`); the rows of
 * `select` are fetched when the result is iterated, which may happen once.
 */
export async function openSnapshotCursor<R>(
  pool: pg.Pool,
  count: SnapshotQuery,
  select: SnapshotQuery,
  toRow: (raw: R) => R,
  { signal, batchSize = DEFAULT_BATCH_SIZE }: SnapshotCursorOptions = {},
): Promise<RowBatches<R>> {
  signal?.throwIfAborted();
  const client = await pool.connect();
  let inFlight: Promise<unknown> = Promise.resolve();
  let closing: Promise<void> | null = null;

  const close = (): Promise<void> =>
    (closing ??= (async () => {
      signal?.removeEventListener('abort', onAbort);
      // A client runs one command at a time: let a fetch in flight land before closing.
      await inFlight.catch(() => undefined);
      try {
        // Ends the snapshot and closes the cursor with it.
        await client.query('ROLLBACK');
        client.release();
      } catch (error) {
        // The connection is broken: the pool drops it instead of handing it out again.
        client.release(error instanceof Error ? error : new Error(String(error)));
      }
    })());
  const onAbort = () => void close();
  signal?.addEventListener('abort', onAbort, { once: true });

  let total: number;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const counted = (inFlight = client.query<{ n: string | number }>(count.text, [...count.values]));
    const { rows } = await counted;
    total = Number(rows[0]?.n ?? 0);
  } catch (error) {
    await close();
    throw error;
  }

  async function* batches(): AsyncGenerator<R[]> {
    try {
      if (closing) return;
      const declared = (inFlight = client.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${select.text}`, [...select.values]));
      await declared;
      const fetch = () => (inFlight = client.query<R & pg.QueryResultRow>(`FETCH ${Math.trunc(batchSize)} FROM ${CURSOR}`));
      let next = fetch();
      while (!closing) {
        const { rows } = await next;
        // A short batch is the last one; otherwise the next is fetched while this one is written.
        if (rows.length === 0) return;
        if (rows.length === batchSize) next = fetch();
        yield rows.map(toRow);
        if (rows.length < batchSize) return;
      }
    } finally {
      await close();
    }
  }

  const iterator = batches();
  return { count: total, close, [Symbol.asyncIterator]: () => iterator };
}
