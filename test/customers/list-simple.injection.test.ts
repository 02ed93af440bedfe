import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, exampleCustomers, type TestApp } from '../helpers/app.js';
import { demoCustomers } from '../../src/customers/demo-data.js';

const ATTACKS = [
  "' OR '1'='1",
  "x'; DROP TABLE customer; --",
  '1; DELETE FROM customer',
  '1 OR 1=1',
  '") OR ("a"="a',
  '$1',
  '\\x27',
];
const TEXT_FILTERS = ['first_name', 'last_name', 'email', 'phone_number', 'erp_code'];
const NUMBER_FILTERS = ['id__gt', 'id__gte', 'id__lt', 'id__lte', 'channel_id'];
const DATE_FILTERS = ['modified_date', 'modified_date__gt', 'modified_date__gte', 'modified_date__lt', 'modified_date__lte'];

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ customers: exampleCustomers(demoCustomers) });
});
afterAll(async () => t?.close());

const get = (query: Record<string, string>) =>
  t.app.inject({ url: `/api/v1/oms/customers/list-simple/?${new URLSearchParams(query)}`, headers: { authorization: `Token ${t.token}` } });

describe('GET /list-simple/ treats SQL in every parameter as a plain value', () => {
  it.each(ATTACKS)('text filters match nothing for %j', async (attack) => {
    for (const name of TEXT_FILTERS) {
      const res = await get({ [name]: attack });
      expect(res.statusCode, name).toBe(200);
      expect(res.body, name).toBe('{"count":0,"next":null,"previous":null,"results":[]}');
    }
  });

  it.each(ATTACKS)('CSV exports (written by COPY on a server, where values travel as settings) match nothing for %j', async (attack) => {
    for (const name of TEXT_FILTERS) {
      const res = await get({ [name]: attack, limit: 'all', format: 'csv' });
      expect(res.statusCode, name).toBe(200);
      expect(res.body, name).toBe('id,created_date,modified_date,omnitron_id,email,first_name,last_name,phone_number,erp_code,channel\r\n');
    }
  });

  it.each(ATTACKS)('number and date filters reject %j with their own message', async (attack) => {
    for (const name of NUMBER_FILTERS) {
      const res = await get({ [name]: attack });
      expect(res.statusCode, name).toBe(400);
      expect(res.body, name).toBe(`{"${name}":["Enter a number."]}`);
    }
    for (const name of DATE_FILTERS) {
      const res = await get({ [name]: attack });
      expect(res.statusCode, name).toBe(400);
      expect(res.body, name).toBe(`{"${name}":["Enter a valid date/time."]}`);
    }
  });

  it.each(ATTACKS)('sort, page, limit and format refuse or ignore %j', async (attack) => {
    expect((await get({ sort: attack })).statusCode).toBe(400);
    expect((await get({ page: attack })).body).toBe('{"detail":"Invalid page."}');
    expect((await get({ limit: attack })).statusCode).toBe(200);
    expect((await get({ format: attack })).body).toBe('{"detail":"Not found."}');
  });

  it('leaves the table intact', async () => {
    const { rows } = await t.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM customer');
    expect(rows[0]!.n).toBe('109');
    expect((await get({})).json()).toMatchObject({ count: 109 });
  });
});

describe('GET /list-simple/ values outside a column\'s range (ours: never a 500)', () => {
  it.each([
    ['id__gt', '99999999999999999999', 0],
    ['id__lt', '99999999999999999999', 109],
    ['id__gte', '-1e40', 109],
    ['id__lte', '-99999999999999999999.5', 0],
    ['channel_id', '1e30', 0],
    ['id__gt', '1e50', 0],
    ['id__lte', '-1e999999999', 0],
    ['modified_date__gte', '9999-12-31T23:59:59.999999-15:59', 0],
    ['modified_date__lt', '0001-01-01T00:00:00+15:59', 0],
  ])('%s=%s matches what arithmetic says', async (name, value, count) => {
    const res = await get({ [name]: value });
    expect(res.statusCode).toBe(200);
    expect((res.json() as { count: number }).count).toBe(count);
  });
});
