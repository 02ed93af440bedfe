/**
 * customer_id_block and customer_day, from migration …_customer_summaries: rows per block of 1000
 * ids and per UTC day of modified_date, kept by triggers. They are right after the migration on
 * existing rows and after every kind of write; and the counts and deep pages summed from them
 * (resource/summary-sql.ts) are exactly COUNT(*) and OFFSET's, in one snapshot, while other
 * connections write.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { customerResource } from '../../src/customers/customer.resource.js';
import { CUSTOMER_REPOSITORY_OPTIONS } from '../../src/customers/customer.routes.js';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../../src/db/migrate.js';
import { compileListQuery, type KnownTotals, type Sql } from '../../src/resource/list-sql.js';
import { parseTotals, type BucketTotals } from '../../src/resource/summary-sql.js';
import { raw } from '@prisma/client-runtime-utils';
import { createMigratedTestDatabase, createTestDatabase, createTestPool, hasRealServer, inTransaction, type TestDatabase } from '../helpers/database.js';
import { summaryDrift } from '../helpers/fixtures.js';
import { WAIT } from '../helpers/wait.js';
import { createListRepository } from '../../src/repository/list-repository.js';
import { createPgReads, type ListReads } from '../../src/repository/list-reads.js';

const SUMMARIES_MIGRATION = '20261201100000_customer_summaries';

/** ~6000 customers: ids from -3000 to 30000 with gaps, modified over 40 days to the microsecond, some at midnight exactly. */
const FILL = `INSERT INTO customer (id, omnitron_id, email, modified_date)
  SELECT g, g, 'c' || g || '@example.com',
         CASE WHEN g % 13 = 0 THEN timestamptz '2024-01-10T00:00:00Z' + (g % 5) * interval '1 day'
              ELSE timestamptz '2024-01-01T00:00:00Z' + ((g::bigint * 104729) % (40::bigint * 86400000000)) * interval '1 microsecond' END
    FROM generate_series(-3000, 30000) g
   WHERE (g * 7919) % 11 IN (0, 3, -4)`;

describe('the summaries after migrating a table that already has rows', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let dir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    pool = createTestPool(database);
    dir = await mkdtemp(join(tmpdir(), 'oms-migrations-'));
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  });
  afterAll(async () => {
    await pool.end();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts every existing row into its block and day', async () => {
    await rm(join(dir, SUMMARIES_MIGRATION), { recursive: true });
    await migrate(pool, { migrationsDir: dir });
    await pool.query(FILL);
    expect(await migrate(pool)).toEqual({ applied: [SUMMARIES_MIGRATION] });
    expect(await summaryDrift(pool)).toEqual([]);
    const { rows } = await pool.query<{ blocks: string; days: string }>(
      'SELECT (SELECT sum(n) FROM customer_id_block)::text AS blocks, (SELECT sum(n) FROM customer_day)::text AS days',
    );
    const total = (await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM customer')).rows[0]!.n;
    expect(rows[0]).toEqual({ blocks: total, days: total });
  });
});

