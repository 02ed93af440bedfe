/**
 * One round trip per page (repository/page-read.ts): the token's user, the data version, the count
 * and the page in one statement, and PostgreSQL doing only the work the answer needs: no count or
 * page for a refused token, no count when the one known is of the version read, no page past the
 * count. Checked in the plans PostgreSQL executed (EXPLAIN ANALYZE: a node never run has 0 loops),
 * and at the service: one statement per page request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '@prisma/client-runtime-utils';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { spyOnStatements } from '../helpers/statement-spy.js';
import { demoCustomers, type DemoCustomer } from '../../src/customers/demo-data.js';
import { customerResource } from '../../src/customers/customer.resource.js';
import { compileListQuery } from '../../src/resource/list-sql.js';
import { pageReadStatement, splitPageRead, type PageReadParts } from '../../src/repository/page-read.js';
import { userByKey } from '../../src/auth/token-store.js';
import { raw } from '@prisma/client-runtime-utils';
import type pg from 'pg';
import { createListRepository } from '../../src/repository/list-repository.js';
import { CUSTOMER_REPOSITORY_OPTIONS } from '../../src/customers/customer.routes.js';
import type { ReplicaSet } from '../../src/db/replicas.js';
import { createTestPool, hasRealServer } from '../helpers/database.js';

const B = '/api/v1/oms/customers/list-simple/';
/** A summary's totals, read in the background after a range (repository/bucket-totals.ts). */
const TOTALS_READ = /json_agg\(json_build_array\(k, n\)/;
const customers: DemoCustomer[] = Array.from({ length: 25 }, (_, i) => ({
  ...demoCustomers[i % demoCustomers.length]!, id: i + 1, omnitron_id: i + 1, email: `c${i % 2}@example.com`,
}));
const sql = compileListQuery(customerResource);
const ID_ORDER = [{ column: 'id', descending: false }] as const;
const VERSION = raw('SELECT coalesce(sum(n), 0)::text AS v FROM "customer_version"');
const COUNT = sql.count([]);

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ customers });
});
afterAll(async () => t?.close());

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

/** The statement's rows, and how often PostgreSQL ran a scan of `customer` (0: never executed). */
async function run(parts: PageReadParts): Promise<{ result: ReturnType<typeof splitPageRead>; customerScans: number[] }> {
  const statement: Sql = pageReadStatement(parts);
  const rows = await t.db.pool.query<unknown[]>({ text: statement.text, values: statement.values, rowMode: 'array' });
  const plan = await t.db.pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({
    text: `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`, values: statement.values,
  });
  const customerScans: number[] = [];
  const walk = (node: PlanNode) => {
    if (node['Relation Name'] === 'customer') customerScans.push(node['Actual Loops']);
    node.Plans?.forEach(walk);
  };
  walk(plan.rows[0]!['QUERY PLAN'][0].Plan);
  return { result: splitPageRead(rows.fields.map((f) => f.name), rows.rows), customerScans };
}

const version = async () => (await t.db.pool.query<{ v: string }>(VERSION)).rows[0]!.v;
const page = (offset: number, limit = 10) => ({ statement: sql.page([], ID_ORDER, offset, limit), offset });

describe('the page-read statement', () => {
  it('gives the user, the version, the count and the page in select order', async () => {
    const { result } = await run({ gate: userByKey(t.token).statement, version: VERSION, count: COUNT, page: page(20) });
    expect(result.gate).toMatchObject({ isActive: true, admitted: true });
    expect(result.version).toBe(await version());
    expect(result.count).toBe(25);
    const plain = await t.db.pool.query(sql.page([], ID_ORDER, 20, 10));
    expect(result.rows).toEqual(plain.rows);
    expect(Object.keys(result.rows[0]!)).toEqual(customerResource.fields.map((f) => f.name));
  });

  it('reads no count and no page for a key that matches no token', async () => {
    const filtered = sql.count([{ column: 'email', op: '=', sqlType: 'text', value: 'c1@example.com' }]);
    const { result, customerScans } = await run({ gate: userByKey('not-a-key').statement, version: VERSION, count: filtered, page: page(0) });
    expect(result).toEqual({ gate: null, version: await version(), count: null, rows: [] });
    expect(customerScans.length).toBeGreaterThan(0);
    expect(customerScans.every((loops) => loops === 0)).toBe(true);
  });

  it('does not count when the count known is of the version it reads, and counts when it is not', async () => {
    const filtered = sql.count([{ column: 'email', op: '=', sqlType: 'text', value: 'c1@example.com' }]);
    const current = await version();
    const cached = await run({ gate: null, version: VERSION, count: filtered, known: { version: current, count: 7 }, page: null });
    // The known count is answered as it is: proof that PostgreSQL took it instead of counting.
    expect(cached.result.count).toBe(7);
    expect(cached.customerScans.every((loops) => loops === 0)).toBe(true);

    const stale = await run({ gate: null, version: VERSION, count: filtered, known: { version: `${current}0`, count: 7 }, page: null });
    expect(stale.result.count).toBe(12);
    expect(stale.customerScans.some((loops) => loops > 0)).toBe(true);
  });

  it('reads no page that starts at or past the count', async () => {
    const { result, customerScans } = await run({ gate: null, version: VERSION, count: COUNT, known: { version: await version(), count: 25 }, page: page(25) });
    expect(result.count).toBe(25);
    expect(result.rows).toEqual([]);
    expect(customerScans.every((loops) => loops === 0)).toBe(true);
  });
});

