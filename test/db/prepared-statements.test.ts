/**
 * Named prepared statements for list reads (src/db/prepared-statements.ts, DB_PREPARED_STATEMENTS):
 * parsed once per connection, at most so many per connection, and switched off without a failed
 * request when the server side does not keep them (PgBouncer before 1.21 in transaction pooling,
 * played here by dropping or planting the statement behind the client's back). Real server only:
 * the embedded database names nothing (one PGlite session shared by every command).
 */
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { createPool, PREPARED_STATEMENTS_OFF } from '../../src/db/pool.js';
import { prepared, statementName } from '../../src/db/prepared-statements.js';
import { createTestDatabase, hasRealServer, type TestDatabase } from '../helpers/database.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('statement names', () => {
  const sha1Name = (text: string) => `oms_${createHash('sha1').update(text).digest('hex')}`;

  it('are the SHA-1 of the text, for texts met again, texts of one length that differ, and more texts than are kept', () => {
    // Short texts over two letters: many of one length, many repeats; more distinct texts than the
    // 512 kept, and more of one length than the 8 kept per length.
    const text = fc.stringMatching(/^SELECT [ab]{1,10}$/);
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 1_500 }), (texts) => {
        for (const t of texts) expect(statementName(t)).toBe(sha1Name(t));
      }),
      { numRuns: 30 },
    );
  });

  it('of a text built anew (a rope, as a list statement\'s text is) are the same as of the flat text', () => {
    const parts = ['SELECT ', 'n', ' FROM ', 'customer_count'];
    const flat = parts.join('');
    expect(statementName(flat)).toBe(sha1Name(flat));
    expect(statementName(parts.reduce((a, b) => a + b, ''))).toBe(sha1Name(flat));
    expect(statementName(`${flat.slice(0, -1)}x`)).toBe(sha1Name(`${flat.slice(0, -1)}x`));
  });
});

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const pools: pg.Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()));
});

/** A pool of one connection, so that every query meets the same session. */
function onePool(preparedStatements: number): pg.Pool {
  const pool = createPool({ url: database.url, max: 1, statementTimeoutMs: 5_000, connectTimeoutMs: 5_000, preparedStatements });
  pools.push(pool);
  return pool;
}

const statement = (n: number) => ({ text: `SELECT $1::int + ${n} AS n`, values: [1] });

async function preparedOn(pool: pg.Pool): Promise<{ name: string; statement: string; runs: number }[]> {
  const { rows } = await pool.query<{ name: string; statement: string; runs: number }>(
    'SELECT name, statement, (generic_plans + custom_plans)::int AS runs FROM pg_prepared_statements ORDER BY name',
  );
  return rows;
}

function switchOffs(pool: pg.Pool): Error[] {
  const seen: Error[] = [];
  (pool as EventEmitter).on(PREPARED_STATEMENTS_OFF, (error: Error) => seen.push(error));
  return seen;
}

