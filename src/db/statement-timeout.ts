/**
 * Whether the server really applies DB_STATEMENT_TIMEOUT_MS to the API's connections.
 *
 * Directly on PostgreSQL it always does: db/pool.ts sends it as a startup parameter. Through
 * PgBouncer in transaction pooling it cannot: PgBouncer 1.18 refuses that parameter unless told to
 * ignore it (`ignore_startup_parameters = statement_timeout`), and then drops it, so the timeout
 * must come from the server's own default for the service's role or database (docs/scaling.md).
 * Nothing in the service can see that configuration but the setting itself, so the server asks
 * once at start-up, through the pool, and says so when they differ.
 */
import type pg from 'pg';

/** The statement_timeout a connection from `pool` runs with, in ms (0 = none). */
export async function effectiveStatementTimeoutMs(pool: pg.Pool): Promise<number> {
  // pg_settings gives the value in its base unit (ms), not as SHOW's '30s'.
  const { rows } = await pool.query<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name = 'statement_timeout'`);
  return Number(rows[0]?.setting ?? 0);
}

/** A warning for the log when the pool's connections run with another timeout than `expectedMs`; null when they agree. */
export async function statementTimeoutMismatch(pool: pg.Pool, expectedMs: number): Promise<string | null> {
  const actualMs = await effectiveStatementTimeoutMs(pool);
  if (actualMs === expectedMs) return null;
  return (
    `the database applies statement_timeout = ${actualMs} ms, not DB_STATEMENT_TIMEOUT_MS (${expectedMs} ms): ` +
    'behind a pooler that drops startup parameters (PgBouncer with ignore_startup_parameters), set it on the server, ' +
    `e.g. ALTER ROLE <role> IN DATABASE <db> SET statement_timeout = '${expectedMs}ms' (docs/scaling.md)`
  );
}
