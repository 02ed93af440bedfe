/**
 * Behind a transaction pooler (docs/scaling.md): migrations take DIRECT_DATABASE_URL, and the
 * server can tell when the statement_timeout it asks for is not the one applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli.js';
import { defaultConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { migrationStatus } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { prepareDatabase } from '../../src/customers/prepare.js';
import { effectiveStatementTimeoutMs, statementTimeoutMismatch } from '../../src/db/statement-timeout.js';
import { createTestDatabase, hasRealServer, type TestDatabase } from '../helpers/database.js';
import { closedPort } from '../helpers/redis.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

describe('DIRECT_DATABASE_URL', () => {
  it('db:migrate and the start-up migration run there, never on DATABASE_URL', async () => {
    // DATABASE_URL answers nothing: any migration step sent through it would fail.
    const unreachable = `postgresql://postgres@127.0.0.1:${await closedPort()}/none`;
    const db = await openDatabase(
      defaultConfig({ DATABASE_URL: unreachable, DIRECT_DATABASE_URL: database.url, DB_CONNECT_TIMEOUT_MS: 2_000 }),
    );
    try {
      const out: string[] = [];
      expect(await runCommand(db, ['migrate'], (l) => out.push(l), () => undefined)).toBe(0);
      expect(out.at(-1)).toMatch(/^applied \d+ migration\(s\)/);
      expect(await migrationStatus(db.migrationPool)).toEqual({ pending: [] });
      expect(await prepareDatabase(db, { seedWhenEmpty: false })).toEqual({ applied: [], seed: null });
      await expect(db.pool.query('SELECT 1')).rejects.toThrow();
    } finally {
      await db.close();
    }
  });

  it('unset, migrations use the API pool itself', async () => {
    const db = await openDatabase(defaultConfig({ DATABASE_URL: database.url, DB_POOL_MAX: 1 }));
    try {
      expect(db.migrationPool).toBe(db.pool);
    } finally {
      await db.close();
    }
  });
});

describe('statementTimeoutMismatch', () => {
  const poolWith = (statementTimeoutMs: number) =>
    createPool({ url: database.url, max: 1, statementTimeoutMs, connectTimeoutMs: 5_000 });

  it('names the applied value and the fix when a connection runs without the timeout asked for', async () => {
    // As through PgBouncer with ignore_startup_parameters: no startup parameter reaches the server.
    const pool = poolWith(0);
    try {
      expect(await effectiveStatementTimeoutMs(pool)).toBe(0);
      const warning = await statementTimeoutMismatch(pool, 30_000);
      expect(warning).toContain('statement_timeout = 0 ms, not DB_STATEMENT_TIMEOUT_MS (30000 ms)');
      expect(warning).toContain(`SET statement_timeout = '30000ms'`);
    } finally {
      await pool.end();
    }
  });

  // PGlite ignores startup parameters (src/db/embedded.ts), so only a real server applies one.
  it.skipIf(!hasRealServer())('is quiet when the server applies the startup parameter', async () => {
    const pool = poolWith(1_234);
    try {
      expect(await effectiveStatementTimeoutMs(pool)).toBe(1_234);
      expect(await statementTimeoutMismatch(pool, 1_234)).toBeNull();
    } finally {
      await pool.end();
    }
  });
});
