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
import { embeddedTemplate } from '../helpers/database.js';

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
  // Two cold starts. The first from the run's fresh cluster rather than initdb (seconds of CPU):
  // a first start on an empty DATA_DIR runs initdb in test/app/server.e2e.test.ts.
  it('persists committed data across stop/start, drops uncommitted work and closes clients', { timeout: 120_000 }, async () => {
    const dataDir = join(tmp, 'not', 'yet', 'there');
    const first = await startEmbeddedPostgres({ dataDir, loadDataDir: await embeddedTemplate() });
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

describe('several connections to one embedded server (db/session-socket-server.ts)', () => {
  it('keeps each connection\'s extended-protocol queries and transactions whole while they run concurrently', async () => {
    const server = await startEmbeddedPostgres({ dataDir: 'memory', loadDataDir: await embeddedTemplate() });
    const a = new pg.Client({ connectionString: server.url });
    const b = new pg.Client({ connectionString: server.url });
    try {
      await Promise.all([a.connect(), b.connect()]);
      await a.query('CREATE TABLE t (n integer)');
      // A 1 MB parameter arrives in several TCP chunks; a Parse of the other connection landing
      // between them would replace the unnamed statement and fail the Bind (parameter counts differ).
      const big = 'x'.repeat(1 << 20);
      const one = async () => {
        for (let i = 0; i < 10; i++) expect((await a.query('SELECT length($1::text) AS x', [big])).rows).toEqual([{ x: big.length }]);
      };
      const two = async () => {
        for (let i = 0; i < 200; i++) expect((await b.query('SELECT $1::int + $2::int AS x', [i, 1])).rows).toEqual([{ x: i + 1 }]);
      };
      // A transaction on one connection: the other never sees its uncommitted row, nor runs inside it.
      const transaction = async () => {
        await a.query('BEGIN');
        await a.query('INSERT INTO t VALUES (1)');
        await new Promise((resolve) => setTimeout(resolve, 20));
        await a.query('ROLLBACK');
      };
      const reader = async () => {
        for (let i = 0; i < 20; i++) expect((await b.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 0 }]);
      };
      await Promise.all([one(), two()]);
      await Promise.all([transaction(), reader()]);
    } finally {
      await Promise.all([a.end(), b.end()]);
      await server.stop();
    }
  }, 60_000);
});
