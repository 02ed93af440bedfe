/**
 * Whether a connection can run COPY … FROM STDIN / TO STDOUT. A real PostgreSQL can; PGlite's
 * socket server has no COPY sub-protocol (a COPY there breaks the connection), so imports stage
 * rows with INSERTs and exports read through a cursor there. Asked of the server, not the
 * configuration, since DATABASE_URL may name a PGlite socket server too.
 */
import type pg from 'pg';

export async function copySupported(client: pg.ClientBase | pg.Pool): Promise<boolean> {
  const { rows } = await client.query<{ version: string }>('SELECT version()');
  return !/PGlite/i.test(rows[0]?.version ?? '');
}
