/**
 * Embedded test databases reused within a vitest worker (test/helpers/database.ts,
 * test/helpers/embedded-reuse.ts): what one file did to its database must never
 * reach the next file. A database reused after its reset must equal a newly
 * loaded copy of the template; one whose schema, roles or settings changed must
 * not be reused at all.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { createMigratedTestDatabase, createTestDatabase, createTestPool, embeddedReuse, hasRealServer, type TestDatabase } from '../helpers/database.js';

/** Everything a test can see in a database and its session, as plain values. */
async function observe(database: TestDatabase) {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const one = async (sql: string) => (await client.query(sql)).rows;
    const tables = (await one(`SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
                                WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)).map((r) => r.name as string);
    const rows: Record<string, unknown[]> = {};
    for (const table of tables) rows[table] = await one(`SELECT * FROM ${table} ORDER BY 1`);
    const sequences: Record<string, unknown[]> = {};
    for (const { name } of await one(`SELECT format('%I.%I', schemaname, sequencename) AS name FROM pg_sequences ORDER BY 1`)) {
      sequences[name] = await one(`SELECT last_value, is_called FROM ${name}`);
    }
    return {
      rows,
      sequences,
      columns: await one(`SELECT table_name, column_name, data_type, column_default FROM information_schema.columns
                           WHERE table_schema = 'public' ORDER BY 1, 2`),
      indexes: await one(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`),
      triggers: await one(`SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`),
      roles: await one(`SELECT rolname, rolsuper, rolcanlogin FROM pg_roles ORDER BY 1`),
      databaseSettings: await one(`SELECT setdatabase, setrole, setconfig FROM pg_db_role_setting ORDER BY 1, 2`),
      session: await one(`
        SELECT 'setting' AS what, name || '=' || setting AS name FROM pg_settings WHERE source NOT IN ('default', 'override')
        UNION ALL SELECT 'prepared statement', name FROM pg_prepared_statements
        UNION ALL SELECT 'advisory lock', objid::text FROM pg_locks WHERE locktype = 'advisory'
        UNION ALL SELECT 'temporary table', relname FROM pg_class WHERE relpersistence = 't'
        UNION ALL SELECT 'listen', channel FROM pg_listening_channels() AS channel
        UNION ALL SELECT 'user', current_user ORDER BY 1, 2`),
    };
  } finally {
    await client.end();
  }
}