describe.skipIf(!hasRealServer())('named prepared statements for list reads', () => {
  it('a marked read is parsed once per connection under its text\'s hash, and run from it after', async () => {
    const pool = onePool(4);
    for (let i = 0; i < 3; i++) expect((await pool.query(prepared(statement(1)))).rows).toEqual([{ n: 2 }]);
    expect(await preparedOn(pool)).toEqual([{ name: statementName(statement(1).text), statement: statement(1).text, runs: 3 }]);
  });

  it('names a marked read on a checked-out client too, promise or callback', async () => {
    const pool = onePool(4);
    const client = await pool.connect();
    try {
      expect((await client.query(prepared(statement(7)))).rows).toEqual([{ n: 8 }]);
      const viaCallback = await new Promise((resolve, reject) =>
        client.query(prepared(statement(8)), (error: Error | null, result?: pg.QueryResult) => (error ? reject(error) : resolve(result!.rows))),
      );
      expect(viaCallback).toEqual([{ n: 9 }]);
    } finally {
      client.release();
    }
    expect((await preparedOn(pool)).map((row) => row.statement).sort()).toEqual([statement(7).text, statement(8).text].sort());
  });

  it('names nothing that is not marked, and nothing with 0', async () => {
    const unmarked = onePool(4);
    await unmarked.query(statement(1));
    expect(await preparedOn(unmarked)).toEqual([]);
    const off = onePool(0);
    await off.query(prepared(statement(1)));
    expect(await preparedOn(off)).toEqual([]);
  });

  it('names at most DB_PREPARED_STATEMENTS statements per connection; the rest still run, unnamed', async () => {
    const pool = onePool(2);
    for (const n of [1, 2, 3, 1, 3]) expect((await pool.query(prepared(statement(n)))).rows).toEqual([{ n: 1 + n }]);
    expect((await preparedOn(pool)).map((row) => row.statement)).toEqual(
      [statement(1).text, statement(2).text].sort((a, b) => statementName(a).localeCompare(statementName(b))),
    );
  });

  it('a statement the server no longer has (a pooler\'s other session) is run again unnamed, and the pool names nothing after', async () => {
    const pool = onePool(4);
    const offs = switchOffs(pool);
    await pool.query(prepared(statement(1)));
    await pool.query('DEALLOCATE ALL'); // behind pg's back: it still takes the statement for parsed
    expect((await pool.query(prepared(statement(1)))).rows).toEqual([{ n: 2 }]);
    expect(offs.map((error) => (error as { code?: string }).code)).toEqual(['26000']);
    expect((await pool.query(prepared(statement(2)))).rows).toEqual([{ n: 3 }]);
    expect(await preparedOn(pool)).toEqual([]);
  });

  it('a name the server already has (another client\'s statement, through a pooler) switches naming off the same way', async () => {
    const pool = onePool(4);
    const offs = switchOffs(pool);
    const { text } = statement(5);
    await pool.query(`PREPARE ${statementName(text)} AS ${text}`);
    expect((await pool.query(prepared(statement(5)))).rows).toEqual([{ n: 6 }]);
    expect(offs.map((error) => (error as { code?: string }).code)).toEqual(['42P05']);
  });

  it('any other error reaches the caller as it is, and naming stays on', async () => {
    const pool = onePool(4);
    const offs = switchOffs(pool);
    await expect(pool.query(prepared({ text: 'SELECT 1 / $1::int AS n', values: [0] }))).rejects.toMatchObject({ code: '22012' });
    expect(offs).toEqual([]);
    expect((await pool.query(prepared({ text: 'SELECT 1 / $1::int AS n', values: [1] }))).rows).toEqual([{ n: 1 }]);
    expect((await preparedOn(pool)).map((row) => row.name)).toEqual([statementName('SELECT 1 / $1::int AS n')]);
    // A statement the server cannot parse fails the same way each time (pg forgets a name whose Parse failed), and is not taken for a pooler's loss.
    for (let i = 0; i < 2; i++) await expect(pool.query(prepared({ text: 'SELEC $1::int AS n', values: [1] }))).rejects.toMatchObject({ code: '42601' });
    expect(offs).toEqual([]);
  });

  it('a server URL names DB_PREPARED_STATEMENTS per connection (32 by default)', async () => {
    expect(defaultConfig({}).DB_PREPARED_STATEMENTS).toBe(32);
    const db = await openDatabase(defaultConfig({ DATABASE_URL: database.url, DB_POOL_MAX: 1, DB_PREPARED_STATEMENTS: 3 }));
    try {
      for (const n of [1, 2, 3, 4]) await db.pool.query(prepared(statement(n)));
      expect(await preparedOn(db.pool)).toHaveLength(3);
    } finally {
      await db.close();
    }
  });
});

describe.skipIf(!hasRealServer())('page 1 through the service', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ config: { DB_POOL_MAX: 1 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is planned once (a generic plan) after PostgreSQL\'s five custom plans, not on every request', async () => {
    for (let i = 0; i < 12; i++) {
      const response = await t.app.inject({ url: '/api/v1/oms/customers/list-simple/', headers: { authorization: `Token ${t.token}` } });
      expect(response.statusCode).toBe(200);
    }
    // The first request's statement counts; the next ones reuse the count kept for the data version (another text).
    const { rows } = await t.db.pool.query<{ generic_plans: number; custom_plans: number }>(
      `SELECT generic_plans::int, custom_plans::int FROM pg_prepared_statements WHERE statement LIKE '%FROM "customer"%'
        ORDER BY generic_plans + custom_plans DESC LIMIT 1`,
    );
    expect(rows[0]).toEqual({ custom_plans: 5, generic_plans: 6 });
  });
});
