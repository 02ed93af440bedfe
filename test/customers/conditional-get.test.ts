/**
 * Conditional GET (ours): every 200 GET/HEAD of list-simple carries a weak ETag built from the
 * data version and the request as parsed; If-None-Match answers 304 after reading the version
 * alone, and only after authentication, throttles and filter validation.
 */
import type { LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spyOnStatements } from '../helpers/statement-spy.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestPool, hasRealServer } from '../helpers/database.js';
import { demoCustomers } from '../../src/customers/demo-data.js';
import { insertCustomers } from '../../src/customers/seed.js';

const B = '/api/v1/oms/customers/list-simple/';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ customers: demoCustomers, config: { CORS_ORIGINS: ['https://bi.example.com'] } });
});
afterAll(async () => t?.close());

type Method = 'GET' | 'HEAD';
const get = (query = '', headers: Record<string, string> = {}, method: Method = 'GET') =>
  t.app.inject({ method, url: `${B}${query}`, headers: { authorization: `Token ${t.token}`, ...headers } });

/** The ETag of a 200, checked to be one. */
async function etagOf(query = '', headers: Record<string, string> = {}, method: Method = 'GET'): Promise<string> {
  const res = await get(query, headers, method);
  expect(res.statusCode, `${method} ${query} ${JSON.stringify(headers)}`).toBe(200);
  expect(res.headers.etag).toMatch(/^W\/"\d+-[A-Za-z0-9_-]{16}"$/);
  return String(res.headers.etag);
}

function expectNotModified(res: LightMyRequestResponse, etag: string): void {
  expect(res.statusCode).toBe(304);
  expect(res.body).toBe('');
  expect(res.headers.etag).toBe(etag);
  expect(res.headers.vary).toMatch(/(^|, )Accept$/);
  expect(res.headers.allow).toBe('GET, HEAD, OPTIONS');
  expect(res.headers['content-length']).toBeUndefined();
}

