/**
 * Demo data: channel 1, the spec example's ten customers (exact ids and
 * microsecond timestamps) and a demo API user. Idempotent: rows that exist are
 * left alone, and a token is only minted when the demo user has none.
 */
import type pg from 'pg';
import type { TokenStore } from '../auth/token-store.js';
import { demoChannels, demoCustomers, type DemoCustomer } from './demo-data.js';
import { ensureChannels } from './channels.js';
import { advanceIdSequence } from '../db/sequences.js';

export const DEMO_USERNAME = 'demo';

/** Set-based insert of API-shaped rows (ids and timestamps kept); missing channels are created. */
export async function insertCustomers(pool: pg.Pool, rows: readonly DemoCustomer[]): Promise<number> {
  if (rows.length === 0) return 0;
  const col = <K extends keyof DemoCustomer>(key: K) => rows.map((r) => r[key]);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await ensureChannels(client, col('channel'));
    const inserted = await client.query(
      `INSERT INTO customer (id, created_date, modified_date, omnitron_id, email, first_name, last_name,
                             phone_number, erp_code, channel_id)
       SELECT * FROM unnest($1::int[], $2::timestamptz[], $3::timestamptz[], $4::int[], $5::varchar[],
                            $6::varchar[], $7::varchar[], $8::varchar[], $9::varchar[], $10::int[])
       ON CONFLICT (id) DO NOTHING`,
      [
        col('id'), col('created_date'), col('modified_date'), col('omnitron_id'), col('email'),
        col('first_name'), col('last_name'), col('phone_number'), col('erp_code'), col('channel'),
      ],
    );
    await advanceIdSequence(client, 'channel');
    await advanceIdSequence(client, 'customer');
    await client.query('COMMIT');
    return inserted.rowCount ?? 0;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

export interface SeedResult {
  customersInserted: number;
  /** The demo user's new key, or null when the user already had a token. */
  demoToken: string | null;
}

export async function seedDemoData(pool: pg.Pool, tokens: TokenStore): Promise<SeedResult> {
  await pool.query(
    `INSERT INTO channel (id, name) SELECT * FROM unnest($1::int[], $2::varchar[]) ON CONFLICT (id) DO NOTHING`,
    [demoChannels.map((c) => c.id), demoChannels.map((c) => c.name)],
  );
  const customersInserted = await insertCustomers(pool, demoCustomers);
  const demoToken = (await tokens.countTokens(DEMO_USERNAME)) === 0 ? await tokens.create(DEMO_USERNAME) : null;
  return { customersInserted, demoToken };
}

export async function hasCustomers(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ exists: boolean }>('SELECT EXISTS (SELECT 1 FROM customer) AS exists');
  return rows[0]?.exists ?? false;
}
