/**
 * A private database per test file, so files run in parallel: a fresh, uniquely
 * named database on the server at TEST_DATABASE_URL when it is set, otherwise
 * an in-memory embedded PGlite of its own.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { EMBEDDED_MAX_CONNECTIONS, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
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

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const server = await startEmbeddedPostgres({ dataDir: 'memory', loadDataDir: await embeddedTemplate() });
    return { url: server.url, embedded: true, drop: () => server.stop() };
  }
  const name = `oms_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(serverUrl, (admin) => admin.query(`CREATE DATABASE "${name}"`));
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

/** A test database with prisma/migrations applied. */
export async function createMigratedTestDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase();
  const pool = createTestPool(database);
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end();
    await database.drop();
    throw error;
  }
  await pool.end();
  return database;
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
 * A freshly initdb'd PGlite cluster as a dumpDataDir() tarball, cached in the
 * temp directory per PGlite version: every test file runs in its own process,
 * and loading the tarball takes a fraction of initdb's CPU time.
 */
export async function embeddedTemplate(): Promise<Blob> {
  const require = createRequire(import.meta.url);
  const { version } = require(join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json')) as { version: string };
  const file = join(tmpdir(), `oms-customers-pglite-${version}.tar`);
  try {
    return new Blob([await readFile(file)]);
  } catch {
    // Not built yet: build it below.
  }
  const db = await PGlite.create();
  const dump = await db.dumpDataDir('none');
  await db.close();
  // Files running in parallel may all build it; each publishes a complete file atomically.
  const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
  await rename(partial, file).catch(() => rm(partial, { force: true }));
  return dump;
}