describe('the summaries and what is summed from them', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    database = await createMigratedTestDatabase();
    pool = createTestPool(database, 8);
    await pool.query(FILL);
    // New rows by default get ids above the filled ones.
    await pool.query(`SELECT setval(pg_get_serial_sequence('customer', 'id'), 100000)`);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('follow inserts, updates that move rows between days or blocks, deletes, rollbacks and TRUNCATE', async () => {
    expect(await summaryDrift(pool)).toEqual([]);
    // The touch trigger moves updated rows to today.
    await pool.query(`UPDATE customer SET first_name = 'moved' WHERE id BETWEEN 100 AND 2500`);
    expect(await summaryDrift(pool)).toEqual([]);
    await inTransaction(pool, async (client) => {
      await client.query(`SET LOCAL oms.preserve_timestamps = 'on'`);
      await client.query(`UPDATE customer SET modified_date = modified_date - interval '3 days 7 hours' WHERE id % 3 = 0`);
      await client.query(`UPDATE customer SET id = id + 40000 WHERE id BETWEEN 20000 AND 21000`);
    });
    expect(await summaryDrift(pool)).toEqual([]);
    await pool.query('DELETE FROM customer WHERE id BETWEEN -500 AND 1500');
    await inTransaction(pool, async (client) => {
      await client.query(`INSERT INTO customer (omnitron_id, email) SELECT g, 'r' || g FROM generate_series(1, 500) g`);
      throw new Rollback();
    }).catch((error: unknown) => {
      if (!(error instanceof Rollback)) throw error;
    });
    expect(await summaryDrift(pool)).toEqual([]);

    const copy = await createMigratedTestDatabase();
    const copyPool = createTestPool(copy);
    try {
      await copyPool.query(FILL);
      await copyPool.query('TRUNCATE customer');
      const { rows } = await copyPool.query<{ n: string }>('SELECT ((SELECT count(*) FROM customer_id_block) + (SELECT count(*) FROM customer_day))::text AS n');
      expect(rows[0]!.n).toBe('0');
      await copyPool.query(FILL);
      expect(await summaryDrift(copyPool)).toEqual([]);
    } finally {
      await copyPool.end();
      await copy.drop();
    }
  });

  // Totals whose every bucket is off by one row, at a chosen version: an answer that used them shows it.
  async function skewedTotals(version: (current: string) => string): Promise<KnownTotals> {
    const current = await readTotals(pool);
    return {
      version: VERSION,
      of(summary) {
        const totals = current.of(summary)!;
        return { version: version(totals.version), keys: totals.keys, prefix: totals.prefix.map((n, i) => n + i) };
      },
    };
  }

  it('take a range\'s interior and a deep page\'s start from totals read at the version the statement reads, and only then', async () => {
    const query = (params: Record<string, string>) => customerResource.parseQuery(new Map(Object.entries(params)));
    const ranges = [query({ modified_date__gte: '2024-01-03T05:00:00Z', modified_date__lt: '2024-01-30T00:00:00Z' }), query({ id__gt: '-1500', id__lte: '24321' })];
    const wholes = [query({ sort: '-id' }), query({ sort: 'modified_date' })];
    const answers = async (known?: KnownTotals) => ({
      counts: await Promise.all(ranges.map(async (r) => (await pool.query((known ? summed : plain).count(r.conditions, known))).rows)),
      pages: await Promise.all(wholes.map(async (w) => (await pool.query((known ? summed : plain).page(w.conditions, w.ordering, 2_345, 5, known))).rows)),
    });
    const expected = await answers();
    const atTheirVersion = await answers(await skewedTotals((v) => v));
    for (let i = 0; i < 2; i++) {
      expect(atTheirVersion.counts[i]).not.toEqual(expected.counts[i]);
      expect(atTheirVersion.pages[i]).not.toEqual(expected.pages[i]);
    }
    expect(await answers(await skewedTotals((v) => String(BigInt(v) + 1n)))).toEqual(expected);
  });

  it('are kept by the repository per version: read after a statement wanted them, then used by the next ones', async () => {
    const statements: string[] = [];
    const repository = createListRepository(
      { pool, readsOn: (readPool) => spyOn(createPgReads(readPool), (statement) => statements.push(statement.text)) },
      customerResource,
      CUSTOMER_REPOSITORY_OPTIONS,
    );
    const { conditions, ordering } = customerResource.parseQuery(new Map([['id__gt', '1234'], ['sort', '-id']]));
    const expected = Number((await pool.query<{ n: string }>(plain.count(conditions))).rows[0]!.n);
    const first = await repository.readPage({ conditions, ordering, limit: 5, page: 1n });
    expect(first.count).toBe(expected);
    // The first one summed the summary; the totals are read after it, in the background.
    await vi.waitFor(async () => {
      statements.length = 0;
      // Another bound each time: no count cached for it.
      const next = await repository.readPage({ conditions: [{ ...conditions[0]!, value: String(1234 + statements.length + Math.floor(Math.random() * 500)) }], ordering, limit: 5, page: 1n });
      expect(next.count).toBeGreaterThan(0);
      expect(statements.join('\n')).toMatch(/CASE WHEN \(SELECT coalesce\(sum\(n\), 0\)::text AS v FROM "customer_version"\) = \$\d+::text THEN \$\d+::numeric/);
    }, WAIT);
    const again = await repository.readPage({ conditions, ordering, limit: 5, page: 1n });
    expect(again.count).toBe(expected);
  });

  it('give the count and page rows of COUNT(*) and OFFSET for random ranges and pages, while other connections write', async () => {
    const writers = hasRealServer() ? startWriters(pool, 4) : null;
    // Totals read once before the cases: stale as soon as another connection writes (on a server), and
    // in each case's snapshot, current.
    const stale = await readTotals(pool);
    try {
      await fc.assert(
        fc.asyncProperty(queryArb, async (q) => {
          const { conditions, ordering } = customerResource.parseQuery(new Map(Object.entries(q.params)));
          const plainCount = plain.count(conditions);
          const summedCount = summed.count(conditions);
          // The summary is used exactly when the conditions are one range on a summarised column.
          expect(summedCount.text === plainCount.text).toBe(!q.range);
          const results = await inTransaction(pool, async (client) => {
            // One snapshot for all of them, so concurrent writes cannot tell them apart.
            await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
            const current = await readTotals(client);
            const counted = (await client.query(plainCount)).rows;
            // Offsets anywhere in the matches, at their very end and just past it, as often as anywhere.
            const offset = Math.max(0, Math.floor(q.position * Number((counted[0] as { n: string }).n)) + q.nudge);
            const plainPage = plain.page(conditions, ordering, offset, q.limit);
            const summedPage = summed.page(conditions, ordering, offset, q.limit);
            expect(summedPage.text === plainPage.text).toBe(!q.deep);
            const run = async (statement: Sql) => (await client.query(statement)).rows;
            return {
              expectedCount: counted,
              counts: [await run(summedCount), await run(summed.count(conditions, current)), await run(summed.count(conditions, stale))],
              expectedPage: await run(plainPage),
              pages: [await run(summedPage), await run(summed.page(conditions, ordering, offset, q.limit, current)), await run(summed.page(conditions, ordering, offset, q.limit, stale))],
            };
          });
          for (const count of results.counts) expect(count).toEqual(results.expectedCount);
          for (const page of results.pages) expect(page).toEqual(results.expectedPage);
        }),
        // Fewer on the embedded database: the same engine without concurrent writers, at this process's CPU.
        { numRuns: hasRealServer() ? 250 : 100 },
      );
    } finally {
      const done = await writers?.stop();
      if (done) expect(done.writes).toBeGreaterThan(20);
    }
    expect(await summaryDrift(pool)).toEqual([]);
  }, 90_000);
});

