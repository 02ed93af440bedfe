/**
 * EXPORT_CONCURRENCY and EXPORT_CONCURRENCY_PER_TOKEN over real HTTP: an export over a cap is
 * refused at once with DRF's 429 body, Retry-After and JSON whatever the format, and a slot
 * comes back exactly once however the export ends (read to the end, HEAD, an error before
 * the first byte, a failed open, the client going away).
 */
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, listenOnLoopback, type TestApp } from '../helpers/app.js';
import { hasRealServer } from '../helpers/database.js';
import { createTokenStore } from '../../src/auth/token-store.js';
import { fetchAll, HELD_EXPORT_ROWS, insertMany, startExport, type HeldExport } from '../helpers/exports.js';

const URL_PATH = '/api/v1/oms/customers/list-simple/';
const CAPPED = '{"detail":"Request was throttled. Expected available in 1 second."}';

const listen = async (app: TestApp): Promise<string> => `${await listenOnLoopback(app)}${URL_PATH}`;

describe('EXPORT_CONCURRENCY by default (a third of the pool, at least 1)', () => {
  let t: TestApp;
  let base: string;
  let other: string;
  const open: HeldExport[] = [];
  beforeAll(async () => {
    // A pool of 4 (1 embedded): one export at a time.
    t = await createTestApp();
    await insertMany(t.db.pool, HELD_EXPORT_ROWS, { wide: true });
    other = await createTokenStore(t.db).create('other');
    base = await listen(t);
  }, 120_000);
  afterEach(() => {
    open.splice(0).forEach((e) => e.abort());
    vi.restoreAllMocks();
  });
  afterAll(async () => t?.close());

  /** An export by `other` is served (its slot was free): it is then aborted. */
  async function slotIsFree(): Promise<boolean> {
    const probe = await startExport(`${base}?limit=all`, other);
    probe.abort();
    return probe.status === 200;
  }

  // Embedded: the export holds the one connection, so a second request waits for it before any cap.
  it.skipIf(!hasRealServer())('refuses a second export at once with 429, DRF’s body and Retry-After, in JSON whatever the format', async () => {
    open.push(await startExport(`${base}?limit=all`, t.token));
    expect(open[0]!.status).toBe(200);
    for (const query of ['?limit=all&format=csv', '?limit=all&format=xls', '?limit=all']) {
      const refused = await startExport(`${base}${query}`, other);
      expect(refused.status, query).toBe(429);
      expect(refused.headers['content-type']).toBe('application/json');
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body()).toBe(CAPPED);
    }
  });

  it.skipIf(!hasRealServer())('keeps serving pages while the export runs', async () => {
    open.push(await startExport(`${base}?limit=all`, t.token));
    expect((await fetchAll(`${base}?limit=5`, other)).status).toBe(200);
  });

  it('gives the slot back when the client goes away mid-download', async () => {
    const held = await startExport(`${base}?limit=all&format=csv`, t.token);
    if (hasRealServer()) expect(await slotIsFree()).toBe(false);
    held.abort();
    await expect.poll(slotIsFree, { timeout: 10_000, interval: 50 }).toBe(true);
  });

  it('gives the slot back when an export is read to its end', async () => {
    expect((await fetchAll(`${base}?limit=all&id__lte=100`, t.token)).status).toBe(200);
    await expect.poll(slotIsFree, { timeout: 10_000, interval: 50 }).toBe(true);
  });

  it('gives the slot back after HEAD, which runs no export', async () => {
    expect((await startExport(`${base}?limit=all`, t.token, 'HEAD')).status).toBe(200);
    await expect.poll(slotIsFree, { timeout: 10_000, interval: 50 }).toBe(true);
  });

  it('gives the slot back after an error answered before the first byte (page 2 of limit=all)', async () => {
    const res = await fetchAll(`${base}?limit=all&page=2`, t.token);
    expect(res).toEqual({ status: 404, body: '{"detail":"Invalid page."}' });
    await expect.poll(slotIsFree, { timeout: 10_000, interval: 50 }).toBe(true);
  });

  it('gives the slot back when the export cannot open its snapshot', async () => {
    const pool = t.db.pool;
    const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
    // The snapshot checks its client out with `await pool.connect()`; pool.query passes a callback.
    vi.spyOn(pool, 'connect').mockImplementation(((...args: unknown[]) =>
      args.length === 0 ? Promise.reject(new Error('no connection')) : connect(...args)) as never);
    expect((await fetchAll(`${base}?limit=all&id__lte=100`, t.token)).status).toBe(500);
    vi.restoreAllMocks();
    await expect.poll(slotIsFree, { timeout: 10_000, interval: 50 }).toBe(true);
  });

  it.skipIf(!hasRealServer())('gives each slot back once only: after all those endings the cap still holds', async () => {
    open.push(await startExport(`${base}?limit=all`, t.token));
    expect(open[0]!.status).toBe(200);
    expect(await slotIsFree()).toBe(false);
  });
});

describe.skipIf(!hasRealServer())('EXPORT_CONCURRENCY and EXPORT_CONCURRENCY_PER_TOKEN', () => {
  let t: TestApp;
  let base: string;
  const tokens: string[] = [];
  const open: HeldExport[] = [];
  beforeAll(async () => {
    t = await createTestApp({ config: { DB_POOL_MAX: 6, EXPORT_CONCURRENCY: 3, EXPORT_CONCURRENCY_PER_TOKEN: 2 } });
    await insertMany(t.db.pool, HELD_EXPORT_ROWS, { wide: true });
    const store = createTokenStore(t.db);
    tokens.push(t.token, await store.create('b'), await store.create('c'));
    base = await listen(t);
  }, 120_000);
  afterAll(async () => {
    open.splice(0).forEach((e) => e.abort());
    await t?.close();
  });

  it('refuses a token’s third export, then anyone’s fourth', async () => {
    const start = async (token: string) => {
      const e = await startExport(`${base}?limit=all`, token);
      open.push(e);
      return e.status;
    };
    expect(await start(tokens[0]!)).toBe(200);
    expect(await start(tokens[0]!)).toBe(200);
    expect(await start(tokens[0]!)).toBe(429); // per token
    expect(await start(tokens[1]!)).toBe(200);
    expect(await start(tokens[2]!)).toBe(429); // per process
    expect(open.filter((e) => e.status === 429).map((e) => e.body())).toEqual([CAPPED, CAPPED]);
    // Pages keep the rest of the pool.
    expect((await fetchAll(`${base}?limit=5`, tokens[2]!)).status).toBe(200);
  });
});
