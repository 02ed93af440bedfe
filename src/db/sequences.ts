/**
 * Id sequences after rows were written with explicit ids (seed, generator, import): moved forward
 * past every id in use, never backwards, so the next generated id is fresh and no id that was
 * ever handed out (then deleted) is handed out again.
 */
import type pg from 'pg';
import { oneRow } from './one-row.js';

export type TableWithSerialId = 'channel' | 'customer';

/** The highest id in `table`, or null when it is empty. */
export async function maxId(client: pg.ClientBase | pg.Pool, table: TableWithSerialId): Promise<number | null> {
  const { rows } = await client.query<{ max: number | null }>(`SELECT max(id) AS max FROM ${table}`);
  return rows[0]?.max ?? null;
}

/** Moves `table`'s id sequence to `atLeast` (by default the table's highest id) unless it is already past it. */
export async function advanceIdSequence(client: pg.ClientBase | pg.Pool, table: TableWithSerialId, atLeast?: number | null): Promise<void> {
  const target = atLeast === undefined ? await maxId(client, table) : atLeast;
  if (target === null) return;
  const { name } = oneRow(await client.query<{ name: string | null }>(`SELECT pg_get_serial_sequence($1, 'id') AS name`, [table]));
  if (name === null) throw new Error(`${table}.id has no sequence`);
  // The name comes quoted from PostgreSQL itself.
  const state = oneRow(await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${name}`));
  const used = Number(state.last_value) - (state.is_called ? 0 : 1);
  if (target > used) await client.query('SELECT setval($1::regclass, $2)', [name, target]);
}
