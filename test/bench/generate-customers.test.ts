/**
 * The synthetic customer generator (bench/generate-customers.ts): the same
 * seed gives the same rows, the data looks like the original's customers, and
 * customer_count stays exact however the rows arrive.
 */
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateCustomers, type GenerateOptions } from '../../bench/generate-customers.js';
import { createMigratedTestDatabase, createTestPool, hasRealServer, type TestDatabase } from '../helpers/database.js';
import { counts, summaryDrift } from '../helpers/fixtures.js';
import { WAIT } from '../helpers/wait.js';

const COUNT = 3000;

let database: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  pool = createTestPool(database, 6);
});
afterAll(async () => {
  await pool.end();
  await database.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE customer RESTART IDENTITY');
});

/** COPY cannot go through the embedded server's socket; the tests take the path the CLI would. */
const generate = (options: Omit<GenerateOptions, 'method'> & { method?: GenerateOptions['method'] }) =>
  generateCustomers(pool, { method: database.embedded ? 'insert' : 'copy', ...options });

/** One hash over every column of every row, timestamps to the microsecond. */
async function digest(): Promise<string> {
  const { rows } = await pool.query<{ digest: string }>(
    `SELECT md5(string_agg(concat_ws('|', id, to_char(created_date AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
                                     to_char(modified_date AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), omnitron_id,
                                     email, first_name, last_name, coalesce(phone_number, '∅'), coalesce(erp_code, '∅'),
                                     channel_id), E'\\n' ORDER BY id)) AS digest
       FROM customer`,
  );
  return rows[0]!.digest;
}

async function indexDefinitions(): Promise<string[]> {
  const { rows } = await pool.query<{ def: string }>(`SELECT indexdef AS def FROM pg_indexes WHERE tablename = 'customer' ORDER BY indexname`);
  return rows.map((r) => r.def);
}

describe('generateCustomers determinism', () => {
  it('gives identical rows for the same seed and different rows for another seed', async () => {
    await generate({ count: COUNT, seed: 42 });
    const first = await digest();
    await generate({ count: COUNT, seed: 42, replace: true });
    expect(await digest()).toBe(first);
    await generate({ count: COUNT, seed: 43, replace: true });
    expect(await digest()).not.toBe(first);
  });

  it.runIf(hasRealServer())('writes the same rows through COPY and through unnest inserts', async () => {
    await generate({ count: COUNT, seed: 7, method: 'copy' });
    const copied = await digest();
    await generate({ count: COUNT, seed: 7, method: 'insert', replace: true });
    expect(await digest()).toBe(copied);
  });
});

describe('generateCustomers data', () => {
  it('has ~20% null phones and erp codes, channels 1–5, non-ASCII names and shared modified dates', async () => {
    await generate({ count: COUNT, seed: 5 });
    const { rows } = await pool.query(`
      SELECT count(*)::int AS total,
             avg((phone_number IS NULL)::int)::float AS phone_null,
             avg((erp_code IS NULL)::int)::float AS erp_null,
             array_agg(DISTINCT channel_id ORDER BY channel_id) AS channels,
             avg((first_name || last_name ~ '[^\\x01-\\x7f]')::int)::float AS non_ascii,
             bool_or(first_name || last_name ~ '[çğıİöşüÇĞŞÖÜ]') AS turkish,
             count(DISTINCT modified_date)::int AS distinct_modified,
             bool_and(modified_date >= created_date) AS modified_after_created,
             count(DISTINCT email)::int AS distinct_emails,
             bool_and(email ~ '^[a-z.]+\\.[0-9]+@[a-z.]+$') AS ascii_emails
        FROM customer`);
    const stats = rows[0];
    expect(stats.total).toBe(COUNT);
    expect(stats.phone_null).toBeGreaterThan(0.15);
    expect(stats.phone_null).toBeLessThan(0.25);
    expect(stats.erp_null).toBeGreaterThan(0.15);
    expect(stats.erp_null).toBeLessThan(0.25);
    expect(stats.channels).toEqual([1, 2, 3, 4, 5]);
    expect(stats.non_ascii).toBeGreaterThan(0.3);
    expect(stats.turkish).toBe(true);
    expect(stats.modified_after_created).toBe(true);
    expect(stats.distinct_emails).toBe(COUNT);
    expect(stats.ascii_emails).toBe(true);
    // About a fifth of the rows are bulk-updated, a block of 1000 ids at one instant.
    expect(stats.distinct_modified).toBeLessThan(COUNT * 0.9);
    const shared = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM customer GROUP BY modified_date ORDER BY n DESC LIMIT 1');
    expect(shared.rows[0]!.n).toBeGreaterThanOrEqual(100);
  });

  it('appends after the highest id and moves the id sequence past it', async () => {
    const first = await generate({ count: 100, seed: 1 });
    const second = await generate({ count: 50, seed: 2 });
    expect([first.firstId, first.lastId, second.firstId, second.lastId]).toEqual([1, 100, 101, 150]);
    const { rows } = await pool.query<{ id: number }>(`INSERT INTO customer (omnitron_id, email) VALUES (1, 'x@example.com') RETURNING id`);
    expect(rows[0]!.id).toBe(151);
  });
});

