/**
 * The benchmark's own databases beside DATABASE_URL's (`oms_bench_1m`, `oms_bench_100k`, …):
 * created, migrated and filled by the generator once, reused while they hold exactly the
 * generator's rows (checked by COUNT(*) and a comment stamped after each fill).
 */
import pg from 'pg';
import { createPool, withClient } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { generateCustomers } from './generate-customers.js';
import { generateKey, hashKey } from '../src/auth/token-store.js';

/** Bump when the generator's output changes, so stale benchmark databases are refilled. */
const GENERATOR_VERSION = 1;
export const BENCH_SEED = 20261127;

export interface BenchDatabase {
  name: string;
  url: string;
  rows: number;
  pool: pg.Pool;
  /** A fresh API key of the `bench` user. */
  token: string;
  /** Seconds the fill took, or null when the database was reused. */
  generatedSeconds: number | null;
}

const label = (rows: number) =>
  rows % 1_000_000 === 0 ? `${rows / 1_000_000}m` : rows % 1000 === 0 ? `${rows / 1000}k` : String(rows);

export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}


export async function prepareBenchDatabase(serverUrl: string, rows: number, log: (line: string) => void): Promise<BenchDatabase> {
  const name = `oms_bench_${label(rows)}`;
  const stamp = `oms-customers bench: ${rows} rows, seed ${BENCH_SEED}, generator v${GENERATOR_VERSION}`;
  await withClient(serverUrl, async (admin) => {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      log(`creating database ${name}`);
      await admin.query(`CREATE DATABASE "${name}"`);
    }
  });
  const url = databaseUrl(serverUrl, name);
  const pool = createPool({ url, max: 4, statementTimeoutMs: 0, connectTimeoutMs: 10_000, applicationName: 'oms-bench' });
  try {
    await migrate(pool);
    const { rows: [state] } = await pool.query<{ n: string; counter: string | null; stamp: string | null }>(
      `SELECT (SELECT count(*) FROM customer) AS n, (SELECT n FROM customer_count) AS counter,
              shobj_description((SELECT oid FROM pg_database WHERE datname = current_database()), 'pg_database') AS stamp`,
    );
    let generatedSeconds: number | null = null;
    if (Number(state!.n) !== rows || Number(state!.counter) !== rows || state!.stamp !== stamp) {
      log(`filling ${name} with ${rows} customers (seed ${BENCH_SEED})`);
      const result = await generateCustomers(pool, { count: rows, seed: BENCH_SEED, replace: true });
      generatedSeconds = result.ms / 1000;
      await pool.query(`COMMENT ON DATABASE "${name}" IS '${stamp}'`);
      log(`filled ${name} in ${generatedSeconds.toFixed(1)} s`);
    } else {
      log(`reusing ${name} (${rows} customers)`);
    }
    // Fresh statistics and visibility map: plans and index-only scans as on a settled production table.
    await pool.query('VACUUM ANALYZE customer');
    const token = await freshToken(pool, 'bench');
    return { name, url, rows, pool, token, generatedSeconds };
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/** A new API key for `username` (created if need be, made active), its earlier keys deleted. */
export async function freshToken(pool: pg.Pool, username: string): Promise<string> {
  const token = generateKey();
  await pool.query(
    `WITH u AS (INSERT INTO api_user (username) VALUES ($2)
                ON CONFLICT (username) DO UPDATE SET is_active = true RETURNING id),
          gone AS (DELETE FROM api_token WHERE user_id = (SELECT id FROM u))
     INSERT INTO api_token (key_hash, user_id) SELECT $1, id FROM u`,
    [hashKey(token), username],
  );
  return token;
}
