/**
 * Offline equivalent of `prisma migrate deploy`: applies prisma/migrations/* in
 * name order and records them in `_prisma_migrations` exactly as Prisma's schema
 * engine does (same table, checksums and advisory lock), so either tool can
 * take over from the other.
 *
 * Stricter than Prisma in two ways: each migration runs in its own transaction
 * (a failure leaves no trace instead of a "failed" row), and an applied
 * migration whose file changed is refused rather than ignored. Consequently a
 * migration cannot contain its own BEGIN/COMMIT or CREATE INDEX CONCURRENTLY.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

/** The key Prisma's schema engine passes to pg_advisory_lock (postgres flavour `acquire_lock`). */
export const MIGRATION_LOCK_KEY = 72707369;

/** Prisma gives up on the lock after 10 s (`ADVISORY_LOCK_TIMEOUT`); so do we, by default. */
const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/** `prisma/migrations` of this package, found from src/db (tsx) and dist/db (tsc) alike. */
export const DEFAULT_MIGRATIONS_DIR = join(findPackageRoot(dirname(fileURLToPath(import.meta.url))), 'prisma', 'migrations');

export interface MigrateOptions {
  migrationsDir?: string;
  log?: (msg: string) => void;
  lockTimeoutMs?: number;
}

interface MigrationFile {
  name: string;
  script: string;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Prisma's `create_migrations_table` for PostgreSQL, column for column. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

/** Applies every pending migration; returns the names this call applied. */
export async function migrate(pool: pg.Pool, opts: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => {});
  const files = await readMigrations(opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  const client = await pool.connect();
  try {
    await acquireLock(client, opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const rows = await readRows(client);
    verifyHistory(files, rows, log);
    const applied: string[] = [];
    for (const file of files) {
      if (rows.some((row) => isApplied(row) && row.migration_name === file.name)) continue;
      if (await applyMigration(client, file)) {
        applied.push(file.name);
        log(`Applied migration ${file.name}`);
      }
    }
    if (applied.length === 0) log('No pending migrations to apply.');
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    client.release();
    return { applied };
  } catch (error) {
    // Destroying the connection ends its session, which releases the advisory
    // lock whatever state the failure left it in.
    client.release(true);
    throw error;
  }
}

/** Names of local migrations not (successfully) applied yet; used by GET /ready. */
export async function migrationStatus(pool: pg.Pool, opts: { migrationsDir?: string } = {}): Promise<{ pending: string[] }> {
  const files = await readMigrations(opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  const exists = await pool.query<{ table: string | null }>(`SELECT to_regclass('_prisma_migrations')::text AS table`);
  const rows = exists.rows[0]?.table ? (await pool.query<MigrationRow>(SELECT_ROWS)).rows : [];
  const applied = new Set(rows.filter(isApplied).map((row) => row.migration_name));
  return { pending: files.map((file) => file.name).filter((name) => !applied.has(name)) };
}

/**
 * Prisma's `script_matches_checksum`: the SHA-256 of the script, also accepting
 * the script with CRLF turned into LF or LF into CRLF (git autocrlf), and the
 * unpadded hex that old schema engines wrote (prisma-engines#1887).
 */
export function checksumMatches(script: string, checksum: string): boolean {
  const variants = [script, script.replace(/\r\n/g, '\n'), script.replace(/\n/g, '\r\n')];
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant, 'utf8').digest();
    const hex = checksum.length === 64 ? digest.toString('hex') : [...digest].map((byte) => byte.toString(16)).join('');
    return hex === checksum;
  });
}

/** The checksum Prisma records: SHA-256 hex of the migration.sql bytes. */
export function scriptChecksum(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex');
}

async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const path = join(dir, name, 'migration.sql');
      if (!existsSync(path)) throw new Error(`Migration folder ${name} has no migration.sql (in ${dir})`);
      return { name, script: await readFile(path, 'utf8') };
    }),
  );
}

const SELECT_ROWS = `SELECT migration_name, checksum, started_at, finished_at, rolled_back_at
  FROM _prisma_migrations ORDER BY started_at`;