describe('generateCustomers and customer_count', () => {
  it('keeps the count and the block and day summaries exact on the plain path and on the drop-and-rebuild-indexes path, restoring every index', async () => {
    const before = await indexDefinitions();
    await generate({ count: 500, seed: 1 });
    expect(await counts(pool)).toEqual({ n: 500, actual: 500 });
    await generate({ count: 700, seed: 2, rebuildIndexesFrom: 1 });
    expect(await counts(pool)).toEqual({ n: 1200, actual: 1200 });
    expect(await summaryDrift(pool)).toEqual([]);
    expect(await indexDefinitions()).toEqual(before);
    await generate({ count: 300, seed: 3, replace: true });
    expect(await counts(pool)).toEqual({ n: 300, actual: 300 });
    expect(await summaryDrift(pool)).toEqual([]);
  });

  it('leaves nothing behind when the load fails', async () => {
    const before = await indexDefinitions();
    await generate({ count: 100, seed: 1 });
    await expect(generate({ count: Number.NaN })).rejects.toThrow(/count/);
    await pool.query('ALTER TABLE customer ADD CONSTRAINT tmp_no_bulk CHECK (id <= 150)');
    try {
      await expect(generate({ count: 100, seed: 2, rebuildIndexesFrom: 1 })).rejects.toThrow();
    } finally {
      await pool.query('ALTER TABLE customer DROP CONSTRAINT tmp_no_bulk');
    }
    expect(await counts(pool)).toEqual({ n: 100, actual: 100 });
    expect(await indexDefinitions()).toEqual(before);
  });

  it.runIf(hasRealServer())('stays exact while other connections insert and delete concurrently', async () => {
    await generate({ count: 200, seed: 1 });
    let stop = false;
    let writes = 0;
    const writer = async (n: number) => {
      for (let i = 0; !stop; i++, writes++) {
        if (i % 3 === 2) await pool.query('DELETE FROM customer WHERE id = (SELECT min(id) FROM customer)');
        else await pool.query(`INSERT INTO customer (omnitron_id, email) VALUES ($1, 'w@example.com')`, [n]);
      }
    };
    const writers = [writer(1), writer(2), writer(3)];
    // The writers are under way before and still after the generator runs.
    await vi.waitFor(() => expect(writes).toBeGreaterThanOrEqual(10), WAIT);
    await generate({ count: 5000, seed: 9 });
    await generate({ count: 2000, seed: 10, rebuildIndexesFrom: 1 });
    const after = writes;
    await vi.waitFor(() => expect(writes).toBeGreaterThanOrEqual(after + 10), WAIT);
    stop = true;
    await Promise.all(writers);
    const { n, actual } = await counts(pool);
    expect(n).toBe(actual);
    expect(actual).toBeGreaterThan(7000);
  });
});
