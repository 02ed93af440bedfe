/** Id sequences after explicit-id writes: forward past every id in use, never backwards. */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advanceIdSequence } from '../../src/db/sequences.js';
import { ensureChannels } from '../../src/customers/channels.js';
import { createMigratedTestDatabase, createTestPool, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await createMigratedTestDatabase();
  pool = createTestPool(database);
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

const nextChannelId = async () =>
  Number((await pool.query(`SELECT nextval(pg_get_serial_sequence('channel', 'id')) AS id`)).rows[0].id);

describe('advanceIdSequence and ensureChannels', () => {
  it('creates each missing channel once, moves the sequence past explicit ids, and never back', async () => {
    expect(await ensureChannels(pool, [7, null, 7, 3])).toBe(2);
    expect(await ensureChannels(pool, [3])).toBe(0);
    expect((await pool.query('SELECT id, name FROM channel ORDER BY id')).rows).toEqual([
      { id: 3, name: 'Channel 3' },
      { id: 7, name: 'Channel 7' },
    ]);
    await advanceIdSequence(pool, 'channel');
    expect(await nextChannelId()).toBe(8);
    // After the highest row is deleted, ids already handed out are not handed out again.
    await pool.query('DELETE FROM channel WHERE id >= 7');
    await advanceIdSequence(pool, 'channel');
    expect(await nextChannelId()).toBe(9);
    // An explicit floor (an import's own ids) moves it further.
    await advanceIdSequence(pool, 'channel', 20);
    expect(await nextChannelId()).toBe(21);
  });
});
