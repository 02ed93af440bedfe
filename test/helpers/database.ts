/**
 * A private database per test file, so files run in parallel: a fresh, uniquely
 * named database on the server at TEST_DATABASE_URL when it is set, otherwise
 * an in-memory embedded PGlite of its own. Both are copies of the run's
 * templates (test/global-setup.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { inject, type ProvidedContext } from 'vitest';
import { EMBEDDED_MAX_CONNECTIONS, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { createPool, withClient } from '../../src/db/pool.js';

export interface TestDatabase {
  url: string;
  /** True for embedded PGlite: one connection, transactions serialised (see src/db/embedded.ts). */
  embedded: boolean;
  /** Drops the database (terminating its connections) or stops the embedded server. */
  drop(): Promise<void>;
}

/** True when tests run against a real PostgreSQL server (TEST_DATABASE_URL is set). */
export function hasRealServer(): boolean {
  return Boolean(process.env.TEST_DATABASE_URL);
}

/** A database with nothing in it yet: no migration applied. */
export function createTestDatabase(): Promise<TestDatabase> {
  return copyOfTemplate('fresh');
}

/** A test database with prisma/migrations applied. */
export function createMigratedTestDatabase(): Promise<TestDatabase> {
  return copyOfTemplate('migrated');
}

async function copyOfTemplate(kind: 'fresh' | 'migrated'): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const server = await startEmbeddedPostgres({ dataDir: 'memory', loadDataDir: await embeddedTemplate(kind) });
    return { url: server.url, embedded: true, drop: () => server.stop() };
  }
  const name = `oms_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const template = kind === 'migrated' ? ` TEMPLATE "${provided('serverTemplate')}"` : '';
  await withClient(serverUrl, (admin) => admin.query(`CREATE DATABASE "${name}"${template}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    embedded: false,
    drop: async () => {
      await withClient(serverUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** A pool on the test database; embedded ones are capped at EMBEDDED_MAX_CONNECTIONS. */
export function createTestPool(database: TestDatabase, max = 4): pg.Pool {
  return createPool({
    url: database.url,
    max: database.embedded ? EMBEDDED_MAX_CONNECTIONS : max,
    statementTimeoutMs: 0,
    connectTimeoutMs: 10_000,
    applicationName: 'oms-customers-test',
  });
}

/**
 * This run's embedded cluster as a PGlite dumpDataDir() tarball, freshly initdb'd or migrated:
 * loading one takes a fraction of initdb's (or the migrations') CPU time.
 */
export async function embeddedTemplate(kind: 'fresh' | 'migrated' = 'fresh'): Promise<Blob> {
  return new Blob([await readFile(provided('embeddedTemplates')[kind])]);
}

/** A value test/global-setup.ts provides for this kind of run. */
function provided<K extends 'embeddedTemplates' | 'serverTemplate'>(key: K): NonNullable<ProvidedContext[K]> {
  const value = inject(key);
  if (value === null || value === undefined) throw new Error(`no ${key}: run the tests through vitest.config.ts (test/global-setup.ts)`);
  return value;
}

/** `work` in a transaction on one of the pool's connections: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}