/** Runs `statements` on `database` through a client of its own. */
async function run(database: TestDatabase, ...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

describe.skipIf(hasRealServer())('a reused embedded test database', () => {
  it('equals a fresh copy of the template after a file changed its rows, sequences and session, and left a transaction open', async () => {
    const used = await createMigratedTestDatabase();
    await run(
      used,
      `INSERT INTO channel (name) VALUES ('web')`,
      `INSERT INTO customer (omnitron_id, email, channel_id) SELECT g, 'c' || g || '@example.com', 1 FROM generate_series(1, 300) g`,
      `UPDATE customer SET first_name = 'changed' WHERE id <= 10`,
      `DELETE FROM customer WHERE id > 290`,
      `INSERT INTO api_user (username) VALUES ('someone')`,
      `UPDATE _prisma_migrations SET logs = 'edited'`,
      `UPDATE customer_version SET n = n + 5`,
      `SELECT setval('customer_id_seq', 9000)`,
    );
    expect((await observe(used)).rows['public.customer']).toHaveLength(290);
    // One session (PGlite): what this client sets stays after it disconnects, unless reset.
    const left = new pg.Client({ connectionString: used.url });
    left.on('error', () => undefined); // its socket is closed under it by drop()
    await left.connect();
    await left.query(`SET work_mem = '7MB'`);
    await left.query(`PREPARE leftover AS SELECT 1`);
    await left.query(`SELECT pg_advisory_lock(42)`);
    await left.query(`LISTEN leftover`);
    await left.query(`SET default_transaction_isolation = 'serializable'`);
    await left.query(`BEGIN`);
    await left.query(`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`);
    // Left open: nothing else reaches this session until drop() ends the connection.
    await left.query(`INSERT INTO customer (omnitron_id, email) VALUES (1, 'uncommitted@example.com')`);

    const reusedBefore = embeddedReuse.reused;
    await used.drop();
    const next = await createMigratedTestDatabase();
    const fresh = await createMigratedTestDatabase({ reusable: false });
    try {
      expect(embeddedReuse.reused, 'the next database is the dropped one').toBe(reusedBefore + 1);
      const [seen, expected] = [await observe(next), await observe(fresh)];
      expect(seen).toEqual(expected);
      // What a fresh copy holds, so the comparison above is not between two empty results.
      expect(expected.rows['public._prisma_migrations']!.length).toBeGreaterThan(0);
      expect(expected.rows['public.customer_version']).toHaveLength(32);
      expect(expected.rows['public.customer']).toEqual([]);
      expect(expected.sequences['public.customer_id_seq']).toEqual([{ last_value: '1', is_called: false }]);
      // The restored rows are live: the triggers and the sequence work on from the template's state.
      await run(next, `INSERT INTO customer (omnitron_id, email) VALUES (1, 'first@example.com')`);
      const after = await observe(next);
      expect(after.rows['public.customer']).toMatchObject([{ id: 1, email: 'first@example.com' }]);
      expect(after.rows['public.customer_count']).toMatchObject([{ n: '1' }]);
    } finally {
      await next.drop();
      await fresh.drop();
    }
  });

  it('takes an unmigrated database its file migrated for the next migrated one, as it then equals the template', async () => {
    const unmigrated = await createTestDatabase();
    const pool = createTestPool(unmigrated);
    await migrate(pool);
    await pool.end();
    const reusedBefore = embeddedReuse.reused;
    await unmigrated.drop();
    const next = await createMigratedTestDatabase();
    const fresh = await createMigratedTestDatabase({ reusable: false });
    try {
      expect(embeddedReuse.reused).toBe(reusedBefore + 1);
      expect(await observe(next)).toEqual(await observe(fresh));
    } finally {
      await next.drop();
      await fresh.drop();
    }
  });

  // Each kind of change is named by the part of the check that sees it. All of them on one database,
  // which costs one new load instead of one per kind: the check reports every part that differs.
  const changes = [
    ['a column added', 'ALTER TABLE customer ADD COLUMN leaked integer', 'pg_catalog.pg_attribute'],
    ['an index added', 'CREATE INDEX leaked ON customer (email)', 'pg_catalog.pg_index'],
    ['a trigger disabled', 'ALTER TABLE customer DISABLE TRIGGER customer_version_bump', 'pg_catalog.pg_trigger'],
    ['a role created', 'CREATE ROLE leaked', 'pg_catalog.pg_authid'],
    ['a database setting', `ALTER DATABASE postgres SET work_mem = '7MB'`, 'pg_catalog.pg_db_role_setting'],
    ['a system function granted', 'GRANT EXECUTE ON FUNCTION pg_catalog.pg_sleep(double precision) TO PUBLIC', 'pg_catalog.pg_proc'],
    ['statistics gathered', `INSERT INTO customer (omnitron_id, email) VALUES (1, 'a@example.com'); ANALYZE customer`, 'pg_catalog.pg_statistic'],
  ] as const;

  it(`is not reused after ${changes.map(([what]) => what).join(', ')}: it is closed, and the next file gets a clean copy`, async () => {
    const used = await createMigratedTestDatabase();
    const before = await observe(used);
    await run(used, ...changes.map(([, change]) => change));
    const { discarded } = embeddedReuse;
    const discardedBefore = discarded.length;
    const idleBefore = embeddedReuse.idle;
    await used.drop();
    expect(discarded).toHaveLength(discardedBefore + 1);
    for (const [what, , part] of changes) expect(discarded.at(-1), what).toContain(part);
    // Not kept for the next file, though there is room (`used` was an idle one, or none was idle): closed.
    expect(embeddedReuse.idle).toBe(idleBefore);
    const next = await createMigratedTestDatabase();
    try {
      expect(await observe(next)).toEqual(before);
    } finally {
      await next.drop();
    }
  });

  it('is out of reach of a client of the file that dropped it: each file gets a port of its own', async () => {
    const database = await createMigratedTestDatabase();
    await database.drop();
    const next = await createMigratedTestDatabase();
    try {
      expect(next.url).not.toBe(database.url);
      const stale = new pg.Client({ connectionString: database.url, connectionTimeoutMillis: 5_000 });
      await expect(stale.connect()).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await next.drop();
    }
  });
});
