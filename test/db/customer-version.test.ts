/**
 * customer_version, from migration 20261201000000_customer_version: the data version that
 * conditional GET reads. Every committed writing statement on customer makes it larger, nothing
 * else does, and concurrent writers neither lose a bump nor deadlock over it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { customerResource } from '../../src/customers/customer.resource.js';
import { createListRepository } from '../../src/repository/list-repository.js';
import { createMigratedTestDatabase, createTestPool, hasRealServer, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  pool = createTestPool(database, 10);
});
afterAll(async () => {
  await pool.end();
  await database.drop();
});

const version = async (db: Pick<pg.Pool, 'query'> = pool): Promise<number> =>
  Number((await db.query<{ v: string }>('SELECT sum(n)::text AS v FROM customer_version')).rows[0]!.v);

/** How much `write` moved the version. */
async function bumps(write: () => Promise<unknown>): Promise<number> {
  const before = await version();
  await write();
  return (await version()) - before;
}

const insert = (count: number, db: Pick<pg.Pool, 'query'> = pool) =>
  db.query(`INSERT INTO customer (omnitron_id, email) SELECT g, 'v' || g FROM generate_series(1, $1::int) g`, [count]);

describe('customer_version', () => {
  it('has 32 slots at 0 and refuses a 33rd', async () => {
    const slots = await pool.query<{ slot: number; n: string }>('SELECT slot, n::text FROM customer_version ORDER BY slot');
    expect(slots.rows).toEqual(Array.from({ length: 32 }, (_, slot) => ({ slot, n: '0' })));
    await expect(pool.query('INSERT INTO customer_version (slot, n) VALUES (32, 0)')).rejects.toThrow(/customer_version_slot_range/);
  });

  it('grows by one per writing statement, however many rows it writes', async () => {
    expect(await bumps(() => insert(1))).toBe(1);
    expect(await bumps(() => insert(250))).toBe(1);
    expect(await bumps(() => pool.query(`UPDATE customer SET first_name = 'x' WHERE id % 2 = 0`))).toBe(1);
    expect(await bumps(() => pool.query('DELETE FROM customer WHERE id % 3 = 0'))).toBe(1);
    expect(await bumps(() => pool.query('TRUNCATE customer'))).toBe(1);
  });

  it('grows on the upsert the importer runs (its INSERT and its UPDATE both fire)', async () => {
    await insert(3);
    const upsert = () =>
      pool.query(`INSERT INTO customer (id, omnitron_id, email) SELECT id, 9, 'u' FROM customer
                  ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email`);
    expect(await bumps(upsert)).toBe(2);
  });

  it('counts a statement that writes no row (it is counted before it runs), and no reads', async () => {
    expect(await bumps(() => pool.query('DELETE FROM customer WHERE id < 0'))).toBe(1);
    expect(await bumps(() => pool.query('SELECT count(*) FROM customer'))).toBe(0);
  });

  it('ignores statements and transactions that roll back', async () => {
    // One connection throughout: the embedded pool has no other.
    const client = await pool.connect();
    try {
      const before = await version(client);
      await client.query('BEGIN');
      await insert(5, client);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await insert(1, client);
      await client.query('SAVEPOINT s');
      await client.query('DELETE FROM customer');
      await client.query('ROLLBACK TO SAVEPOINT s');
      await client.query('COMMIT');
      expect(await version(client)).toBe(before + 1);
    } finally {
      client.release();
    }
  });

  it('is what the repository reads as the version, and none without a versionTable', async () => {
    const repository = createListRepository({ pool }, customerResource, { versionTable: 'customer_version' });
    expect(await repository.version()).toBe(String(await version()));
    await insert(1);
    expect(await repository.version()).toBe(String(await version()));
    expect(await createListRepository({ pool }, customerResource).version()).toBeNull();
    expect(() => createListRepository({ pool }, customerResource, { versionTable: 'customer_version"; --' })).toThrow(/versionTable/);
  });
});

