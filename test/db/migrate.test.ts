/**
 * The offline migration runner (src/db/migrate.ts) against Prisma's own
 * conventions: `_prisma_migrations` layout, checksums, advisory lock, and one
 * transaction per migration.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checksumMatches, DEFAULT_MIGRATIONS_DIR, migrate, migrationStatus } from '../../src/db/migrate.js';
import { createTestDatabase, createTestPool, hasRealServer, type TestDatabase } from '../helpers/database.js';

const MIGRATIONS = ['20261127000000_init', '20261127000100_customer_triggers', '20261201000000_customer_version', '20261201100000_customer_summaries'];

let database: TestDatabase;
let pool: pg.Pool;
let dir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createTestPool(database);
});
afterAll(async () => {
  await pool.end();
  await database.drop();
});
beforeEach(async () => {
  await pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  dir = await mkdtemp(join(tmpdir(), 'oms-migrations-'));
  await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tables(): Promise<string[]> {
  const result = await pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
  );
  return result.rows.map((row) => row.name);
}

async function recordedNames(): Promise<string[]> {
  const result = await pool.query<{ name: string }>('SELECT migration_name AS name FROM _prisma_migrations ORDER BY 1');
  return result.rows.map((row) => row.name);
}

describe('migrate() on an empty database', () => {
  it('lists every migration as pending, then applies them in name order', async () => {
    expect(await migrationStatus(pool)).toEqual({ pending: MIGRATIONS });
    expect(await migrate(pool)).toEqual({ applied: MIGRATIONS });
    expect(await migrationStatus(pool)).toEqual({ pending: [] });
    expect(await tables()).toEqual(['_prisma_migrations', 'api_token', 'api_user', 'channel', 'customer', 'customer_count', 'customer_day', 'customer_id_block', 'customer_version']);
  });

  it('applies nothing on a second run', async () => {
    await migrate(pool);
    const messages: string[] = [];
    expect(await migrate(pool, { log: (msg) => messages.push(msg) })).toEqual({ applied: [] });
    expect(messages).toEqual(['No pending migrations to apply.']);
    expect(await recordedNames()).toEqual(MIGRATIONS);
  });

  it("creates _prisma_migrations with Prisma's columns, in Prisma's order", async () => {
    await migrate(pool);
    const columns = await pool.query(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
              pg_get_expr(d.adbin, d.adrelid) AS default
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = '_prisma_migrations'::regclass AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum`,
    );
    expect(columns.rows).toEqual([
      { name: 'id', type: 'character varying(36)', not_null: true, default: null },
      { name: 'checksum', type: 'character varying(64)', not_null: true, default: null },
      { name: 'finished_at', type: 'timestamp with time zone', not_null: false, default: null },
      { name: 'migration_name', type: 'character varying(255)', not_null: true, default: null },
      { name: 'logs', type: 'text', not_null: false, default: null },
      { name: 'rolled_back_at', type: 'timestamp with time zone', not_null: false, default: null },
      { name: 'started_at', type: 'timestamp with time zone', not_null: true, default: 'now()' },
      { name: 'applied_steps_count', type: 'integer', not_null: true, default: '0' },
    ]);
    const primaryKey = await pool.query(
      `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE conrelid = '_prisma_migrations'::regclass AND contype = 'p'`,
    );
    expect(primaryKey.rows).toEqual([{ conname: '_prisma_migrations_pkey', def: 'PRIMARY KEY (id)' }]);
  });

  it('records each migration as Prisma does: uuid id, sha256 of the file, finished, one step', async () => {
    await migrate(pool);
    const rows = await pool.query('SELECT * FROM _prisma_migrations ORDER BY migration_name');
    const expected = await Promise.all(
      MIGRATIONS.map(async (name) => ({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        checksum: createHash('sha256')
          .update(await readFile(join(DEFAULT_MIGRATIONS_DIR, name, 'migration.sql')))
          .digest('hex'),
        finished_at: expect.any(Date),
        migration_name: name,
        logs: null,
        rolled_back_at: null,
        started_at: expect.any(Date),
        applied_steps_count: 1,
      })),
    );
    expect(rows.rows).toEqual(expected);
    for (const row of rows.rows) expect(row.started_at.getTime()).toBeLessThanOrEqual(row.finished_at.getTime());
  });
});

describe('the migration files', () => {
  it('also apply as `prisma migrate deploy` runs them: each script one simple query, no explicit transaction', async () => {
    for (const name of MIGRATIONS) await pool.query(await readFile(join(DEFAULT_MIGRATIONS_DIR, name, 'migration.sql'), 'utf8'));
    expect(await tables()).toEqual(['api_token', 'api_user', 'channel', 'customer', 'customer_count', 'customer_day', 'customer_id_block', 'customer_version']);
  });

  it('initialise customer_count from the rows already there', async () => {
    await rm(join(dir, MIGRATIONS[1]!), { recursive: true });
    await migrate(pool, { migrationsDir: dir });
    await pool.query(`INSERT INTO customer (omnitron_id, email) SELECT g, 'x' FROM generate_series(1, 3) g`);
    expect(await migrate(pool)).toEqual({ applied: [MIGRATIONS[1]] });
    expect((await pool.query('SELECT n::int FROM customer_count')).rows).toEqual([{ n: 3 }]);
  });
});

describe('migrate() refuses a history it cannot trust', () => {
  it('refuses an applied migration whose file changed, naming it', async () => {
    await migrate(pool, { migrationsDir: dir });
    const file = join(dir, MIGRATIONS[0]!, 'migration.sql');
    await writeFile(file, `${await readFile(file, 'utf8')}-- edited\n`);
    await expect(migrate(pool, { migrationsDir: dir })).rejects.toThrow(
      /Migration 20261127000000_init was modified after it was applied \(recorded checksum [0-9a-f]{64}, file now [0-9a-f]{64}\)/,
    );
  });

  it('accepts the same file with CRLF line endings, as Prisma does', async () => {
    await migrate(pool, { migrationsDir: dir });
    const file = join(dir, MIGRATIONS[0]!, 'migration.sql');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/\n/g, '\r\n'));
    expect(await migrate(pool, { migrationsDir: dir })).toEqual({ applied: [] });
  });

  it('refuses to go on past a migration recorded as failed', async () => {
    await rm(join(dir, MIGRATIONS[1]!), { recursive: true });
    await migrate(pool, { migrationsDir: dir });
    await pool.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs)
       VALUES ('00000000-0000-4000-8000-000000000000', 'x', '20261126000000_half_done', 'boom')`,
    );
    await expect(migrate(pool)).rejects.toThrow(
      /Migration 20261126000000_half_done is recorded as failed in _prisma_migrations .*prisma migrate resolve/,
    );
    expect(await tables()).not.toContain('customer_count');
  });
});

describe('migrate() with a broken migration', () => {
  it('rolls the broken migration back completely and names it with the database message', async () => {
    await migrate(pool, { migrationsDir: dir });
    const before = { tables: await tables(), recorded: await recordedNames() };
    await mkdir(join(dir, '20261127000200_broken'));
    await writeFile(
      join(dir, '20261127000200_broken', 'migration.sql'),
      'CREATE TABLE "broken_probe" ("id" INTEGER);\nINSERT INTO "customer" ("nope") VALUES (1);\n',
    );
    await expect(migrate(pool, { migrationsDir: dir })).rejects.toThrow(
      'Migration 20261127000200_broken failed and was rolled back at line 2: ' +
        'column "nope" of relation "customer" does not exist (SQLSTATE 42703)',
    );
    expect({ tables: await tables(), recorded: await recordedNames() }).toEqual(before);
    expect(await migrationStatus(pool, { migrationsDir: dir })).toEqual({ pending: ['20261127000200_broken'] });
  });
});

describe('migrate() run concurrently', () => {
  it('applies each migration exactly once across two pools on one database', async () => {
    const other = createTestPool(database);
    try {
      for (let round = 0; round < 3; round++) {
        await pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
        const [a, b] = await Promise.all([migrate(pool), migrate(other)]);
        expect([...a.applied, ...b.applied].sort()).toEqual(MIGRATIONS);
        expect(await recordedNames()).toEqual(MIGRATIONS);
      }
    } finally {
      await other.end();
    }
  });

  it.skipIf(!hasRealServer())(
    'gives up after lockTimeoutMs while another holder keeps the advisory lock (real server only: embedded connections share one session)',
    async () => {
      const holder = new pg.Client({ connectionString: database.url });
      await holder.connect();
      try {
        await holder.query('SELECT pg_advisory_lock(72707369)');
        await expect(migrate(pool, { lockTimeoutMs: 200 })).rejects.toThrow(
          /Timed out after 200 ms waiting for the migration lock \(pg_advisory_lock\(72707369\)\)/,
        );
      } finally {
        await holder.end();
      }
    },
  );
});

describe('checksumMatches', () => {
  const script = 'SELECT 1;\nSELECT 2;\n';
  const sha = (text: string) => createHash('sha256').update(text).digest();

  it('matches the sha256 hex of the script and of its CRLF/LF variants only', () => {
    expect(checksumMatches(script, sha(script).toString('hex'))).toBe(true);
    expect(checksumMatches(script.replace(/\n/g, '\r\n'), sha(script).toString('hex'))).toBe(true);
    expect(checksumMatches(script, sha(script.replace(/\n/g, '\r\n')).toString('hex'))).toBe(true);
    expect(checksumMatches(`${script} `, sha(script).toString('hex'))).toBe(false);
  });

  it('matches the unpadded hex written by old schema engines', () => {
    const unpadded = [...sha(script)].map((byte) => byte.toString(16)).join('');
    expect(unpadded).not.toHaveLength(64);
    expect(checksumMatches(script, unpadded)).toBe(true);
  });
});
