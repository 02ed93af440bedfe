/**
 * What PgBouncer's transaction pooling needs of the service (docs/scaling.md#pgbouncer): a server
 * connection moves to another client after every transaction, so the API must leave nothing on
 * one between its transactions that it cannot do without. With a pool of one connection, every
 * request below (pages, OPTIONS, exports by COPY and by cursor, a token through Prisma) runs on the
 * same connection, which must then hold no cursor, session setting, advisory lock, temporary table
 * or LISTEN, and no named prepared statement but the list reads' own (db/prepared-statements.ts:
 * named by their text's hash, and given up, without a failed request, when a pooler loses them;
 * test/db/prepared-statements.test.ts). With DB_PREPARED_STATEMENTS=0, not even those.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenStore } from '../../src/auth/token-store.js';
import { statementName } from '../../src/db/prepared-statements.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { insertMany } from '../helpers/exports.js';

const LIST = '/api/v1/oms/customers/list-simple/';
let t: TestApp;
/** The same with DB_PREPARED_STATEMENTS=0. */
let unprepared: TestApp;

beforeAll(async () => {
  [t, unprepared] = await Promise.all([
    createTestApp({ config: { DB_POOL_MAX: 1 } }),
    createTestApp({ config: { DB_POOL_MAX: 1, DB_PREPARED_STATEMENTS: 0 } }),
  ]);
  await insertMany(t.db.pool, 300);
  await insertMany(unprepared.db.pool, 300);
});
afterAll(async () => {
  await t?.close();
  await unprepared?.close();
});

/**
 * Set anew by every BEGIN from default_transaction_* (which are checked), so they carry nothing into
 * the next transaction; their source stays that of the last SET TRANSACTION on the session, which
 * on a reused embedded test database may be another test file's (test/helpers/embedded-reuse.ts).
 */
const TRANSACTION_SETTINGS = `('transaction_isolation', 'transaction_read_only', 'transaction_deferrable')`;

/** Everything a connection can carry from one transaction into the next, but the list reads' named statements. */
async function sessionState(app: TestApp) {
  const { rows: statements } = await app.db.pool.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements');
  const others = statements.filter(({ name, statement }) => name !== statementName(statement)).map(({ name }) => ({ what: 'prepared statement', name }));
  const { rows } = await app.db.pool.query<{ what: string; name: string }>(`
    SELECT 'cursor' AS what, name FROM pg_cursors
    UNION ALL SELECT 'setting', name FROM pg_settings WHERE source = 'session' AND name NOT IN ${TRANSACTION_SETTINGS}
    UNION ALL SELECT 'advisory lock', objid::text FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
    UNION ALL SELECT 'temporary table', relname FROM pg_class WHERE relpersistence = 't'
    UNION ALL SELECT 'listen', channel FROM pg_listening_channels() AS channel`);
  return [...others, ...rows];
}

/** The list reads' own named statements on the connection. */
async function listStatements(app: TestApp): Promise<number> {
  const { rows } = await app.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'oms\\_%'`);
  return rows[0]!.n;
}

/** Every kind of request the API answers, on the app's one connection. */
async function everyKindOfRequest(app: TestApp): Promise<void> {
  const headers = { authorization: `Token ${app.token}` };
  const requests = [
    ['GET', `${LIST}?limit=20&page=3&sort=-modified_date`],
    ['GET', `${LIST}?email=customer7@example.com`],
    ['HEAD', LIST],
    ['OPTIONS', LIST],
    ['GET', `${LIST}?limit=all&format=csv`],
    ['GET', `${LIST}?limit=all&format=json`],
    ['GET', `${LIST}?limit=all&format=xlsx`],
  ] as const;
  for (const [method, url] of requests) {
    const res = await app.app.inject({ method, url, headers });
    expect(res.statusCode, `${method} ${url}`).toBe(200);
  }
  // Prisma (@prisma/adapter-pg) on the same pool: creating a token is a transaction of its own.
  await createTokenStore(app.db).create('pooled');
}

describe('the API between transactions', () => {
  it('leaves no session state on its connection but the list reads\' named statements', async () => {
    await everyKindOfRequest(t);
    expect(await sessionState(t)).toEqual([]);
    // The test database is reached by URL, embedded or not, so the reads name their statements.
    expect(await listStatements(t)).toBeGreaterThan(0);
  });

  it('with DB_PREPARED_STATEMENTS=0, not even those', async () => {
    await everyKindOfRequest(unprepared);
    expect(await sessionState(unprepared)).toEqual([]);
    expect(await listStatements(unprepared)).toBe(0);
  });

  it('would see a named prepared statement, the state PgBouncer 1.18 cannot carry', async () => {
    // The check above is only worth something if it notices one.
    const client = await t.db.pool.connect();
    try {
      await client.query({ name: 'named', text: 'SELECT 1' });
    } finally {
      client.release();
    }
    expect(await sessionState(t)).toEqual([{ what: 'prepared statement', name: 'named' }]);
    await t.db.pool.query('DEALLOCATE named');
  });
});
