/**
 * THROTTLE_RATE counted in process, through the app: per user for a valid token, per client
 * address otherwise; 429 with DRF's body and Retry-After, in JSON whatever the format, before
 * the count and page queries; a flood of bad tokens stops costing lookups.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTokenStore } from '../../src/auth/token-store.js';

const URL_PATH = '/api/v1/oms/customers/list-simple/';
const THROTTLED = /^\{"detail":"Request was throttled\. Expected available in (\d+) seconds?\."\}$/;

/** SQL texts the pool ran since the spy was set, split into token lookups and list queries. */
function spyQueries(app: TestApp) {
  const spy = vi.spyOn(app.db.pool, 'query');
  const texts = () => spy.mock.calls.map(([q]) => (typeof q === 'string' ? q : (q as { text: string }).text));
  return {
    tokenLookups: () => texts().filter((q) => q.includes('api_token')).length,
    listQueries: () => texts().filter((q) => q.includes('customer')).length,
  };
}

describe('THROTTLE_RATE in process', () => {
  let t: TestApp;
  let otherToken: string;
  beforeAll(async () => {
    t = await createTestApp({ config: { THROTTLE_RATE: { numRequests: 3, durationSeconds: 60 }, TRUST_PROXY: true } });
    otherToken = await createTokenStore(t.db).create('other');
  }, 60_000);
  afterAll(async () => t?.close());
  afterEach(() => vi.restoreAllMocks());

  // Each test uses its own client address (X-Forwarded-For, TRUST_PROXY=true) or token, so budgets do not mix.
  const get = (headers: Record<string, string>, query = '', method: 'GET' | 'HEAD' | 'OPTIONS' | 'POST' = 'GET') =>
    t.app.inject({ method, url: `${URL_PATH}${query}`, headers });

  it('answers 429 with DRF’s body and Retry-After once a token spent its budget, before any list query', async () => {
    const headers = { authorization: `Token ${t.token}`, 'x-forwarded-for': '10.1.0.1' };
    for (let i = 0; i < 3; i++) expect((await get(headers)).statusCode).toBe(200);
    const queries = spyQueries(t);
    const res = await get(headers, '?format=csv');
    expect(res.statusCode).toBe(429);
    // JSON whatever format was asked, as every error of the endpoint.
    expect(res.headers['content-type']).toBe('application/json');
    const [, seconds] = THROTTLED.exec(res.body)!;
    expect(Number(seconds)).toBeGreaterThan(50);
    expect(Number(seconds)).toBeLessThanOrEqual(60);
    expect(res.headers['retry-after']).toBe(seconds);
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(queries.tokenLookups()).toBe(1);
    expect(queries.listQueries()).toBe(0);
  });

  it('counts per user: another token is served while one is throttled, from the same address', async () => {
    const address = { 'x-forwarded-for': '10.1.0.2' };
    // The first test spent this token's budget.
    expect((await get({ authorization: `Token ${t.token}`, ...address })).statusCode).toBe(429);
    expect((await get({ authorization: `Token ${otherToken}`, ...address })).statusCode).toBe(200);
  });

  it('throttles OPTIONS, HEAD and 405 as DRF does (initial() runs before the handler)', async () => {
    const token = await createTokenStore(t.db).create('methods');
    const headers = { authorization: `Token ${token}`, 'x-forwarded-for': '10.1.0.3' };
    expect((await get(headers, '', 'OPTIONS')).statusCode).toBe(200);
    expect((await get(headers, '', 'HEAD')).statusCode).toBe(200);
    expect((await get(headers, '', 'POST')).statusCode).toBe(405);
    for (const method of ['GET', 'OPTIONS', 'HEAD', 'POST'] as const) expect((await get(headers, '', method)).statusCode).toBe(429);
  });

  it('counts requests without credentials per address: 401 within the budget, then 429', async () => {
    const headers = { 'x-forwarded-for': '10.1.0.4' };
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(headers)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await get({ 'x-forwarded-for': '10.1.0.5' })).statusCode).toBe(401);
  });

  it('stops looking tokens up for an address that spent its budget on bad ones', async () => {
    const address = { 'x-forwarded-for': '10.1.0.6' };
    const queries = spyQueries(t);
    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push((await get({ authorization: `Token bad${i}`, ...address })).statusCode);
    expect(statuses).toEqual([...Array(3).fill(401), ...Array(17).fill(429)]);
    // Once the address failed, its budget is checked before the lookup: spent, no more lookups.
    expect(queries.tokenLookups()).toBe(3);
    // The address is refused as a whole until its window frees up, valid tokens included.
    expect((await get({ authorization: `Token ${otherToken}`, ...address })).statusCode).toBe(429);
    expect(queries.tokenLookups()).toBe(3);
  });

  it('keeps a token’s budget apart from its address’s', async () => {
    const token = await createTokenStore(t.db).create('fresh');
    const address = { 'x-forwarded-for': '10.1.0.7' };
    for (let i = 0; i < 3; i++) expect((await get(address)).statusCode).toBe(401);
    // An address spent on requests without a valid token is refused as a whole, this token too ...
    expect((await get({ authorization: `Token ${token}`, ...address })).statusCode).toBe(429);
    // ... which did not spend the token's budget, and the token's requests spend none of an address's.
    const elsewhere = { 'x-forwarded-for': '10.1.0.8' };
    for (let i = 0; i < 3; i++) expect((await get({ authorization: `Token ${token}`, ...elsewhere })).statusCode).toBe(200);
    expect((await get(elsewhere)).statusCode).toBe(401);
  });
});

describe('without THROTTLE_RATE (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  }, 60_000);
  afterAll(async () => t?.close());

  it('never answers 429', async () => {
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i++) {
      statuses.add((await t.app.inject({ url: URL_PATH, headers: { authorization: `Token ${t.token}` } })).statusCode);
      statuses.add((await t.app.inject({ url: URL_PATH })).statusCode);
    }
    expect([...statuses].sort()).toEqual([200, 401]);
  });
});
