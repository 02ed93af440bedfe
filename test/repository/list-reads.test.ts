/**
 * The list's reads through Prisma's `$queryRaw` (repository/prisma-reads.ts) against the same
 * statements on `pg` (repository/list-reads.ts): the same rows, value types and key order for
 * every column kind (int4, DRF timestamp text, text, NULL) and the same counts (int8), on
 * statements from resource/list-sql.ts; no named prepared statements from Prisma; and database errors that
 * db/unavailable.ts still tells apart.
 */
import { raw } from '@prisma/client-runtime-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { customerResource } from '../../src/customers/customer.resource.js';
import { demoCustomers, type DemoCustomer } from '../../src/customers/demo-data.js';
import { insertCustomers } from '../../src/customers/seed.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { isDatabaseUnavailable } from '../../src/db/unavailable.js';
import { Prisma } from '../../src/generated/prisma/client.js';
import { createPgReads, type ListReads } from '../../src/repository/list-reads.js';
import { createPrismaReads, PrismaReadError } from '../../src/repository/prisma-reads.js';
import { compileListQuery } from '../../src/resource/list-sql.js';
import { createMigratedTestDatabase, hasRealServer, type TestDatabase } from '../helpers/database.js';

/** Beyond the demo rows: NULL channel, ERP code set, whole-second and int4-extreme values, quotes. */
const edgeRows: DemoCustomer[] = [
  {
    id: 2_000_000_000, created_date: '2024-02-29T23:59:59Z', modified_date: '2024-03-01T00:00:00.000001Z',
    omnitron_id: 2_147_483_647, email: "o'hara@example.com", first_name: '', last_name: 'Ö"z',
    phone_number: null, erp_code: 'ERP-1', channel: null,
  },
  {
    id: 11, created_date: '1999-12-31T23:59:59.5Z', modified_date: '1999-12-31T23:59:59.5Z',
    omnitron_id: -2_147_483_648, email: 'min@example.com', first_name: 'İ', last_name: '😀',
    phone_number: '+90 (5)', erp_code: '', channel: 1,
  },
];

const sql = compileListQuery(customerResource);
const parse = (query: Record<string, string>) => customerResource.parseQuery(new Map(Object.entries(query)));

/** Page and count statements as the repository builds them, for filters of each value type. */
const QUERIES: Record<string, string>[] = [
  {},
  { sort: '-modified_date' },
  { id__gt: '5', id__lte: '2000000000' },
  { email: "o'hara@example.com" },
  { modified_date__gte: '2023-09-01T00:00:00Z' },
  { channel_id: '1', sort: '-id' },
  { erp_code: 'nothing matches' },
];

let database: TestDatabase;
let db: Database;
let viaPg: ListReads;
let viaPrisma: ListReads;

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  // One connection: the prepared-statement check below must look at the connection the reads used.
  db = await openDatabase(defaultConfig({ DATABASE_URL: database.url, DB_POOL_MAX: 1 }));
  await insertCustomers(db.pool, [...demoCustomers, ...edgeRows]);
  viaPg = createPgReads(db.pool);
  viaPrisma = createPrismaReads(() => db.prisma());
});

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

describe('list statements (resource/list-sql.ts)', () => {
  it('bind every filter value and the OFFSET as parameters; LIMIT is the parsed integer; identifiers come from the declaration', () => {
    const hostile = "x'; DROP TABLE customer; --";
    const { conditions, ordering } = parse({ email: hostile, id__gt: '3' });
    const page = sql.page(conditions, ordering, 20, 10);
    expect(page.text).not.toContain(hostile);
    expect(page.text).toContain('"id" > $1::bigint AND "email" = $2::text');
    // A literal LIMIT lets a prepared statement's generic plan see the page size (db/prepared-statements.ts).
    expect(page.text).toContain('LIMIT 10 OFFSET $3');
    expect(page.values).toEqual(['3', hostile, '20']);
    // A first page has no OFFSET at all.
    expect(sql.page(conditions, ordering, 0, 10).text).not.toContain('OFFSET');
    expect(() => sql.page(conditions, ordering, 0, 1.5)).toThrow(RangeError);
    expect(sql.count(conditions).values).toEqual(['3', hostile]);
  });

  it("are what the generated client's Prisma.sql writes", () => {
    const { conditions } = parse({ email: 'a@b.c', id__gte: '7' });
    const byHand = Prisma.sql`SELECT count(*) AS n FROM "customer" WHERE "id" >= ${'7'}::bigint AND "email" = ${'a@b.c'}::text`;
    const compiled = sql.count(conditions);
    expect([compiled.text, compiled.values]).toEqual([byHand.text, byHand.values]);
  });

  it("where() with a placeholder writes it in each value's place and returns the values beside the text (COPY)", () => {
    const { conditions } = parse({ email: 'a@b.c', id__gt: '3' });
    expect(sql.where(conditions, (i) => `current_setting('v${i}')`)).toEqual({
      text: ` WHERE "id" > current_setting('v0')::bigint AND "email" = current_setting('v1')::text`,
      values: ['3', 'a@b.c'],
    });
    expect(sql.where([], (i) => `v${i}`)).toEqual({ text: '', values: [] });
    expect(sql.where([]).text).toBe('');
  });
});

