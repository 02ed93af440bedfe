/**
 * vitest globalSetup: the database templates every test file starts from, made once per run
 * instead of once per database. Migrating costs more than copying a migrated database, and
 * initdb (embedded) costs seconds of CPU, so each file copies the run's templates instead:
 *
 * - embedded: PGlite `dumpDataDir()` tarballs, a freshly initdb'd cluster and the same cluster
 *   migrated; a new in-memory PGlite loads one.
 * - real server (TEST_DATABASE_URL): a migrated database `oms_template_…`, copied by
 *   `CREATE DATABASE … TEMPLATE`.
 *
 * The tarballs are kept between runs in node_modules/.cache/oms-customers-tests/, under a key of
 * everything that makes them (PGlite's version, its options, the migrations): a second run (CI's
 * embedded run after its PostgreSQL one, or a developer's next `npm test`) skips initdb.
 *
 * test/helpers/database.ts reads them with inject(); the migrations themselves are tested from an
 * unmigrated database (test/db/migrate.test.ts), and drift.test.ts checks the migrated template.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openPGlite, PGLITE_OPTIONS } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, withClient } from '../src/db/pool.js';
import { serveSession } from '../src/db/session-socket-server.js';
import { transpileEntryScripts } from './helpers/entry-scripts.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Paths of the fresh and the migrated cluster's tarballs. */
    embeddedTemplates: { fresh: string; migrated: string };
    /** Real-server runs: the migrated template database's name. */
    serverTemplate: string | null;
  }
}

const migrationPool = (url: string) =>
  createPool({ url, max: 1, statementTimeoutMs: 0, connectTimeoutMs: 10_000, applicationName: 'oms-customers-test' });

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  // Both tarballs on every run: some tests start embedded servers of their own on any run.
  project.provide('embeddedTemplates', await embeddedTemplates(project.config.root));
  // The entry scripts the tests run as processes, transpiled once (test/helpers/entry-scripts.ts).
  const transpiled = await transpileEntryScripts(project.config.root);
  project.provide('transpiledProject', transpiled);
  // Watch mode: each rerun runs the sources as they are then.
  project.onTestsRerun(async () => {
    await transpileEntryScripts(project.config.root, transpiled);
  });
  const removeTranspiled = () => rm(transpiled, { recursive: true, force: true });
  if (!serverUrl) {
    project.provide('serverTemplate', null);
    return removeTranspiled;
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
    await removeTranspiled();
    await withClient(serverUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  };
}

/** The fresh and migrated tarballs, from the cache or made (and cached) now. */
async function embeddedTemplates(root: string): Promise<{ fresh: string; migrated: string }> {
  const dir = join(root, 'node_modules', '.cache', 'oms-customers-tests', await templateKey(root));
  const paths = { fresh: join(dir, 'fresh.tar'), migrated: join(dir, 'migrated.tar') };
  if (existsSync(paths.fresh) && existsSync(paths.migrated)) return paths;
  const fresh = await openPGlite();
  const freshDump = await fresh.dumpDataDir('none');
  await fresh.close();
  await mkdir(dir, { recursive: true });
  // Written aside and renamed into place: a run beside this one never reads half a file.
  const put = async (path: string, blob: Blob) => {
    const partial = `${path}.${process.pid}.partial`;
    await writeFile(partial, Buffer.from(await blob.arrayBuffer()));
    await rename(partial, path);
  };
  await put(paths.fresh, freshDump);
  await put(paths.migrated, await migratedDump(freshDump));
  return paths;
}

/** A hash of what the tarballs are made from: PGlite's version, the options it runs with, and every migration. */
async function templateKey(root: string): Promise<string> {
  const hash = createHash('sha256');
  const pglitePackage = join(root, 'node_modules', '@electric-sql', 'pglite', 'package.json');
  hash.update(JSON.parse(await readFile(pglitePackage, 'utf8')).version as string);
  hash.update(JSON.stringify(PGLITE_OPTIONS));
  const migrations = join(root, 'prisma', 'migrations');
  for (const entry of (await readdir(migrations, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())) {
    const path = join(entry.parentPath, entry.name);
    hash.update(path.slice(migrations.length)).update(await readFile(path));
  }
  return hash.digest('hex').slice(0, 16);
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
