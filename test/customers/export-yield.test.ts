/**
 * Exports let the requests beside them go first (src/http/foreground.ts), over real HTTP on the
 * real app: every request counts while in flight and an export stops counting once it streams; a
 * streaming export waits before each batch while another request is in, and goes on when it
 * leaves; nothing stays counted after a response ends, however it ends. The bound on one wait
 * (EXPORT_YIELD_MAX_MS) is tested in test/http/foreground.test.ts; here it is long, so that an
 * export that waited for itself, or for a request that had ended, would time the test out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, listenOnLoopback, type TestApp } from '../helpers/app.js';
import { fetchAll, insertMany, startExport } from '../helpers/exports.js';

const URL_PATH = '/api/v1/oms/customers/list-simple/';
const ROWS = 3000;

let t: TestApp;
let base: string;
beforeAll(async () => {
  t = await createTestApp({ config: { EXPORT_YIELD_MAX_MS: 60_000, EXPORT_CONCURRENCY: 4, EXPORT_CONCURRENCY_PER_TOKEN: 4 } });
  await insertMany(t.db.pool, ROWS, { wide: true });
  base = `${await listenOnLoopback(t)}${URL_PATH}`;
}, 120_000);
afterAll(async () => t?.close());

const nothingInFlight = () => expect.poll(() => t.app.foreground.inFlight, { timeout: 10_000, interval: 20 }).toBe(0);

describe('an export beside other requests', () => {
  it.each(['json', 'xls', 'csv'])('does not wait for itself (%s)', async (format) => {
    const res = await fetchAll(`${base}?limit=all&format=${format}`, t.token);
    expect(res.status).toBe(200);
    await nothingInFlight();
  });

  it.each(['json', 'xls', 'csv'])('waits while another request is in flight and goes on when it leaves (%s)', async (format) => {
    const leave = t.app.foreground.enter();
    let finished = false;
    const download = fetchAll(`${base}?limit=all&format=${format}`, t.token).then((res) => {
      finished = true;
      return res;
    });
    try {
      // Long enough for the whole export had it not waited (it takes a fraction of this alone).
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(finished).toBe(false);
    } finally {
      leave();
    }
    expect((await download).status).toBe(200);
    await nothingInFlight();
  });

  it('counts a page while it is answered, and nothing once it is', async () => {
    const leave = t.app.foreground.enter();
    const pages = Promise.all([1, 2, 3].map((page) => fetchAll(`${base}?page=${page}`, t.token)));
    expect((await pages).map((res) => res.status)).toEqual([200, 200, 200]);
    expect(t.app.foreground.inFlight).toBe(1);
    leave();
    await nothingInFlight();
  });

  it('counts nothing once a client hangs up on its export', async () => {
    const held = await startExport(`${base}?limit=all&format=xls`, t.token);
    expect(held.status).toBe(200);
    held.abort();
    await nothingInFlight();
  });
});
