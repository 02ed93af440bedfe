/**
 * The customer table's database-side behaviour, from migration
 * 20261127000100_customer_triggers: Django-style timestamps, the exact
 * customer_count, and microsecond-exact timestamptz round trips.
 */
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { drfTimestampSql } from '../../src/lib/timestamp.js';
import { createMigratedTestDatabase, createTestPool, hasRealServer, inTransaction, type TestDatabase } from '../helpers/database.js';
import { counts } from '../helpers/fixtures.js';

/** Microsecond-exact UTC text, to compare timestamps the triggers set. */
const UTC_TEXT = `'YYYY-MM-DD"T"HH24:MI:SS.US'`;


let database: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  pool = createTestPool(database, 10);
});
afterAll(async () => {
  await pool.end();
  await database.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE customer RESTART IDENTITY');
});

async function insertCustomer(created = '2020-01-02T03:04:05.123456Z', modified = created): Promise<number> {
  const result = await pool.query<{ id: number }>(
    `INSERT INTO customer (omnitron_id, email, created_date, modified_date) VALUES (1, 'a@example.com', $1, $2) RETURNING id`,
    [created, modified],
  );
  return result.rows[0]!.id;
}

async function timestamps(id: number): Promise<{ created: string; modified: string }> {
  const result = await pool.query(
    `SELECT to_char(created_date AT TIME ZONE 'UTC', ${UTC_TEXT}) AS created,
            to_char(modified_date AT TIME ZONE 'UTC', ${UTC_TEXT}) AS modified
       FROM customer WHERE id = $1`,
    [id],
  );
  return result.rows[0];
}

describe('customer_touch_modified_date trigger', () => {
  it('sets modified_date to now() on update and never changes created_date', async () => {
    const id = await insertCustomer();
    const { stamped } = await inTransaction(pool, async (client) => {
      const updated = await client.query(
        `UPDATE customer SET email = 'b@example.com', created_date = '1999-01-01Z', modified_date = '1999-01-01Z'
          WHERE id = $1 RETURNING modified_date = now() AS stamped`,
        [id],
      );
      return updated.rows[0];
    });
    expect(stamped).toBe(true);
    expect((await timestamps(id)).created).toBe('2020-01-02T03:04:05.123456');
  });

  it('keeps the given values while oms.preserve_timestamps is on (SET LOCAL), and only then', async () => {
    const id = await insertCustomer();
    await inTransaction(pool, async (client) => {
      await client.query(`SET LOCAL oms.preserve_timestamps = 'on'`);
      await client.query(
        `UPDATE customer SET created_date = '2019-05-06T07:08:09.000001Z', modified_date = '2019-05-06T07:08:09.999999Z'
          WHERE id = $1`,
        [id],
      );
    });
    expect(await timestamps(id)).toEqual({ created: '2019-05-06T07:08:09.000001', modified: '2019-05-06T07:08:09.999999' });

    await pool.query(`UPDATE customer SET email = 'c@example.com' WHERE id = $1`, [id]);
    const after = await timestamps(id);
    expect(after.created).toBe('2019-05-06T07:08:09.000001');
    expect(after.modified > '2020').toBe(true);
  });

  it("treats any value other than 'on' as off", async () => {
    const id = await insertCustomer();
    await inTransaction(pool, async (client) => {
      await client.query(`SET LOCAL oms.preserve_timestamps = 'off'`);
      await client.query(`UPDATE customer SET created_date = '1999-01-01Z' WHERE id = $1`, [id]);
    });
    const after = await timestamps(id);
    expect(after.created).toBe('2020-01-02T03:04:05.123456');
    expect(after.modified > '2020-01-02T03:04:05.123456').toBe(true);
  });
});

