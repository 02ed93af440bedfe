/**
 * Exact counts cached per (canonical filter, data version) (ours, repository/count-cache.ts): the
 * pages after the first of one filtered set run no count, a committed write makes the next page
 * count again, and under concurrent writes every count served is COUNT(*) of some state the data
 * was in during the read, and the one after the writes once they are done.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spyOnStatements } from '../helpers/statement-spy.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { demoCustomers, type DemoCustomer } from '../../src/customers/demo-data.js';
import { customerResource } from '../../src/customers/customer.resource.js';
import { createListRepository, type ListRepository } from '../../src/repository/list-repository.js';
import { createPgReads, type ListReads } from '../../src/repository/list-reads.js';
import { createPrismaReads } from '../../src/repository/prisma-reads.js';

const B = '/api/v1/oms/customers/list-simple/';
const customers: DemoCustomer[] = Array.from({ length: 30 }, (_, i) => ({
  ...demoCustomers[i % demoCustomers.length]!, id: i + 1, omnitron_id: i + 1, email: `c${i % 3}@example.com`,
}));

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ customers });
});
afterAll(async () => t?.close());

const get = (query: string) => t.app.inject({ url: `${B}${query}`, headers: { authorization: `Token ${t.token}` } });
const countOf = async (query: string) => {
  const res = await get(query);
  expect(res.statusCode, query).toBe(200);
  return (JSON.parse(res.body) as { count: number }).count;
};

describe('GET /list-simple/ counts once per filter and data version', () => {
  const spy = spyOnStatements();
  // A page read counts unless it carries a count known at the version it reads (repository/page-read.ts:
  // `CASE WHEN a.v = $k THEN <count> ELSE (SELECT count(*) …)`; PostgreSQL then never runs the count,
  // which test/repository/page-read.test.ts shows). The version now is the one those reads saw.
  const KNOWN = /CASE WHEN a\.v = \$(\d+)::text THEN/;
  const counted = async () => {
    const { rows } = await t.db.pool.query<{ v: string }>('SELECT coalesce(sum(n), 0)::text AS v FROM customer_version');
    return spy
      .calls()
      .filter(({ text, values }) => {
        if (!/count\(\*\)|"customer_count"/.test(text)) return false;
        const known = KNOWN.exec(text);
        return !known || values[Number(known[1]) - 1] !== rows[0]?.v;
      })
      .map(({ text }) => text);
  };

  it('runs no count for the second and later pages of a filtered set, whichever spelling of the filter', async () => {
    expect(await countOf('?id__gt=5&limit=4')).toBe(25);
    expect(await counted()).toHaveLength(1);
    // The version and the count in one statement: the count is cached under what it saw.
    expect((await counted())[0]).toMatch(/customer_version/);
    spy.clear();
    for (const query of ['?id__gt=5&limit=4&page=2', '?limit=4&page=3&id__gt=05', '?id__gt=%205&limit=4&page=last']) {
      expect(await countOf(query)).toBe(25);
    }
    // The spy sees the pages it could have seen counts beside: a test that saw nothing would prove nothing.
    expect(spy.statements().filter((sql) => /\bLIMIT\b/.test(sql))).toHaveLength(3);
    // `page=last` reads its count before its page: two statements.
    expect(spy.statements().filter((sql) => /customer_version/.test(sql))).toHaveLength(4);
    expect(await counted()).toEqual([]);
  });

  it('counts each filter for itself, and the unfiltered list once too', async () => {
    expect(await countOf('?email=c1@example.com&limit=2')).toBe(10);
    expect(await countOf('?limit=2')).toBe(30);
    expect(await counted()).toHaveLength(2);
    spy.clear();
    expect(await countOf('?email=c1@example.com&limit=2&page=2')).toBe(10);
    expect(await countOf('?limit=2&page=2')).toBe(30);
    expect(await counted()).toEqual([]);
  });

  it('counts again after a committed write, and not after a rolled-back one', async () => {
    expect(await countOf('?id__gt=20&limit=3')).toBe(10);
    const client = await t.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM customer WHERE id > 20');
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    spy.clear();
    expect(await countOf('?id__gt=20&limit=3&page=2')).toBe(10);
    expect(await counted()).toEqual([]);

    await t.db.pool.query('DELETE FROM customer WHERE id = 30');
    spy.clear();
    expect(await countOf('?id__gt=20&limit=3&page=2')).toBe(9);
    expect(await counted()).toHaveLength(1);
    spy.clear();
    expect(await countOf('?id__gt=20&limit=3&page=3')).toBe(9);
    expect(await counted()).toEqual([]);

    // A write to rows the filter does not select bumps the version all the same: counted again, same number.
    await t.db.pool.query(`UPDATE customer SET first_name = 'Other' WHERE id = 1`);
    spy.clear();
    expect(await countOf('?id__gt=20&limit=3&page=2')).toBe(9);
    expect(await counted()).toHaveLength(1);
    await t.db.pool.query(`INSERT INTO customer (id, omnitron_id, email) VALUES (30, 30, 'c2@example.com')`);
  });
});

describe('ListRepository.count under concurrent writes (property)', () => {
  // Ids 1..40 and two emails: inserts, deletes and updates move rows in and out of every filter.
  const FILTERS = ['', 'id__gt=20', 'id__lte=10', 'email=c1@example.com', 'email=c1@example.com&id__gt=15'];
  const write = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), id: fc.integer({ min: 1, max: 40 }), email: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('update' as const), id: fc.integer({ min: 1, max: 40 }), email: fc.integer({ min: 0, max: 2 }) }),
  );
  type Write = typeof write extends fc.Arbitrary<infer W> ? W : never;
  const runWrite = (w: Write) => {
    const pool = t.db.pool;
    if (w.kind === 'insert') {
      return pool.query(`INSERT INTO customer (id, omnitron_id, email) VALUES ($1, $1, $2) ON CONFLICT (id) DO NOTHING`, [w.id, `c${w.email}@example.com`]);
    }
    if (w.kind === 'delete') return pool.query('DELETE FROM customer WHERE id = $1', [w.id]);
    return pool.query('UPDATE customer SET email = $2 WHERE id = $1', [w.id, `c${w.email}@example.com`]);
  };
  const conditionsOf = (filter: string) => customerResource.parseQuery(new Map(new URLSearchParams(filter))).conditions;
  const truth = async (filter: string) => {
    const { rows } = await t.db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM customer WHERE ${[
        filter.includes('id__gt=20') ? 'id > 20' : 'true',
        filter.includes('id__lte=10') ? 'id <= 10' : 'true',
        filter.includes('email=') ? `email = 'c1@example.com'` : 'true',
        filter.includes('id__gt=15') ? 'id > 15' : 'true',
      ].join(' AND ')}`,
    );
    return Number(rows[0]!.n);
  };

  /** The view's two reads: the version (as conditional GET reads it), then the count handed that version. */
  const readCount = async (repository: ListRepository, filter: string) =>
    repository.count(conditionsOf(filter), { version: await repository.version() });

  it.each(['pg', 'prisma'] as const)('serves exact counts, never a count of data since changed (reads on %s)', async (client) => {
    let queries = 0;
    const reads = (pool: pg.Pool): ListReads => {
      const inner = client === 'pg' ? createPgReads(pool) : createPrismaReads(() => t.db.prisma());
      return { ...inner, versionedCount: (statement) => (queries++, inner.versionedCount(statement)) };
    };
    const repository = createListRepository({ pool: t.db.pool, readsOn: reads }, customerResource, {
      unfilteredCountTable: 'customer_count', versionTable: 'customer_version',
    });
    let countReads = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.option(write, { nil: null }), fc.constantFrom(...FILTERS)), { minLength: 1, maxLength: 6 }), async (steps) => {
        for (const [w, filter] of steps) {
          const before = await truth(filter);
          // A write racing two reads of the filter: each sees the data before or after it, never anything else.
          const [, ...during] = await Promise.all([w ? runWrite(w) : null, readCount(repository, filter), readCount(repository, filter)]);
          const after = await truth(filter);
          for (const n of during) expect([before, after]).toContain(n);
          // Once the write is done, the count is the new one, cached or not.
          expect(await readCount(repository, filter)).toBe(after);
          for (const f of FILTERS) expect(await readCount(repository, f), f).toBe(await truth(f));
          countReads += 3 + FILTERS.length;
        }
      }),
      { numRuns: 12 },
    );
    // The cache answered some of them: otherwise this tested only COUNT(*).
    expect(queries).toBeGreaterThan(0);
    expect(queries).toBeLessThan(countReads);
  });
});