describe('GET /list-simple/ reads a page in one statement', () => {
  const spy = spyOnStatements();
  const get = (query: string, headers: Record<string, string> = { authorization: `Token ${t.token}` }) =>
    t.app.inject({ url: `${B}${query}`, headers });

  it.each(['', '?limit=5&page=3', '?email=c1@example.com&sort=-id', '?id__gt=3&page=2&limit=4', '?page=99'])(
    'GET %s: one statement, token and count included',
    async (query) => {
      const res = await get(query);
      expect([200, 404]).toContain(res.statusCode);
      // A range may have a summary's totals read after it, in the background (repository/bucket-totals.ts): not the page's.
      const statements = spy.statements().filter((text) => !TOTALS_READ.test(text));
      expect(statements).toHaveLength(1);
      for (const part of [/api_token/, /customer_version/, /count\(\*\)|"customer_count"/, /LIMIT/]) expect(statements[0]).toMatch(part);
    },
  );


  it('answers a refused token from that one statement too', async () => {
    const res = await get('?limit=5', { authorization: 'Token 0123456789abcdef0123456789abcdef01234567' });
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(res.body)).toEqual({ detail: 'Invalid token.' });
    expect(spy.statements()).toHaveLength(1);
  });
});

describe.skipIf(!hasRealServer())('with replicas', () => {
  /** Every statement text each pool was sent, and a replica set that reads on `replica` alone. */
  function pools() {
    const sent = { primary: [] as string[], replica: [] as string[] };
    const record = (pool: pg.Pool, into: string[]) => {
      const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
      (pool as { query: unknown }).query = (...args: unknown[]) => {
        const first = args[0];
        into.push(typeof first === 'string' ? first : String((first as { text: string }).text));
        return query(...args);
      };
      return pool;
    };
    const primary = record(createTestPool(t.database, 2), sent.primary);
    const replica = record(createTestPool(t.database, 2), sent.replica);
    const replicas = { read: (_primary: pg.Pool, work: (pool: pg.Pool) => Promise<unknown>) => work(replica) } as unknown as ReplicaSet;
    return { sent, primary, replica, replicas };
  }

  it("checks the token on the primary (a revoked token is refused at once), then reads the rest on a replica in one statement", async () => {
    const { sent, primary, replica, replicas } = pools();
    try {
      const repository = createListRepository({ pool: primary, replicas }, customerResource, CUSTOMER_REPOSITORY_OPTIONS);
      const read = await repository.readPage({ conditions: [], ordering: ID_ORDER, limit: 5, page: 2n, gate: userByKey(t.token).statement });
      expect(read.gate).toMatchObject({ admitted: true });
      expect(read.count).toBe(25);
      expect(read.rows.map((r) => r.id)).toEqual([6, 7, 8, 9, 10]);
      expect(sent.primary).toHaveLength(1);
      expect(sent.primary[0]).toMatch(/api_token/);
      expect(sent.replica).toHaveLength(1);
      expect(sent.replica[0]).not.toMatch(/api_token/);

      sent.primary.length = 0;
      sent.replica.length = 0;
      const refused = await repository.readPage({ conditions: [], ordering: ID_ORDER, limit: 5, page: 1n, gate: userByKey('revoked').statement });
      expect(refused).toEqual({ gate: null, version: null, count: null, rows: [] });
      expect(sent.replica).toEqual([]);
    } finally {
      await primary.end();
      await replica.end();
    }
  });
});
