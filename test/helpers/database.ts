/**
 * A private database per test file, so files run in parallel: a fresh, uniquely
 * named database on the server at TEST_DATABASE_URL when it is set, otherwise
 * an in-memory embedded PGlite of its own. Both are copies of the run's
 * templates (test/global-setup.ts).
 *
 * Embedded databases are reused within the worker process (vitest runs a
 * worker's files one after another in one process): drop() ends its clients,
 * resets it to the migrated template and checks it (test/helpers/embedded-reuse.ts);
 * if it equals a fresh copy it waits for the next file asking for a migrated
 * database, otherwise it is closed.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { inject, type ProvidedContext } from 'vitest';
import { EMBEDDED_MAX_CONNECTIONS, openPGlite, serveOrClose } from '../../src/db/embedded.js';
import { createPool, withClient } from '../../src/db/pool.js';
import { captureTemplateState, resetToTemplate, type TemplateState } from './embedded-reuse.js';

export interface TestDatabase {
  url: string;
  /** True for embedded PGlite: one connection, transactions serialised (see src/db/embedded.ts). */
  embedded: boolean;
  /** Drops the database (terminating its connections); embedded: ends its connections, then keeps it for reuse or closes it. */
  drop(): Promise<void>;
}

/** True when tests run against a real PostgreSQL server (TEST_DATABASE_URL is set). */
export function hasRealServer(): boolean {
  return Boolean(process.env.TEST_DATABASE_URL);
}

/**
 * A database with nothing in it yet: no migration applied. Embedded ones are
 * always newly loaded; dropped after the file migrated it, one that then
 * equals the migrated template is kept for the next migrated database.
 */
export function createTestDatabase(): Promise<TestDatabase> {
  if (!hasRealServer()) return embeddedCopy('fresh');
  return copyOfTemplate('fresh');
}

export interface MigratedTestDatabaseOptions {
  /**
   * False for a newly loaded embedded PGlite, never used by another file.
   * Default true: one a previous file of this worker dropped, reset and
   * verified equal to a fresh copy, when there is one. No file needs false
   * today: on embedded databases none stops the server, connects as another
   * role or counts connections (the pg_stat_activity tests are real-server
   * only), and the session state test/db/session-state.test.ts reads is part
   * of the reset's check; embedded.test.ts starts servers of its own.
   */
  reusable?: boolean;
}

/** A test database with prisma/migrations applied. */
export function createMigratedTestDatabase(options: MigratedTestDatabaseOptions = {}): Promise<TestDatabase> {
  if (!hasRealServer()) return embeddedCopy(options.reusable === false ? 'migrated, new' : 'migrated');
  return copyOfTemplate('migrated');
}

async function copyOfTemplate(kind: 'fresh' | 'migrated'): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL!;
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

/**
 * Migrated embedded PGlites that equal a fresh copy, waiting for the next file of this worker. Up to
 * three, as files use up to three at once (a load costs ~1.5 CPU-s, a reuse ~0.1); a worker with
 * three idle stays near 1 GB resident.
 */
const idleEmbedded: PGlite[] = [];
const MAX_IDLE_EMBEDDED = 3;
/** The migrated template's state, captured from the first migrated copy this worker loads. */
let templateState: Promise<TemplateState> | undefined;

/** What this worker's embedded databases did so far (for test/db/test-database-reuse.test.ts). */
export const embeddedReuse = {
  loaded: 0,
  reused: 0,
  discarded: [] as string[][],
  get idle(): number {
    return idleEmbedded.length;
  },
};

/** An embedded database served on a port of its own; its PGlite is an idle one or newly loaded ('fresh' never reuses one). */
async function embeddedCopy(kind: 'fresh' | 'migrated' | 'migrated, new'): Promise<TestDatabase> {
  let db = kind === 'migrated' ? idleEmbedded.pop() : undefined;
  if (db) embeddedReuse.reused++;
  else {
    db = await openPGlite({ loadDataDir: await embeddedTemplate(kind === 'fresh' ? 'fresh' : 'migrated') });
    embeddedReuse.loaded++;
    // Captured before anything connects: this copy is still exactly the template.
    if (kind !== 'fresh') {
      try {
        await (templateState ??= captureTemplateState(db));
      } catch (error) {
        templateState = undefined;
        await db.close();
        throw error;
      }
    }
  }
  const pglite = db;
  // A new listener (a new port) for each file: a pool a previous file left open cannot reach this one.
  const server = await serveOrClose(pglite);
  const stopServing = server.stop;
  let dropping: Promise<void> | undefined;
  const drop = async () => {
    // Ends every client connection (rolling back what it left open) before the reset.
    await stopServing();
    // A fresh copy counts only once this worker knows the template (a migrated copy was loaded before).
    let differing = ['template not captured yet'];
    if (templateState) {
      try {
        differing = await resetToTemplate(pglite, await templateState);
      } catch (error) {
        differing = [`reset failed: ${(error as Error).message}`];
      }
    }
    if (differing.length === 0 && idleEmbedded.length < MAX_IDLE_EMBEDDED) {
      idleEmbedded.push(pglite);
      return;
    }
    if (differing.length > 0) embeddedReuse.discarded.push(differing);
    await pglite.close().catch(() => undefined);
  };
  return { url: `postgresql://postgres@${server.address}/postgres`, embedded: true, drop: () => (dropping ??= drop()) };
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