async function readRows(client: pg.PoolClient): Promise<MigrationRow[]> {
  return (await client.query<MigrationRow>(SELECT_ROWS)).rows;
}

function isApplied(row: MigrationRow): boolean {
  return row.finished_at !== null && row.rolled_back_at === null;
}

/** Refuses the history Prisma would refuse (P3009, failed) plus edited applied migrations. */
function verifyHistory(files: MigrationFile[], rows: MigrationRow[], log: (msg: string) => void): void {
  const failed = rows.find((row) => row.finished_at === null && row.rolled_back_at === null);
  if (failed) {
    throw new Error(
      `Migration ${failed.migration_name} is recorded as failed in _prisma_migrations (started ${failed.started_at.toISOString()}); ` +
        'no further migrations will be applied. Repair the database, then mark it with ' +
        `\`prisma migrate resolve --applied|--rolled-back ${failed.migration_name}\`.`,
    );
  }
  for (const row of rows.filter(isApplied)) {
    const file = files.find((candidate) => candidate.name === row.migration_name);
    if (!file) {
      log(`Migration ${row.migration_name} is applied but missing from the migrations directory.`);
    } else if (!checksumMatches(file.script, row.checksum)) {
      throw new Error(
        `Migration ${row.migration_name} was modified after it was applied ` +
          `(recorded checksum ${row.checksum}, file now ${scriptChecksum(file.script)}). ` +
          'Restore the applied file and put the change in a new migration.',
      );
    }
  }
}

/** Applies one migration in its own transaction; false when another runner got there first. */
async function applyMigration(client: pg.PoolClient, file: MigrationFile): Promise<boolean> {
  await client.query('BEGIN');
  try {
    // On the embedded server every connection shares one session, so the
    // advisory lock excludes nobody there; its transactions are serialised,
    // though, which makes this re-check inside the transaction sufficient.
    const done = await client.query(
      'SELECT 1 FROM _prisma_migrations WHERE migration_name = $1 AND finished_at IS NOT NULL AND rolled_back_at IS NULL',
      [file.name],
    );
    if (done.rowCount) {
      await client.query('ROLLBACK');
      return false;
    }
    // The application's statement_timeout guards request queries; a schema
    // change on a large table must not be cancelled halfway by it.
    await client.query('SET LOCAL statement_timeout = 0');
    const id = randomUUID();
    await client.query(
      'INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, clock_timestamp())',
      [id, scriptChecksum(file.script), file.name],
    );
    await runScript(client, file);
    await client.query(
      'UPDATE _prisma_migrations SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1',
      [id],
    );
    await client.query('COMMIT');
    return true;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** Runs the whole script as one simple-protocol query, as Prisma's `raw_cmd` does. */
async function runScript(client: pg.PoolClient, file: MigrationFile): Promise<void> {
  try {
    await client.query(file.script);
  } catch (error) {
    const db = error as pg.DatabaseError;
    const where = db.position ? ` at line ${lineOf(file.script, Number(db.position))}` : '';
    const code = db.code ? ` (SQLSTATE ${db.code})` : '';
    throw new Error(`Migration ${file.name} failed and was rolled back${where}: ${db.message}${code}`, { cause: error });
  }
}

async function acquireLock(client: pg.PoolClient, timeoutMs: number): Promise<void> {
  await client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${timeoutMs}ms`]);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  } catch (error) {
    if ((error as pg.DatabaseError).code !== '55P03') throw error;
    throw new Error(
      `Timed out after ${timeoutMs} ms waiting for the migration lock (pg_advisory_lock(${MIGRATION_LOCK_KEY})): ` +
        'another migrate or `prisma migrate` is running against this database.',
      { cause: error },
    );
  } finally {
    await client.query('RESET lock_timeout');
  }
}

function lineOf(script: string, position: number): number {
  return script.slice(0, Math.max(0, position - 1)).split('\n').length;
}

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`No package.json above ${from}`);
  }
}
