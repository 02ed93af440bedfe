/**
 * Channels named only by id (customers point at channels the service does not manage): rows
 * `Channel <id>` are created for ids not yet in the table, so the foreign key holds. The seed and
 * the generator share this; the importer does the same in SQL from its staging table.
 */
import type pg from 'pg';

/** Creates `Channel <id>` for each distinct non-null id that has no channel; returns how many. */
export async function ensureChannels(client: pg.ClientBase | pg.Pool, ids: readonly (number | null)[]): Promise<number> {
  const { rowCount } = await client.query(
    `INSERT INTO channel (id, name)
     SELECT DISTINCT c, 'Channel ' || c FROM unnest($1::int[]) AS c WHERE c IS NOT NULL
     ON CONFLICT (id) DO NOTHING`,
    [ids],
  );
  return rowCount ?? 0;
}
