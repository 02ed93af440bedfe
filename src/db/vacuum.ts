/**
 * `VACUUM (ANALYZE)` of the tables a bulk write filled: planner statistics at once (right after a
 * large load a count was planned for 2% of its rows, and ran as a Seq Scan, until an ANALYZE), and
 * the visibility map that index-only scans need, rather than whenever autovacuum gets to it (or
 * never, where it is off). VACUUM cannot run inside a transaction block, so it comes after COMMIT.
 * The embedded database (PGlite) runs it as a real server does.
 */
import type pg from 'pg';
import { sqlIdentifier } from '../lib/sql-identifier.js';

/** pg's client-side timeout cannot be lifted per query (0 means "the pool's"): a day stands for none. */
const NO_CLIENT_TIMEOUT_MS = 86_400_000;

/** Vacuums and analyzes `tables` in one statement, on a connection of its own, outside any transaction. */
export async function vacuumAnalyze(pool: pg.Pool, tables: readonly string[]): Promise<void> {
  for (const table of tables) sqlIdentifier('table', table);
  if (tables.length === 0) return;
  const client = await pool.connect();
  try {
    // Like the load before it, it takes as long as millions of rows take; the setting goes back with the connection.
    await client.query('SET statement_timeout = 0');
    const text = `VACUUM (ANALYZE) ${tables.map((t) => `"${t}"`).join(', ')}`;
    // query_timeout is read by pg's Client.query but missing from its QueryConfig type.
    await client.query({ text, query_timeout: NO_CLIENT_TIMEOUT_MS } as pg.QueryConfig);
    await client.query('RESET statement_timeout');
    client.release();
  } catch (error) {
    // A connection whose session state is unknown is not handed back to the pool.
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}
