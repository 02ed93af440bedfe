/**
 * Property test: random combinations of filters, sort, page and limit agree
 * with a reference computed here from the same rows, and nothing is ever a 5xx.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import type { DemoCustomer } from '../../src/customers/demo-data.js';

const NAMES = ['Ali', 'İpek', 'ipek', 'Çağla', 'Zoë', ''];
const STAMPS = [
  '2023-06-19T12:00:00.000000Z',
  '2023-06-19T12:00:00.000001Z',
  '2022-01-01T00:00:00.500000Z',
  '2021-05-26T19:20:20.000000Z',
  '2024-02-29T23:59:59.999999Z',
];
const drf = (stamp: string) => stamp.replace('.000000Z', 'Z');

const rows: DemoCustomer[] = Array.from({ length: 57 }, (_, i) => {
  const id = i * 2 + 1; // gaps, like real ids
  return {
    id,
    created_date: drf(STAMPS[(i * 3) % STAMPS.length]!),
    modified_date: drf(STAMPS[i % STAMPS.length]!),
    omnitron_id: 100 + i,
    email: `c${i % 7}@example.com`,
    first_name: NAMES[i % NAMES.length]!,
    last_name: i % 2 ? 'Test' : 'Öz',
    phone_number: i % 4 === 0 ? null : `0555${i % 3}`,
    erp_code: i % 5 === 0 ? `E${i % 2}` : null,
    channel: i % 6 === 0 ? null : (i % 3) + 1,
  };
});

const full = (stamp: string) => (stamp.endsWith('.000000Z') || /\.\d{6}Z$/.test(stamp) ? stamp : stamp.replace('Z', '.000000Z'));

interface Query {
  sort?: string;
  id__gt?: number;
  id__lte?: number;
  first_name?: string;
  email?: string;
  phone_number?: string;
  channel_id?: number;
  modified_date__gte?: string;
  modified_date__lt?: string;
  page?: string;
  limit?: string;
}

const queryArb: fc.Arbitrary<Query> = fc.record(
  {
    sort: fc.constantFrom('id', '-id', 'modified_date', '-modified_date', 'modified_date,-id', '-modified_date,id'),
    id__gt: fc.integer({ min: -5, max: 120 }),
    id__lte: fc.integer({ min: -5, max: 120 }),
    first_name: fc.constantFrom(...NAMES.filter(Boolean), 'Nobody'),
    email: fc.constantFrom('c1@example.com', 'c3@example.com', 'none@x'),
    phone_number: fc.constantFrom('05550', '05551', '05552'),
    channel_id: fc.integer({ min: 0, max: 4 }),
    modified_date__gte: fc.constantFrom(...STAMPS),
    modified_date__lt: fc.constantFrom(...STAMPS),
    page: fc.oneof(fc.integer({ min: -1, max: 8 }).map(String), fc.constantFrom('last', 'abc', '1.0', '')),
    limit: fc.oneof(fc.integer({ min: -2, max: 30 }).map(String), fc.constantFrom('abc', '5000', '')),
  },
  { requiredKeys: [] },
);

function reference(q: Query, defaultSize = 10, maxSize = 1000) {
  let result = rows.filter(
    (r) =>
      (q.id__gt === undefined || r.id > q.id__gt) &&
      (q.id__lte === undefined || r.id <= q.id__lte) &&
      (q.first_name === undefined || r.first_name === q.first_name) &&
      (q.email === undefined || r.email === q.email) &&
      (q.phone_number === undefined || r.phone_number === q.phone_number) &&
      (q.channel_id === undefined || r.channel === q.channel_id) &&
      (q.modified_date__gte === undefined || full(r.modified_date) >= q.modified_date__gte) &&
      (q.modified_date__lt === undefined || full(r.modified_date) < q.modified_date__lt),
  );
  const terms = (q.sort ?? 'id').split(',').map((t) => ({ key: t.replace('-', '') as 'id' | 'modified_date', desc: t.startsWith('-') }));
  if (!terms.some((t) => t.key === 'id')) terms.push({ key: 'id', desc: terms[terms.length - 1]!.desc });
  result = [...result].sort((a, b) => {
    for (const { key, desc } of terms) {
      const [x, y] = key === 'id' ? [a.id, b.id] : [full(a.modified_date), full(b.modified_date)];
      if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
    }
    return 0;
  });
  const limitNumber = q.limit !== undefined && /^\d+$/.test(q.limit) ? Number(q.limit) : 0;
  const size = limitNumber > 0 ? Math.min(limitNumber, maxSize) : defaultSize;
  const numPages = Math.max(1, Math.ceil(result.length / size));
  const page = q.page === undefined ? 1 : q.page === 'last' ? numPages : /^-?\d+$/.test(q.page) ? Number(q.page) : NaN;
  if (!(page >= 1 && page <= numPages)) return { status: 404 as const };
  return { status: 200 as const, count: result.length, results: result.slice((page - 1) * size, page * size) };
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ customers: rows });
});
afterAll(async () => t?.close());

describe('GET /list-simple/ against a reference implementation', () => {
  it('agrees on status, count, order and page contents for random queries, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(queryArb, async (q) => {
        const search = new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)]));
        const res = await t.app.inject({ url: `/api/v1/oms/customers/list-simple/?${search}`, headers: { authorization: `Token ${t.token}` } });
        expect(res.statusCode).toBeLessThan(500);
        const expected = reference(q);
        expect(res.statusCode).toBe(expected.status);
        if (expected.status === 404) {
          expect(res.body).toBe('{"detail":"Invalid page."}');
          return;
        }
        const body = res.json() as { count: number; results: DemoCustomer[] };
        expect(body.count).toBe(expected.count);
        expect(body.results).toEqual(expected.results);
      }),
      { numRuns: 150 },
    );
  });
});
