/**
 * The pool's client arms query_timeout itself (src/db/read-timeout-client.ts): the same outcomes as
 * pg's own Client, compared side by side on a real server (a slow statement on the embedded
 * database blocks the process, timers included).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadTimeoutClient } from '../../src/db/read-timeout-client.js';
import { createPool } from '../../src/db/pool.js';
import { createTestDatabase, hasRealServer, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

type Outcome = string;
const outcome = (error: Error | null, result?: { rows: unknown[] }): Outcome =>
  error ? `error: ${error.message}` : `rows: ${JSON.stringify(result?.rows)}`;

/** Two queries queued on one client with query_timeout 100 ms: a slow one, and one behind it. */
async function slowThenQueued(client: pg.Client): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const settled = (name: string) =>
    new Promise<void>((resolve) => {
      const statement = name === 'slow' ? 'SELECT pg_sleep(0.4) AS slept' : 'SELECT 2 AS n';
      client.query(statement, (error: Error | null, result?: pg.QueryResult) => {
        outcomes.push(`${name} ${outcome(error, result)}`);
        resolve();
      });
    });
  await Promise.all([settled('slow'), settled('queued')]);
  // The slow statement finishes on the server afterwards; the client is usable again after it.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = await client.query('SELECT 3 AS n');
  outcomes.push(`after ${outcome(null, after)}`);
  return outcomes;
}

describe.skipIf(!hasRealServer())('query_timeout on the pool\'s client', () => {
  it('answers a slow query and the one queued behind it as pg\'s own Client does', async () => {
    const results: Outcome[][] = [];
    for (const Client of [pg.Client, ReadTimeoutClient]) {
      const client = new Client({ connectionString: database.url, query_timeout: 100 });
      await client.connect();
      try {
        results.push(await slowThenQueued(client));
      } finally {
        await client.end();
      }
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[1]).toEqual([
      'slow error: Query read timeout',
      'queued error: Query read timeout',
      'after rows: [{"n":3}]',
    ]);
  });

  it('a pool query past the timeout fails at once and its connection is discarded', async () => {
    const pool = createPool({ url: database.url, max: 1, statementTimeoutMs: 0, connectTimeoutMs: 5_000, queryTimeoutMs: 100 });
    try {
      const started = performance.now();
      await expect(pool.query('SELECT pg_sleep(1)')).rejects.toThrow('Query read timeout');
      expect(performance.now() - started).toBeLessThan(900);
      await expect.poll(() => pool.totalCount).toBe(0);
      // A quick query answers, and its timer never fires later.
      expect((await pool.query({ text: 'SELECT $1::int AS n', values: [7], rowMode: 'array' })).rows).toEqual([[7]]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await pool.query('SELECT 8 AS n')).rows).toEqual([{ n: 8 }]);
    } finally {
      await pool.end();
    }
  });

  it('a per-query query_timeout applies, and queries with no timeout at all go to pg as they are', async () => {
    const client = new ReadTimeoutClient({ connectionString: database.url });
    await client.connect();
    try {
      const error = await new Promise<Error | null>((resolve) => {
        client.query({ text: 'SELECT pg_sleep(0.4)', query_timeout: 100 } as pg.QueryConfig, (e: Error | null) => resolve(e));
      });
      expect(error?.message).toBe('Query read timeout');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await client.query('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
    } finally {
      await client.end();
    }
  });
});
