/**
 * EXPORT_STALL_TIMEOUT_MS over real HTTP: a client that keeps its socket open and reads nothing
 * is cut once nothing could be written to it for that long, and its export's slot and pool
 * connection come back; a reader that keeps reading is never cut, however long its download
 * lasts; a paused XLSX download goes on when read again; and a kept-alive connection after a
 * finished response still follows KEEP_ALIVE_TIMEOUT_MS, not the stall timeout.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, listenOnLoopback, type TestApp } from '../helpers/app.js';
import { hasRealServer } from '../helpers/database.js';
import { fetchAll, HELD_EXPORT_ROWS, insertMany } from '../helpers/exports.js';
import { download, poolSettles } from '../helpers/http-download.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { stalled } from '../helpers/wait.js';

const URL_PATH = '/api/v1/oms/customers/list-simple/';
const ROWS = HELD_EXPORT_ROWS;
// Long enough for a loopback reader at the pace below to show progress well within it: the kernel
// takes bytes in steps of up to half its send buffer (~2 MB here), one every ~0.5 s at 4 MB/s.
const STALL_TIMEOUT_MS = 1_500;
const STALL_LOG = 'client stopped reading the response: connection closed';

/** GETs `url` and reads nothing after the headers: the response's socket, for the test to watch. */
function stopReading(url: string, token: string): Promise<{ status: number; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Token ${token}` } }, (res) => {
      res.pause();
      res.on('error', () => undefined);
      resolve({ status: res.statusCode!, res });
    });
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
  });
}

/** Resolves with whether the body ended as HTTP framed it, once the client reads again. */
function readRest(res: http.IncomingMessage): Promise<boolean> {
  return new Promise((resolve) => {
    res.on('close', () => resolve(res.complete));
    res.resume();
  });
}

// The suites of this file wait seconds for timeouts with the CPU idle, each on an app and a database
// of its own: they run side by side (concurrent); the tests of the first, which share one export
// slot, one after another (sequential).
describe('a download the client stops reading (EXPORT_STALL_TIMEOUT_MS)', { concurrent: true }, () => {
  let t: TestApp;
  let origin: string;
  beforeAll(async () => {
    // One export at a time in all, and per user: a slot that never came back would be a 429.
    t = await createTestApp({
      config: { EXPORT_STALL_TIMEOUT_MS: STALL_TIMEOUT_MS, EXPORT_CONCURRENCY: 1, EXPORT_CONCURRENCY_PER_TOKEN: 1, MAX_PAGE_SIZE: ROWS },
    });
    await insertMany(t.db.pool, ROWS, { wide: true });
    origin = await listenOnLoopback(t);
  }, 120_000);
  afterAll(async () => t?.close());

  /** The log line saying the response was cut, found by its request id. */
  function cutLogOf(res: http.IncomingMessage): string | undefined {
    const reqId = JSON.stringify(res.headers['x-request-id']);
    return t.logs().split('\n').find((line) => line.includes(STALL_LOG) && line.includes(`"reqId":${reqId}`));
  }

  it.sequential('cuts an export nobody reads after the stall timeout and frees its slot and connection', async ({ expect }) => {
    const stalled = await stopReading(`${origin}${URL_PATH}?limit=all`, t.token);
    expect(stalled.status).toBe(200);
    // While it is held, the same user's next export is over the cap (embedded: it waits for the one
    // connection the export holds, before any cap).
    if (hasRealServer()) expect((await fetchAll(`${origin}${URL_PATH}?limit=all&format=csv`, t.token)).status).toBe(429);

    await vi.waitFor(() => expect(cutLogOf(stalled.res), 'the stalled export is cut').toBeDefined(), { timeout: STALL_TIMEOUT_MS + 10_000, interval: 50 });
    expect(await readRest(stalled.res)).toBe(false);
    if (hasRealServer()) await poolSettles(t.db.pool);

    // The slot is back: the same user's next export (a few rows are enough to show it) runs whole.
    const next = await download(`${origin}${URL_PATH}?limit=all&format=csv&id__lte=1000`, { authorization: `Token ${t.token}` });
    expect(next.status).toBe(200);
    expect(next.complete).toBe(true);
    expect(next.body.toString('utf8').trimEnd().split('\n')).toHaveLength(1000 + 1);
    expect(JSON.parse(cutLogOf(stalled.res)!)).toMatchObject({ level: 30, stallTimeoutMs: STALL_TIMEOUT_MS });
  }, 60_000);

  it.sequential('cuts a large page nobody reads the same way', async ({ expect }) => {
    const stalled = await stopReading(`${origin}${URL_PATH}?limit=${ROWS}`, t.token);
    expect(stalled.status).toBe(200);
    await vi.waitFor(() => expect(cutLogOf(stalled.res), 'the stalled page is cut').toBeDefined(), { timeout: STALL_TIMEOUT_MS + 10_000, interval: 50 });
    expect(await readRest(stalled.res)).toBe(false);
  }, 60_000);

  // Last, on the same app: by then the suites beside it have started their apps and only wait, so
  // no work of theirs on this process's event loop holds the reader back like a stalled client.
  it.sequential('never cuts a reader that keeps reading, though its download lasts longer than the stall timeout', async ({ expect }) => {
    const started = Date.now();
    const cutsBefore = t.logs().split(STALL_LOG).length;
    // ~4 MB/s (~13 MB: over three seconds): a pause after every chunk for as long as that rate asks.
    const slow = await download(`${origin}${URL_PATH}?limit=all`, { authorization: `Token ${t.token}` }, (res) => {
      res.on('data', (chunk: Buffer) => {
        res.pause();
        setTimeout(() => res.resume(), chunk.length / 4_000);
      });
    });
    expect(Date.now() - started).toBeGreaterThan(STALL_TIMEOUT_MS);
    expect(slow.status).toBe(200);
    expect(slow.complete).toBe(true);
    expect((JSON.parse(slow.body.toString('utf8')) as { results: unknown[] }).results).toHaveLength(ROWS);
    expect(t.logs().split(STALL_LOG).length).toBe(cutsBefore);
  }, 90_000);
});

describe('a kept-alive connection after a finished response', { concurrent: true }, () => {
  let t: TestApp;
  let origin: string;
  const KEEP_ALIVE_TIMEOUT_MS = 2_000;
  beforeAll(async () => {
    t = await createTestApp({ config: { EXPORT_STALL_TIMEOUT_MS: 200, KEEP_ALIVE_TIMEOUT_MS } });
    origin = await listenOnLoopback(t);
  }, 60_000);
  afterAll(async () => t?.close());

  /** Sends one request on a kept-alive connection and reads it whole; the response and its socket, then idle. */
  function idleAfter(path: string): Promise<{ res: http.IncomingMessage; socket: Socket }> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    return new Promise((resolve, reject) => {
      http.get(`${origin}${path}`, { agent, headers: { authorization: `Token ${t.token}` } }, (res) => {
        const socket = res.socket;
        res.resume();
        res.on('end', () => resolve({ res, socket }));
      }).on('error', reject);
    });
  }

  /** Whether `socket` closes within `ms`. */
  function closesWithin(socket: Socket, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (socket.destroyed) return resolve(true);
      const timer = setTimeout(() => resolve(false), ms);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  // Side by side, each on a connection of its own: the requests one after another (the embedded
  // database has one connection), the waits that follow them at the same time.
  let previousRequest: Promise<unknown> = Promise.resolve();
  for (const query of ['?limit=all', '?limit=all&format=csv', '']) {
    it(`stays open for KEEP_ALIVE_TIMEOUT_MS, not the stall timeout (${query || 'a page'})`, async ({ expect }) => {
      const request = previousRequest.catch(() => undefined).then(() => idleAfter(`${URL_PATH}${query}`));
      previousRequest = request;
      const { res, socket } = await request;
      expect(res.statusCode).toBe(200);
      expect(res.headers.connection).toBe('keep-alive');
      // Many stall timeouts go by: the idle connection is not cut by them.
      expect(await closesWithin(socket, 1_000)).toBe(false);
      // The keep-alive timeout then closes it.
      expect(await closesWithin(socket, KEEP_ALIVE_TIMEOUT_MS + 5_000)).toBe(true);
      expect(t.logs()).not.toContain(STALL_LOG);
    }, 60_000);
  }
});

describe('the stall timer on an injected response (no socket)', { concurrent: true }, () => {
  it('neither throws nor keeps re-arming once the response has finished', async ({ expect }) => {
    const t = await createTestApp({ config: { EXPORT_STALL_TIMEOUT_MS: 100 } });
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      // A HEAD writes no body, so nothing clears the injected response's timer: it fires after the end.
      for (const method of ['GET', 'HEAD'] as const) {
        const res = await t.app.inject({ method, url: `${URL_PATH}?limit=all&format=csv`, headers: { authorization: `Token ${t.token}` } });
        expect(res.statusCode).toBe(200);
      }
      // Several stall periods: the timer fires, sees a finished response and stops.
      await new Promise((done) => setTimeout(done, 500));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', record);
      await t.close();
    }
  }, 60_000);
});

// Not side by side with the others: its 500 ms stall timeout would see their work on this process's
// event loop as a client that stopped reading.
describe.skipIf(!hasRealServer())('an export whose database is the slow one', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  let origin: string;
  const SHORT_STALL_MS = 500;
  beforeAll(async () => {
    const target = new URL(process.env.TEST_DATABASE_URL!);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    t = await createTestApp({ connectThrough: (url) => proxy.urlFor(url), config: { EXPORT_STALL_TIMEOUT_MS: SHORT_STALL_MS } });
    await insertMany(t.db.pool, ROWS, { wide: true });
    origin = await listenOnLoopback(t);
  }, 120_000);
  afterAll(async () => {
    proxy?.thaw();
    await t?.close();
    await proxy?.close();
  });

  it('is not cut while the client has read everything and waits for rows', async () => {
    // The database answers nothing for several stall timeouts mid-export: the socket is idle, but
    // because of the server, with nothing waiting to be written, so the download goes on.
    const whole = await download(`${origin}${URL_PATH}?limit=all`, { authorization: `Token ${t.token}` }, async () => {
      proxy.freeze();
      await new Promise((resolve) => setTimeout(resolve, SHORT_STALL_MS * 5));
      proxy.thaw();
    });
    expect(whole.complete).toBe(true);
    expect((JSON.parse(whole.body.toString('utf8')) as { results: unknown[] }).results).toHaveLength(ROWS);
    expect(t.logs()).not.toContain(STALL_LOG);
  }, 60_000);
});

// Bigger than loopback's socket buffers hold, so that a pause reaches the export's own stream.
describe.skipIf(!hasRealServer())('an XLSX download the client pauses, then reads again', { concurrent: true }, () => {
  const XLSX_ROWS = 100_000;
  let t: TestApp;
  let origin: string;
  beforeAll(async () => {
    t = await createTestApp();
    await insertMany(t.db.pool, XLSX_ROWS, { wide: true });
    origin = await listenOnLoopback(t);
  }, 120_000);
  afterAll(async () => t?.close());

  // The second runs on the worker the first left: idle and quick, it has answered every batch
  // by the time the client reads again, so nothing but that read can start the export again.
  for (const worker of ['a new worker', 'a kept worker']) {
    it.sequential(`arrives whole (${worker})`, async ({ expect }) => {
      const paused = download(`${origin}${URL_PATH}?limit=all&format=xls`, { authorization: `Token ${t.token}` }, async (res) => {
        res.pause();
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        res.resume();
      });
      const whole = await Promise.race([paused, stalled(60_000, 'the download stopped for good')]);
      expect(whole.status).toBe(200);
      expect(whole.complete).toBe(true);
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(whole.body as unknown as ArrayBuffer);
      expect(workbook.getWorksheet('customers')!.rowCount).toBe(XLSX_ROWS + 1);
    }, 120_000);
  }
});