describe("Prisma's $queryRaw and pg on the same statements", () => {
  it.each(QUERIES.map((q) => [JSON.stringify(q), q] as const))('page %s: the same rows, types and key order', async (_, query) => {
    const { conditions, ordering } = parse(query);
    for (const [offset, limit] of [[0, 5], [3, 100]] as const) {
      const statement = sql.page(conditions, ordering, offset, limit);
      const [expected, actual] = [await viaPg.page(statement), await viaPrisma.page(statement)];
      // Byte-identical JSON means the same keys in the same order, the same values and the same types.
      expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
      expect(actual).toEqual(expected);
    }
  });

  it('gives every column kind as pg does: int4 a number, timestamp text a string, NULL null', async () => {
    const { conditions, ordering } = parse({ id__gt: '10' });
    const [row, min] = await viaPrisma.page(sql.page(conditions, ordering, 0, 10)).then((rows) => [rows.at(-1), rows[0]]);
    expect(row).toEqual({
      id: 2_000_000_000, created_date: '2024-02-29T23:59:59Z', modified_date: '2024-03-01T00:00:00.000001Z',
      omnitron_id: 2_147_483_647, email: "o'hara@example.com", first_name: '', last_name: 'Ö"z',
      phone_number: null, erp_code: 'ERP-1', channel: null,
    });
    expect(min).toMatchObject({ id: 11, created_date: '1999-12-31T23:59:59.500000Z', omnitron_id: -2_147_483_648, erp_code: '' });
  });

  it.each(QUERIES.map((q) => [JSON.stringify(q), q] as const))('count %s: the same number', async (_, query) => {
    const { conditions } = parse(query);
    const statement = conditions.length === 0 ? raw('SELECT n FROM customer_count') : sql.count(conditions);
    const expected = await viaPg.count(statement);
    expect(await viaPrisma.count(statement)).toBe(expected);
    expect(typeof expected).toBe('number');
  });

  it('counts the whole table from customer_count (int8) as a number', async () => {
    expect(await viaPrisma.count(raw('SELECT n FROM customer_count'))).toBe(demoCustomers.length + edgeRows.length);
  });

  it('Prisma names no prepared statement on the connection (the pg reads\' own are db/prepared-statements.ts\'s)', async () => {
    const named = async () => (await db.pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows;
    const before = await named();
    const { conditions, ordering } = parse({ email: 'prisma.only@akinon.com' });
    await viaPrisma.page(sql.page(conditions, ordering, 0, 10));
    await viaPrisma.count(sql.count(conditions));
    expect(await named()).toEqual(before);
  });

  it('creates the Prisma client at the first read, not before', async () => {
    let created = 0;
    const reads = createPrismaReads(() => {
      created += 1;
      return db.prisma();
    });
    expect(created).toBe(0);
    await reads.count(raw('SELECT n FROM customer_count'));
    expect(created).toBe(1);
  });

  it("a query's own error keeps its SQLSTATE and message and is not 'unavailable' (500, not 503)", async () => {
    const error = await viaPrisma.page(raw('SELECT 1/0 AS n')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrismaReadError);
    expect(error).toMatchObject({ code: '22012', message: 'division by zero' });
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

describe.skipIf(!hasRealServer())('database errors through Prisma on a PostgreSQL server', () => {
  it('statement_timeout and a terminated backend come out as unavailable (503), as from pg', async () => {
    const timed = await openDatabase(defaultConfig({ DATABASE_URL: database.url, DB_POOL_MAX: 1, DB_STATEMENT_TIMEOUT_MS: 50 }));
    try {
      const reads = createPrismaReads(() => timed.prisma());
      for (const [statement, code] of [
        [raw('SELECT pg_sleep(1)'), '57014'],
        [raw('SELECT pg_terminate_backend(pg_backend_pid())'), '57P01'],
      ] as const) {
        const fromPrisma = await reads.page(statement).catch((e: unknown) => e);
        const fromPg = await createPgReads(timed.pool).page(statement).catch((e: unknown) => e);
        expect(fromPrisma).toMatchObject({ code, message: (fromPg as Error).message });
        expect(isDatabaseUnavailable(fromPrisma)).toBe(true);
      }
    } finally {
      await timed.close();
    }
  });

  it('an unreachable server comes out as unavailable (503)', async () => {
    const url = new URL(database.url);
    url.port = '1';
    const down = await openDatabase(defaultConfig({ DATABASE_URL: url.toString(), DB_POOL_MAX: 1, DB_CONNECT_TIMEOUT_MS: 1_000 }));
    try {
      const error = await createPrismaReads(() => down.prisma()).page(raw('SELECT 1')).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ECONNREFUSED' });
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await down.close();
    }
  });
});