describe('customer_version under concurrent writers (real server only: embedded PGlite runs one transaction at a time)', () => {
  const slotOf = async (client: pg.ClientBase) => (await client.query<{ s: number }>('SELECT pg_backend_pid() % 32 AS s')).rows[0]!.s;

  /** Connections of their own, so that their backends (and slots) are known. */
  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    return client;
  }

  /** A second connection whose backend shares (or not) the first one's slot. */
  async function partner(first: pg.Client, sameSlot: boolean): Promise<pg.Client> {
    const wanted = await slotOf(first);
    // Backend pids are handed out in turn, so a residue mod 32 comes round within a few dozen tries.
    for (let attempt = 0; attempt < 200; attempt++) {
      const client = await connect();
      if (((await slotOf(client)) === wanted) === sameSlot) return client;
      await client.end();
    }
    throw new Error('no backend with the wanted slot in 200 connections');
  }

  it.skipIf(!hasRealServer())('hides a writer that has not committed, and shows it once committed', async () => {
    const writer = await connect();
    try {
      const before = await version();
      await writer.query('BEGIN');
      await insert(2, writer);
      expect(await version()).toBe(before);
      await writer.query('COMMIT');
      expect(await version()).toBe(before + 1);
    } finally {
      await writer.end();
    }
  });

  it.skipIf(!hasRealServer())('lets writers on different slots commit without waiting for each other', async () => {
    await insert(2);
    const [low, high] = (await pool.query<{ id: number }>('SELECT id FROM customer ORDER BY id LIMIT 2')).rows.map((r) => r.id);
    const first = await connect();
    const second = await partner(first, false);
    try {
      await first.query('BEGIN');
      await first.query(`UPDATE customer SET first_name = 'a' WHERE id = $1`, [low]);
      // Would fail with 55P03 if the second writer had to wait for the first's lock.
      await second.query(`SET lock_timeout = '2s'`);
      const moved = await bumps(() => second.query(`UPDATE customer SET first_name = 'b' WHERE id = $1`, [high]));
      expect(moved).toBe(1);
      await first.query('COMMIT');
    } finally {
      await Promise.all([first.end(), second.end()]);
    }
  });

  it.skipIf(!hasRealServer())(
    'queues writers that share a slot at their first write, so crossing updates do not deadlock',
    async () => {
      await insert(2);
      const [a, b] = (await pool.query<{ id: number }>('SELECT id FROM customer ORDER BY id LIMIT 2')).rows.map((r) => r.id);
      const first = await connect();
      const second = await partner(first, true);
      try {
        const secondPid = (await second.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        const before = await version();
        await first.query('BEGIN');
        await first.query(`UPDATE customer SET first_name = 'first' WHERE id = $1`, [a]);
        await second.query('BEGIN');
        // Waits for the slot before it locks row b (an AFTER trigger would lock b first, then wait).
        const secondUpdate = second.query(`UPDATE customer SET first_name = 'second' WHERE id = $1`, [b]);
        await vi.waitFor(async () => {
          const waiting = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [secondPid]);
          expect(waiting.rowCount).toBe(1);
        });
        await first.query(`UPDATE customer SET last_name = 'first' WHERE id = $1`, [b]);
        await first.query('COMMIT');
        await secondUpdate;
        await second.query('COMMIT');
        expect(await version()).toBe(before + 3);
      } finally {
        await Promise.all([first.end(), second.end()]);
      }
    },
  );

  it.skipIf(!hasRealServer())('counts every committed statement of concurrent transactions, and none rolled back', async () => {
    const before = await version();
    let committed = 0;
    const worker = async (seed: number): Promise<void> => {
      for (let round = 0; round < 10; round++) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          // Each worker writes only its own rows: any deadlock here would be the version's doing.
          await client.query(`INSERT INTO customer (omnitron_id, email) VALUES ($1, 'c')`, [seed]);
          await client.query(`UPDATE customer SET first_name = $2 WHERE omnitron_id = $1`, [seed, `r${round}`]);
          if (round % 3 === 0) await client.query(`DELETE FROM customer WHERE omnitron_id = $1 AND id % 2 = 0`, [seed]);
          const statements = round % 3 === 0 ? 3 : 2;
          if ((seed + round) % 4 === 0) await client.query('ROLLBACK');
          else {
            await client.query('COMMIT');
            committed += statements;
          }
        } finally {
          client.release();
        }
      }
    };
    await Promise.all([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007].map(worker));
    expect(await version()).toBe(before + committed);
  });
});