describe('customer_count', () => {
  it('holds a single row', async () => {
    expect((await pool.query('SELECT id, n::text FROM customer_count')).rows).toEqual([{ id: true, n: '0' }]);
    await expect(pool.query('INSERT INTO customer_count (id, n) VALUES (false, 0)')).rejects.toThrow(/customer_count_single_row/);
  });

  it('follows single and multi-row inserts, deletes, updates and truncate', async () => {
    await insertCustomer();
    expect(await counts(pool)).toEqual({ n: 1, actual: 1 });
    await pool.query(`INSERT INTO customer (omnitron_id, email) SELECT g, 'x' || g FROM generate_series(1, 250) g`);
    expect(await counts(pool)).toEqual({ n: 251, actual: 251 });
    await pool.query(`DELETE FROM customer WHERE id % 3 = 0`);
    expect(await counts(pool)).toEqual({ n: 168, actual: 168 });
    await pool.query(`DELETE FROM customer WHERE id < 0`);
    await pool.query(`UPDATE customer SET email = 'y'`);
    expect(await counts(pool)).toEqual({ n: 168, actual: 168 });
    await pool.query('TRUNCATE customer');
    expect(await counts(pool)).toEqual({ n: 0, actual: 0 });
  });

  it('ignores work that is rolled back', async () => {
    await insertCustomer();
    await expect(
      inTransaction(pool, async (client) => {
        await client.query(`INSERT INTO customer (omnitron_id, email) SELECT g, 'x' FROM generate_series(1, 5) g`);
        await client.query('TRUNCATE customer');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await counts(pool)).toEqual({ n: 1, actual: 1 });
  });

  it.skipIf(!hasRealServer())(
    'stays equal to COUNT(*) under concurrent transactions (real server only: embedded PGlite runs one transaction at a time)',
    async () => {
      await pool.query(`INSERT INTO customer (omnitron_id, email) SELECT g, 'seed' FROM generate_series(1, 200) g`);
      const worker = async (seed: number): Promise<void> => {
        for (let round = 0; round < 12; round++) {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query(`INSERT INTO customer (omnitron_id, email) SELECT g, 'w' FROM generate_series(1, $1::int) g`, [
              1 + ((seed * 7 + round) % 9),
            ]);
            await client.query(`DELETE FROM customer WHERE id IN (SELECT id FROM customer ORDER BY random() LIMIT $1)`, [
              (seed + round) % 6,
            ]);
            if (seed === 3 && round === 6) await client.query('TRUNCATE customer');
            await client.query((seed + round) % 4 === 0 ? 'ROLLBACK' : 'COMMIT');
          } catch (error) {
            // A deadlock victim is rolled back whole, which the count must survive too.
            if ((error as pg.DatabaseError).code !== '40P01') throw error;
            await client.query('ROLLBACK');
          } finally {
            client.release();
          }
        }
      };
      await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(worker));
      const final = await counts(pool);
      expect(final.n).toBe(final.actual);
    },
  );
});

describe('timestamptz round trip', () => {
  it("keeps microseconds when selected as DRF's text (drfTimestampSql), whatever the session time zone", async () => {
    const values = [
      ['2026-11-27T00:00:00.000001Z', '2026-11-27T00:00:00.000001Z'],
      ['2021-03-04T10:36:07.123456+05:30', '2021-03-04T05:06:07.123456Z'],
      ['1999-12-31T23:59:59.999999Z', '1999-12-31T23:59:59.999999Z'],
      ['2023-10-06T08:42:53.42705Z', '2023-10-06T08:42:53.427050Z'],
      // isoformat() leaves the fraction out when the microseconds are zero.
      ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00Z'],
      ['2021-05-26T22:20:20+03:00', '2021-05-26T19:20:20Z'],
      ['0005-01-01T00:00:00.5Z', '0005-01-01T00:00:00.500000Z'],
    ] as const;
    const ids: number[] = [];
    for (const [input] of values) ids.push(await insertCustomer(input));
    const selected = await inTransaction(pool, async (client) => {
      // An offset with minutes (+05:45), where a careless truncation to the second could slip.
      await client.query(`SET LOCAL TIME ZONE 'Asia/Kathmandu'`);
      const result = await client.query(
        `SELECT ${drfTimestampSql('created_date')} AS text FROM customer WHERE id = ANY($1) ORDER BY id`,
        [ids],
      );
      return result.rows.map((row) => row.text);
    });
    expect(selected).toEqual(values.map(([, output]) => output));
  });
});
