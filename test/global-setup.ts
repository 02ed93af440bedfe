/**
 * vitest globalSetup: the database templates every test file starts from, made once per run
 * instead of once per database. Migrating costs more than copying a migrated database, and
 * initdb (embedded) costs seconds of CPU, so each file copies the run's templates instead:
 *
 * - embedded: PGlite `dumpDataDir()` tarballs in a temporary directory, a freshly initdb'd cluster
 *   and (embedded runs) the same cluster migrated; a new in-memory PGlite loads one.
 * - real server (TEST_DATABASE_URL): a migrated database `oms_template_…`, copied by
 *   `CREATE DATABASE … TEMPLATE`.
 *
 * test/helpers/database.ts reads them with inject(); the migrations themselves are tested from an
 * unmigrated database (test/db/migrate.test.ts), and drift.test.ts checks the migrated template.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openPGlite } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, withClient } from '../src/db/pool.js';
import { serveSession } from '../src/db/session-socket-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Paths of the fresh and (embedded runs only) the migrated cluster's tarballs. */
    embeddedTemplates: { fresh: string; migrated: string };
    /** Real-server runs: the migrated template database's name. */
    serverTemplate: string | null;
  }
}

const migrationPool = (url: string) =>
  createPool({ url, max: 1, statementTimeoutMs: 0, connectTimeoutMs: 10_000, applicationName: 'oms-customers-test' });

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  // The fresh tarball always: some tests start embedded servers of their own on any run.
  const dir = await mkdtemp(join(tmpdir(), 'oms-test-templates-'));
  const fresh = await openPGlite();
  const freshDump = await fresh.dumpDataDir('none');
  await fresh.close();
  const paths = { fresh: join(dir, 'fresh.tar'), migrated: join(dir, 'migrated.tar') };
  await writeFile(paths.fresh, Buffer.from(await freshDump.arrayBuffer()));
  if (!serverUrl) await writeFile(paths.migrated, Buffer.from(await (await migratedDump(freshDump)).arrayBuffer()));
  project.provide('embeddedTemplates', paths);
  const removeDir = () => rm(dir, { recursive: true, force: true });
  if (!serverUrl) {
    project.provide('serverTemplate', null);
    return removeDir;
  }

  const name = `oms_template_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(serverUrl, (admin) => admin.query(`CREATE DATABASE "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const pool = migrationPool(url.toString());
  try {
    await migrate(pool);
  } finally {
    // A template must have no connections while it is copied.
    await pool.end();
  }
  project.provide('serverTemplate', name);
  return async () => {
    await withClient(serverUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    await removeDir();
  };
}

/** `template` with prisma/migrations applied, served the way the tests and the service reach PGlite. */
async function migratedDump(template: Blob): Promise<Blob> {
  const db = await openPGlite({ loadDataDir: template });
  try {
    const server = await serveSession(db, 2);
    const pool = migrationPool(`postgresql://postgres@${server.address}/postgres`);
    try {
      await migrate(pool);
      // Flushed to the data files, so a copy starts without replaying the migrations' WAL.
      await pool.query('CHECKPOINT');
    } finally {
      await pool.end();
      await server.stop();
    }
    return await db.dumpDataDir('none');
  } finally {
    await db.close();
  }
}
