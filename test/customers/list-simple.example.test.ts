import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, exampleCustomers, type TestApp } from '../helpers/app.js';
import { fixture } from '../helpers/fixtures.js';
import type { DemoCustomer } from '../../src/customers/demo-data.js';

const listExample = JSON.parse(fixture('list-response-example.json')) as { results: DemoCustomer[] };
const URL_PATH = '/api/v1/oms/customers/list-simple/';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ customers: exampleCustomers(listExample.results) });
});
afterAll(async () => t?.close());

describe('GET /list-simple/ the spec example', () => {
  it('returns the example page byte for byte: count 109, next ?page=2, the ten results', async () => {
    const res = await t.app.inject({ url: URL_PATH, headers: { authorization: `Token ${t.token}`, host: 'oms.example.com' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const expectedResults = JSON.stringify(listExample.results);
    expect(res.body).toBe(
      `{"count":109,"next":"http://oms.example.com/api/v1/oms/customers/list-simple/?page=2","previous":null,"results":${expectedResults}}`,
    );
  });

  it('keeps microseconds end to end (created 08:42:53.427023, modified .427050)', async () => {
    const res = await t.app.inject({ url: `${URL_PATH}?limit=1`, headers: { authorization: `Token ${t.token}` } });
    const row = (res.json() as { results: DemoCustomer[] }).results[0]!;
    expect(row.created_date).toBe('2023-10-06T08:42:53.427023Z');
    expect(row.modified_date).toBe('2023-10-06T08:42:53.427050Z');
  });

  it('writes a datetime with zero microseconds without a fraction, as DRF does', async () => {
    const res = await t.app.inject({ url: `${URL_PATH}?id__gte=11&limit=1`, headers: { authorization: `Token ${t.token}` } });
    expect((res.json() as { results: DemoCustomer[] }).results[0]!.modified_date).toBe('2022-02-12T11:30:11Z');
  });

  // The one byte-for-byte check of the OPTIONS body; other OPTIONS tests compare with this answer.
  it('OPTIONS returns the spec body byte for byte', async () => {
    const res = await t.app.inject({ method: 'OPTIONS', url: URL_PATH, headers: { authorization: `Token ${t.token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.body).toBe(JSON.stringify(JSON.parse(fixture('options-response.json'))));
  });
});