describe('GET /list-simple/ ETag and If-None-Match', () => {
  it('answers 304 with no body, the ETag and the view headers to the ETag of the last 200', async () => {
    const etag = await etagOf();
    expectNotModified(await get('', { 'if-none-match': etag }), etag);
  });

  it('answers a client that accepts compression with the same ETag, and a 304 with no Content-Encoding', async () => {
    const encoded = { 'accept-encoding': 'gzip, br' };
    const etag = await etagOf('?limit=50', encoded);
    expect(await etagOf('?limit=50')).toBe(etag);
    const res = await get('?limit=50', { ...encoded, 'if-none-match': etag });
    expect(res.statusCode).toBe(304);
    expect(res.rawPayload.length).toBe(0);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.etag).toBe(etag);
  });

  it('answers HEAD with the ETag of GET, and 304 to it', async () => {
    const etag = await etagOf('?limit=3&page=2');
    expect(await etagOf('?limit=3&page=2', {}, 'HEAD')).toBe(etag);
    expectNotModified(await get('?limit=3&page=2', { 'if-none-match': etag }, 'HEAD'), etag);
  });

  it('compares weakly, reads lists and *, and ignores what matches nothing', async () => {
    const etag = await etagOf();
    const strong = etag.slice(2);
    for (const header of [strong, `"other", ${etag}`, `W/"x",${strong}`, '*', ' * ', `junk, ${etag}`]) {
      expectNotModified(await get('', { 'if-none-match': header }), etag);
    }
    for (const header of ['"other"', 'W/"1-AAAAAAAAAAAAAAAA"', `${etag.slice(0, -2)}"`, '', 'junk', '"a", *']) {
      const res = await get('', { 'if-none-match': header });
      expect([res.statusCode, res.headers.etag], header).toEqual([200, etag]);
    }
  });

  it('answers * with 304 only where the request gets a 200: a page that exists, an export under its cap', async () => {
    for (const query of ['?limit=3&page=4', '?limit=3&page=last', '?limit=all', '?limit=all&page=last', '?email=nobody@example.com']) {
      const res = await get(query, { 'if-none-match': '*' });
      expect(res.statusCode, query).toBe(304);
    }
    for (const query of ['?limit=3&page=5', '?page=0', '?page=x', '?limit=all&page=2', '?email=nobody@example.com&page=2']) {
      const res = await get(query, { 'if-none-match': '*' });
      expect([res.statusCode, res.body, res.headers.etag], query).toEqual([404, '{"detail":"Invalid page."}', undefined]);
    }
  });

  it('puts no ETag on errors, and checks filters (400) before If-None-Match', async () => {
    const res = await get('?id__gt=x', { 'if-none-match': '*' });
    expect([res.statusCode, res.headers.etag]).toEqual([400, undefined]);
    expect((await get('?format=pdf')).headers.etag).toBeUndefined();
  });

  it('gives different ETags to different filters, orderings, pages, page sizes, formats and indents', async () => {
    const variants: Array<[string, Record<string, string>]> = [
      ['', {}],
      ['?email=ali.test@akinon.com', {}],
      ['?email=ALI.test@akinon.com', {}],
      ['?id__gt=3', {}],
      ['?id__gte=3', {}],
      ['?modified_date__gte=2023-09-01', {}],
      ['?sort=-id', {}],
      ['?sort=modified_date', {}],
      ['?limit=3', {}],
      ['?limit=3&page=2', {}],
      ['?limit=3&page=last', {}],
      ['?limit=all', {}],
      ['?format=csv', {}],
      ['?format=csv&limit=all', {}],
      ['?format=xlsx', {}],
      ['', { accept: XLSX }],
      ['', { accept: 'application/json; indent=2' }],
      ['', { accept: 'application/json; indent=4' }],
    ];
    const etags: string[] = [];
    // One at a time: exports are capped per user.
    for (const [query, headers] of variants) etags.push(await etagOf(query, headers));
    expect(new Set(etags).size).toBe(variants.length);
  });

  it('gives one ETag to the spellings of one request', async () => {
    const spellings: Array<Array<[string, Record<string, string>]>> = [
      [['', {}], ['?page=1', {}], ['?limit=10', {}], ['?sort=id', {}], ['?format=json', {}], ['?limit=0', {}], ['?email=', {}],
        ['', { accept: 'application/json; indent=0' }], ['', { accept: 'text/html;q=0.1, application/json' }]],
      [['?email=ali.test@akinon.com&limit=3', {}], ['?limit=3&email=ali.test@akinon.com', {}], ['?email=%20ali.test@akinon.com%20&limit=+3', {}]],
      [['?modified_date__gte=2023-09-01', {}], ['?modified_date__gte=2023-09-01T00:00:00Z', {}],
        ['?modified_date__gte=2023-09-01T03:00:00%2B03:00', {}], ['?modified_date__gte=2023-09-01 00:00:00.000000', {}]],
      [['?limit=3&page=2', {}], ['?limit=03&page=%202', {}], ['?page=2&limit=3&format=json', {}]],
      [['?limit=1000', {}], ['?limit=5000', {}]],
      [['?format=csv', {}], ['', { accept: 'text/csv' }]],
    ];
    const seen = new Set<string>();
    for (const group of spellings) {
      const etags: string[] = [];
      for (const [query, headers] of group) etags.push(await etagOf(query, headers));
      expect(new Set(etags).size, JSON.stringify(group)).toBe(1);
      seen.add(etags[0]!);
    }
    expect(seen.size).toBe(spellings.length);
  });

  it('tells the CSV formula guard apart: the same request under the other setting has another ETag', async () => {
    const plain = await createTestApp({ customers: demoCustomers, config: { CSV_FORMULA_GUARD: false } });
    try {
      const inPlain = await plain.app.inject({ url: `${B}?format=csv`, headers: { authorization: `Token ${plain.token}` } });
      const guarded = await etagOf('?format=csv');
      // Same data version (both databases had the same writes), another representation.
      expect(String(inPlain.headers.etag).split('-')[0]).toBe(guarded.split('-')[0]);
      expect(inPlain.headers.etag).not.toBe(guarded);
    } finally {
      await plain.close();
    }
  });
});

describe('GET /list-simple/ ETag after writes', () => {
  const pool = () => t.db.pool;

  /** Runs a write and checks the next answer is a 200 with a new ETag, whose own 304 then works. */
  async function changesEtag(write: () => Promise<unknown>, query = ''): Promise<void> {
    const before = await etagOf(query);
    await write();
    const res = await get(query, { 'if-none-match': before });
    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).not.toBe(before);
    expectNotModified(await get(query, { 'if-none-match': String(res.headers.etag) }), String(res.headers.etag));
  }

  it('changes on an insert, an update and a delete, for pages and exports alike', async () => {
    const extra = { ...demoCustomers[0]!, id: 1001, omnitron_id: 1001, email: 'new@example.com' };
    await changesEtag(() => insertCustomers(pool(), [extra]));
    await changesEtag(() => pool().query(`UPDATE customer SET first_name = 'Changed' WHERE id = 1001`), '?limit=all');
    await changesEtag(() => pool().query('DELETE FROM customer WHERE id = 1001'), '?format=csv');
  });

  it('changes on an update of a row the filter does not select (the version is the whole table)', async () => {
    await changesEtag(() => pool().query(`UPDATE customer SET last_name = 'Other' WHERE id = 10`), '?id__lt=3');
  });

  it('changes on a TRUNCATE, and on the rows put back', async () => {
    await changesEtag(() => pool().query('TRUNCATE customer'));
    await changesEtag(() => insertCustomers(pool(), demoCustomers));
  });

  it('stays when a write rolls back', async () => {
    const etag = await etagOf();
    const client = await pool().connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM customer');
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expectNotModified(await get('', { 'if-none-match': etag }), etag);
  });
});

