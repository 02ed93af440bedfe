/**
 * DB_READ_CLIENT through the whole app: the same requests answered by an app reading with `pg`
 * and one reading through Prisma give the same status and the same bytes (the transcript and
 * property tests run on the default, pg; repository/list-reads.test.ts compares the two clients
 * statement by statement).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { demoCustomers } from '../../src/customers/demo-data.js';

const URL_PATH = '/api/v1/oms/customers/list-simple/';
const QUERIES = [
  '',
  '?limit=3&page=2',
  '?sort=-modified_date&limit=4',
  '?id__gt=3&id__lte=8',
  '?email=ali.test%40akinon.com',
  '?modified_date__gte=2023-09-01T00%3A00%3A00Z',
  '?channel_id=1&sort=-id',
  '?erp_code=none',
  '?page=last&limit=4',
  '?page=99',
  '?id__gt=x',
  '?format=csv&limit=5',
];

let apps: Record<'pg' | 'prisma', TestApp>;

beforeAll(async () => {
  apps = {
    pg: await createTestApp({ customers: demoCustomers, config: { DB_READ_CLIENT: 'pg' } }),
    prisma: await createTestApp({ customers: demoCustomers, config: { DB_READ_CLIENT: 'prisma' } }),
  };
}, 60_000);

afterAll(async () => {
  await apps?.pg.close();
  await apps?.prisma.close();
});

describe('DB_READ_CLIENT', () => {
  it.each(QUERIES)('GET %s: the same status and bytes from pg and Prisma reads', async (query) => {
    const get = async (t: TestApp) => {
      const res = await t.app.inject({ method: 'GET', url: `${URL_PATH}${query}`, headers: { authorization: `Token ${t.token}` } });
      return { status: res.statusCode, type: res.headers['content-type'], body: res.body };
    };
    const [viaPg, viaPrisma] = [await get(apps.pg), await get(apps.prisma)];
    expect(viaPrisma).toEqual(viaPg);
  });

  it('reads a page, its count and the token through Prisma, in one query, only when DB_READ_CLIENT=prisma', async () => {
    const prismaCalls = (t: TestApp) => {
      const calls = { n: 0 };
      const original = t.db.prisma.bind(t.db);
      t.db.prisma = () => {
        calls.n += 1;
        return original();
      };
      return calls;
    };
    const calls = { pg: prismaCalls(apps.pg), prisma: prismaCalls(apps.prisma) };
    for (const t of [apps.pg, apps.prisma]) {
      const res = await t.app.inject({ method: 'GET', url: `${URL_PATH}?id__gt=2`, headers: { authorization: `Token ${t.token}` } });
      expect(res.statusCode).toBe(200);
    }
    expect(calls.pg.n).toBe(0);
    expect(calls.prisma.n).toBe(1);
  });
});
