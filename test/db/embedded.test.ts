/**
 * The embedded PGlite server (src/db/embedded.ts): reachable through the
 * ordinary pg pool, persistent in its data directory, and cleanly stopped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_MAX_CONNECTIONS, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { migrate, migrationStatus } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'oms-embedded-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function embeddedPool(url: string): pg.Pool {
  return createPool({ url, max: EMBEDDED_MAX_CONNECTIONS, statementTimeoutMs: 0, connectTimeoutMs: 10_000 });
}

describe('startEmbeddedPostgres', () => {
  // Two cold starts, one of them a full initdb: slow on a busy two-core machine.
  it('persists committed data across stop/start, drops uncommitted work and closes clients', { timeout: 120_000 }, async () => {
    const dataDir = join(tmp, 'not', 'yet', 'there');
    const first = await startEmbeddedPostgres({ dataDir });
    expect(first.url).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    const pool = embeddedPool(first.url);
    await migrate(pool);
    await pool.query(`INSERT INTO customer (omnitron_id, email) VALUES (1, 'kept@example.com')`);
    await pool.end();

    const open = new pg.Client({ connectionString: first.url });
    await open.connect();
    const dropped = new Promise<Error>((resolve) => open.on('error', resolve));
    await open.query('BEGIN');
    await open.query(`INSERT INTO customer (omnitron_id, email) VALUES (2, 'uncommitted@example.com')`);
    await first.stop();
    expect((await dropped).message).toMatch(/Connection terminated/);
    await first.stop();

    const second = await startEmbeddedPostgres({ dataDir });
    const reopened = embeddedPool(second.url);
    try {
      expect(await migrationStatus(reopened)).toEqual({ pending: [] });
      const rows = await reopened.query(`SELECT email, (SELECT n FROM customer_count)::text AS n FROM customer`);
      expect(rows.rows).toEqual([{ email: 'kept@example.com', n: '1' }]);
    } finally {
      await reopened.end();
      await second.stop();
    }
  });
});