describe('GET /list-simple/ 304 reads only the data version', () => {
  const spy = spyOnStatements();

  // customer and customer_count (the unfiltered count), not customer_version.
  const touchesCustomer = () => spy.statements().filter((sql) => /\bcustomer(_count)?\b/.test(sql));

  it.each(['', '?email=ali.test@akinon.com&limit=3&page=last', '?limit=all', '?limit=all&format=csv', '?limit=all&format=xlsx'])(
    'runs no count, page or snapshot for %j',
    async (query) => {
      for (const method of ['GET', 'HEAD'] as const) {
        const etag = await etagOf(query, {}, method);
        // The spy sees what a 200 runs: a test that could not see the count would prove nothing.
        expect(touchesCustomer().length).toBeGreaterThan(0);
        spy.clear();
        expectNotModified(await get(query, { 'if-none-match': etag }, method), etag);
        expect(touchesCustomer()).toEqual([]);
        expect(spy.statements().filter((sql) => /customer_version/.test(sql))).toHaveLength(1);
        expect(spy.statements().filter((sql) => /^\s*(BEGIN|START)/i.test(sql))).toEqual([]);
      }
    },
  );

  it.skipIf(!hasRealServer())(
    'answers 304 while another transaction holds customer in ACCESS EXCLUSIVE mode (real server only: embedded PGlite runs one transaction at a time)',
    async () => {
      const etags = [await etagOf(''), await etagOf('?limit=all&format=csv')];
      const locker: pg.Pool = createTestPool(t.database, 1);
      const client = await locker.connect();
      try {
        await client.query('BEGIN');
        await client.query('LOCK TABLE customer IN ACCESS EXCLUSIVE MODE');
        expectNotModified(await get('', { 'if-none-match': etags[0]! }), etags[0]!);
        expectNotModified(await get('?limit=all&format=csv', { 'if-none-match': etags[1]! }), etags[1]!);
      } finally {
        await client.query('ROLLBACK');
        client.release();
        await locker.end();
      }
    },
  );
});

describe('GET /list-simple/ If-None-Match after authentication and throttles', () => {
  it('answers 401, never 304, to a request without a valid token', async () => {
    const etag = await etagOf();
    for (const authorization of [undefined, 'Token 0000000000000000000000000000000000000000', `Token ${t.inactiveToken}`]) {
      const res = await t.app.inject({ url: B, headers: { 'if-none-match': etag, ...(authorization ? { authorization } : {}) } });
      expect([res.statusCode, res.headers.etag], authorization).toEqual([401, undefined]);
    }
    const star = await t.app.inject({ url: B, headers: { 'if-none-match': '*' } });
    expect(star.statusCode).toBe(401);
  });

  it('answers 429 once the token has spent its rate, If-None-Match or not', async () => {
    const throttled = await createTestApp({ customers: demoCustomers, config: { THROTTLE_RATE: { numRequests: 1, durationSeconds: 60 } } });
    try {
      const headers = { authorization: `Token ${throttled.token}` };
      const first = await throttled.app.inject({ url: B, headers });
      expect(first.statusCode).toBe(200);
      const second = await throttled.app.inject({ url: B, headers: { ...headers, 'if-none-match': String(first.headers.etag) } });
      expect([second.statusCode, second.headers.etag]).toEqual([429, undefined]);
    } finally {
      await throttled.close();
    }
  });
});

describe('CORS and ETag', () => {
  it('exposes ETag to browser scripts and lets them send If-None-Match', async () => {
    const res = await get('', { origin: 'https://bi.example.com' });
    expect(String(res.headers['access-control-expose-headers'])).toMatch(/(^|, ?)ETag(,|$)/);
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: B,
      headers: { origin: 'https://bi.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, if-none-match' },
    });
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/If-None-Match/i);
  });
});
