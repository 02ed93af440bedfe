/**
 * Reading a whole result set in constant memory from one snapshot (snapshot.ts): the rows come
 * through a server-side cursor (`DECLARE … CURSOR`, `FETCH n`) one batch at a time, only as fast
 * as they are consumed (the next batch is fetched while one is being written, no further). This
 * is the path for rows Node renders (JSON, XLSX) and for every format on the embedded database,
 * which has no COPY; CSV on a PostgreSQL server takes repository/snapshot-copy.ts.
 *
 * Each FETCH is a statement of its own, so statement_timeout bounds each batch and not the
 * whole download. (pg-cursor's portal is suspended between reads without a Sync, and the server
 * keeps one statement timer running across all of them: a client slower than the timeout
 * would have its export cancelled.)
 */
import type pg from 'pg';
import { openSnapshot, type SnapshotQuery } from './snapshot.js';

export type { SnapshotQuery } from './snapshot.js';

export interface SnapshotReadOptions {
  /** Aborting ends the read at once (the client went away) and releases the connection. */
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

/**
 * Rows per FETCH. Small enough that a batch dies young (5,000 rows survived scavenges into the old
 * generation: a full XLSX export peaked ~40 MB higher), large enough that round trips stay cheap.
 */
export const DEFAULT_BATCH_SIZE = 500;

const CURSOR = 'snapshot_rows';

/**
 * Opens the snapshot and runs `count` (a query returning one row with a column `n`); the rows of
 * `select` are fetched when the result is iterated, which may happen once.
 */
export async function openSnapshotCursor<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  count: SnapshotQuery,
  select: SnapshotQuery,
  { signal, batchSize = DEFAULT_BATCH_SIZE }: SnapshotReadOptions = {},
): Promise<RowBatches<R>> {
  const snapshot = await openSnapshot(pool, count, { signal });

  async function* batches(): AsyncGenerator<R[]> {
    try {
      if (snapshot.closed) return;
      await snapshot.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${select.text}`, select.values);
      const fetch = () => snapshot.query<R>(`FETCH ${Math.trunc(batchSize)} FROM ${CURSOR}`);
      let next = fetch();
      while (!snapshot.closed) {
        const { rows } = await next;
        // A short batch is the last one; otherwise the next is fetched while this one is written.
        if (rows.length === 0) return;
        // Nobody awaits that prefetch while the consumer holds this batch (for long, or for ever if
        // it stops): snapshot.query() marks a rejection handled, and it is rethrown here next turn,
        // so a fault in between cannot surface as an unhandled rejection that ends the process.
        if (rows.length === batchSize) next = fetch();
        yield rows;
        if (rows.length < batchSize) return;
      }
    } finally {
      await snapshot.close();
    }
  }

  const iterator = batches();
  return { count: snapshot.count, close: () => snapshot.close(), [Symbol.asyncIterator]: () => iterator };
}
