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
import type { Snapshot, SnapshotQuery } from './snapshot.js';

/**
 * Rows per FETCH. Small enough that a batch dies young (5,000 rows survived scavenges into the old
 * generation: a full XLSX export peaked ~40 MB higher), large enough that round trips stay cheap.
 */
export const DEFAULT_BATCH_SIZE = 500;

const CURSOR = 'snapshot_rows';

/**
 * The rows of `select`, batch by batch, through a cursor in the open snapshot. Iterate once; the
 * snapshot is closed when the iteration ends, however it ends.
 */
export async function* readRows<R extends pg.QueryResultRow>(
  snapshot: Snapshot,
  select: SnapshotQuery,
  batchSize = DEFAULT_BATCH_SIZE,
): AsyncGenerator<R[]> {
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