const plain = compileListQuery(customerResource);
// Every page through the summary, however shallow, so that small data exercises it.
const summed = compileListQuery(customerResource, { summaries: { ...CUSTOMER_REPOSITORY_OPTIONS.summaries, deepPageOffset: 0 } });

const DAY_US = 86_400_000_000;
const T0 = Date.parse('2024-01-01T00:00:00Z');

/** An instant as Django accepts it, to the microsecond, in UTC or at +03:00. */
function instant(us: number, offset: boolean): string {
  const ms = Math.floor(us / 1000);
  const micros = String(((us % 1000) + 1000) % 1000).padStart(3, '0');
  if (!offset) return new Date(T0 + ms).toISOString().replace('Z', `${micros}Z`);
  return new Date(T0 + ms + 3 * 3_600_000).toISOString().replace('Z', `${micros}+03:00`);
}

const idValue = fc.oneof(
  fc.integer({ min: -3500, max: 31000 }),
  // Block edges.
  fc.tuple(fc.integer({ min: -4, max: 31 }), fc.integer({ min: -1, max: 1 })).map(([block, d]) => block * 1000 + d),
);
const dateValue = fc.tuple(
  fc.oneof(
    fc.integer({ min: -2 * DAY_US, max: 42 * DAY_US }),
    // Midnights, where the day buckets meet.
    fc.tuple(fc.integer({ min: -2, max: 42 }), fc.integer({ min: -1, max: 1 })).map(([day, d]) => day * DAY_US + d),
  ),
  fc.boolean(),
).map(([us, offset]) => instant(us, offset));

interface Case {
  params: Record<string, string>;
  /** The conditions are a range on id or modified_date alone. */
  range: boolean;
  /** The page goes through the summary: a range (or nothing) on the column the ordering starts with. */
  deep: boolean;
  /** Where the page starts, as a share of the matches, and a few rows either side of it. */
  position: number;
  nudge: number;
  limit: number;
}

const queryArb: fc.Arbitrary<Case> = fc
  .record({
    column: fc.constantFrom('id', 'modified_date', 'none', 'other'),
    lower: fc.option(fc.constantFrom('gt', 'gte')),
    upper: fc.option(fc.constantFrom('lt', 'lte')),
    id: fc.tuple(idValue, idValue),
    date: fc.tuple(dateValue, dateValue),
    sort: fc.constantFrom('id', '-id', 'modified_date', '-modified_date', 'modified_date,-id', '-modified_date,id'),
    position: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1)),
    nudge: fc.integer({ min: -12, max: 3 }),
    limit: fc.integer({ min: 1, max: 30 }),
  })
  .map(({ column, lower, upper, id, date, sort, position, nudge, limit }) => {
    const params: Record<string, string> = { sort };
    const values = column === 'id' ? id.map(String) : date;
    if (column === 'id' || column === 'modified_date') {
      if (lower) params[`${column}__${lower}`] = values[0]!;
      if (upper) params[`${column}__${upper}`] = values[1]!;
    }
    // Not a range: another filter beside it.
    if (column === 'other') Object.assign(params, { id__gt: String(id[0]), modified_date__lt: date[1] });
    const bounded = (column === 'id' || column === 'modified_date') && Boolean(lower ?? upper);
    const unfiltered = column === 'none' || ((column === 'id' || column === 'modified_date') && !bounded);
    const sortColumn = sort.replace(/^-/, '').split(',')[0];
    return { params, range: bounded, deep: unfiltered || (bounded && sortColumn === column), position, nudge, limit };
  });

class Rollback extends Error {}

/** `reads` with every page read's statement shown to `see` first. */
function spyOn(reads: ListReads, see: (statement: Sql) => void): ListReads {
  return { ...reads, pageRead: (statement) => (see(statement), reads.pageRead(statement)) };
}

/** The data version as the repository reads it (list-repository.ts versionSum). */
const VERSION = raw('SELECT coalesce(sum(n), 0)::text AS v FROM "customer_version"');

/** Every summary's totals as they are now, for statements to use while the version stays (bucket-totals.ts). */
async function readTotals(db: pg.Pool | pg.PoolClient): Promise<KnownTotals> {
  const totals = new Map<string, BucketTotals>();
  for (const { summary, statement } of summed.totalsStatements(VERSION)) {
    const { rows } = await db.query<{ v: string; t: unknown }>(statement);
    const parsed = parseTotals(rows[0]!.v, rows[0]!.t);
    if (parsed) totals.set(summary, parsed);
  }
  expect(totals.size).toBe(2);
  return { version: VERSION, of: (summary) => totals.get(summary) };
}

/** Connections inserting, updating (to today, or to kept timestamps), deleting and rolling back until stopped. */
function startWriters(pool: pg.Pool, count: number) {
  let stopped = false;
  let writes = 0;
  const random = (n: number) => Math.floor(Math.random() * n);
  const operations = [
    (c: pg.PoolClient) => c.query(
      `INSERT INTO customer (id, omnitron_id, email, modified_date)
       SELECT g, g, 'w' || g, timestamptz '2024-01-01T00:00:00Z' + random() * interval '40 days'
         FROM generate_series($1::int, $1::int + 40) g WHERE random() < 0.5 ON CONFLICT (id) DO NOTHING`,
      [random(34000) - 3000],
    ),
    (c: pg.PoolClient) => c.query(`UPDATE customer SET last_name = 'w' WHERE id BETWEEN $1 AND $1 + 60`, [random(34000) - 3000]),
    async (c: pg.PoolClient) => {
      await c.query(`SET LOCAL oms.preserve_timestamps = 'on'`);
      await c.query(`UPDATE customer SET modified_date = modified_date + interval '1 day' * ($2::int - 3) WHERE id BETWEEN $1 AND $1 + 60`, [random(34000) - 3000, random(7)]);
    },
    (c: pg.PoolClient) => c.query('DELETE FROM customer WHERE id BETWEEN $1 AND $1 + 25', [random(34000) - 3000]),
    async (c: pg.PoolClient) => {
      await c.query(`INSERT INTO customer (omnitron_id, email) SELECT g, 'x' || g FROM generate_series(1, 20) g`);
      await c.query('DELETE FROM customer WHERE id IN (SELECT id FROM customer WHERE id > 30000 ORDER BY id LIMIT 10)');
    },
  ];
  const loops = Array.from({ length: count }, async () => {
    while (!stopped) {
      const write = operations[random(operations.length)]!;
      const rollback = random(6) === 0;
      try {
        await inTransaction(pool, async (client) => {
          await write(client);
          if (rollback) throw new Rollback();
        });
        writes += 1;
      } catch (error) {
        // Rows updated in different orders by two writers may deadlock, as without the summaries.
        if (!(error instanceof Rollback) && (error as pg.DatabaseError).code !== '40P01') throw error;
      }
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return { writes };
    },
  };
}
