/**
 * Database faults on a real PostgreSQL (issue 9): whatever happens to the database or the
 * connection under one request, that request ends (503 before its first byte, or a response cut
 * short after it), the process stays up, the pool recovers and the next request is 200. The
 * faults: the backend terminated (pg_terminate_backend), statement_timeout, the connection cut or
 * frozen (test/helpers/tcp-proxy.ts between the app and PostgreSQL), and the client gone. Any
 * unhandled rejection or 'error' event fails the run (vitest reports them).
 */
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestPool, hasRealServer } from '../helpers/database.js';
import { download, poolSettles, readSlowly } from '../helpers/http-download.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { insertMany } from '../helpers/exports.js';

const URL_PATH = '/api/v1/oms/customers/list-simple/';
const ROWS = 60_000;
const STATEMENT_TIMEOUT_MS = 1_000;
const READY_TIMEOUT_MS = 1_000;
const UNAVAILABLE = '{"detail":"Service temporarily unavailable, try again later."}';

let proxy: TcpProxy;
let t: TestApp;
let admin: pg.Pool;
let base: string;

const headers = () => ({ authorization: `Token ${t.token}` });

/**
 * Rows an XLSX export's faults are tried on. It takes COPY's CSV and sends a zip about a fifth of
 * its size: at ROWS rows (a 2.5 MB file) a paused client's kernel buffers took the whole export,
 * COPY had ended, and a fault 100 ms in struck nothing.
 */
const XLSX_ROWS = 400_000;
/** The customers the table holds now. */
let rowsNow = ROWS;
const get = (query: string) => fetch(`${base}${URL_PATH}${query}`, { headers: headers() });

/**
 * Ends the app's backends that match `where` (a condition on pg_stat_activity), from outside. A
 * parallel query's workers carry their leader's name; they end with it and are not counted.
 */
async function terminate(where: string): Promise<number> {
  const { rows } = await admin.query<{ ended: boolean }>(
    `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = 'oms-customers' AND backend_type = 'client backend' AND ${where}`,
  );
  return rows.length;
}

/** Waits (bounded) until one of the app's statements waits for a lock. */
async function aStatementWaitsForTheLock(): Promise<void> {
  await expect
    .poll(async () => (await admin.query(
      `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'oms-customers' AND wait_event_type = 'Lock'`,
    )).rowCount, { timeout: 5_000, interval: 20 })
    .toBe(1);
}

/** Holds an exclusive lock on the customer tables from another session until released. */
async function lockCustomers(): Promise<() => Promise<void>> {
  const client = await admin.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE customer, customer_count IN ACCESS EXCLUSIVE MODE');
  return async () => {
    await client.query('ROLLBACK');
    client.release();
  };
}

/** Error-level lines the app logged since `from` (an offset into its log). */
const errorLinesSince = (from: number) => t.logs().slice(from).split('\n').filter((line) => /"level":(50|60)/.test(line));

beforeAll(async () => {
  if (!hasRealServer()) return;
  const target = new URL(process.env.TEST_DATABASE_URL!);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  t = await createTestApp({
    connectThrough: (url) => proxy.urlFor(url),
    config: { DB_POOL_MAX: 4, DB_STATEMENT_TIMEOUT_MS: STATEMENT_TIMEOUT_MS, DB_CONNECT_TIMEOUT_MS: 1_000, DB_READY_TIMEOUT_MS: READY_TIMEOUT_MS },
  });
  admin = createTestPool(t.database, 3);
  await insertMany(admin, ROWS);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await t?.close();
  await proxy?.close();
});

/** After every fault: the pool has every connection back, and the service answers. */
afterEach(async () => {
  if (!hasRealServer()) return;
  proxy.thaw();
  await poolSettles(t.db.pool);
  // A dropped COPY's backend ends when the reset reaches it, soon but not at once.
  await expect
    .poll(async () => (await admin.query(
      `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'oms-customers' AND xact_start IS NOT NULL`,
    )).rowCount, { timeout: 10_000 })
    .toBe(0);
  const next = await get('?limit=5');
  expect(next.status).toBe(200);
  expect(((await next.json()) as { count: number }).count).toBe(rowsNow);
});

const exportPaths = [
  ['CSV by COPY', '?limit=all&format=csv'],
  ['JSON by cursor', '?limit=all'],
  ['XLSX from COPY', '?limit=all&format=xls'],
] as const;

/** Faults injected once the body has begun, while the client holds the download back. */
const midExportFaults: Record<string, () => Promise<void>> = {
  'backend terminated': async () => {
    expect(await terminate('xact_start IS NOT NULL')).toBe(1);
  },
  'connection cut': async () => proxy.cut(),
  'connection frozen': async () => proxy.freeze(),
};

describe.skipIf(!hasRealServer())('an export hit by a database fault after its first byte', () => {
  describe.each(exportPaths)('%s', (_path, query) => {
    if (query.includes('format=xls')) {
      beforeAll(async () => {
        await insertMany(admin, XLSX_ROWS - ROWS, { firstId: ROWS + 1 });
        rowsNow = XLSX_ROWS;
      }, 120_000);
      afterAll(async () => {
        await admin.query('DELETE FROM customer WHERE id > $1', [ROWS]);
        rowsNow = ROWS;
      }, 120_000);
    }
    it.each(Object.keys(midExportFaults))('%s: the response is cut short, the process serves on', async (fault) => {
      const result = await download(`${base}${URL_PATH}${query}`, headers(), async (res) => {
        // Buffers fill while the client holds back; then it reads on, slowly.
        res.pause();
        await new Promise((resolve) => setTimeout(resolve, 100));
        await midExportFaults[fault]!();
        readSlowly(res);
      });
      expect(result.status).toBe(200);
      expect(result.headers['transfer-encoding']).toBe('chunked');
      expect(result.complete).toBe(false);
    });

    it('client gone: the export stops, its connection is freed, nothing is logged as an error', async () => {
      const logged = t.logs().length;
      const result = await download(`${base}${URL_PATH}${query}`, headers(), (res) => void res.destroy());
      expect(result.complete).toBe(false);
      await poolSettles(t.db.pool);
      expect(errorLinesSince(logged)).toEqual([]);
    });
  });
});

describe.skipIf(!hasRealServer())('a request hit by a database fault before its first byte', () => {
  const requests = [['a page', '?first_name=First+7'], ...exportPaths] as const;

  /** Starts `query` while the tables are locked, injects the fault once it waits, then lets go. */
  async function blockedThen(query: string, fault: () => Promise<unknown> | unknown): Promise<Response> {
    const release = await lockCustomers();
    try {
      const response = get(query);
      await aStatementWaitsForTheLock();
      await fault();
      return await response;
    } finally {
      await release();
    }
  }

  const beforeFirstByte: Record<string, () => Promise<unknown> | unknown> = {
    'backend terminated': () => terminate(`wait_event_type = 'Lock'`),
    // Nothing to do: the lock outlasts statement_timeout, which cancels the statement.
    'statement timeout': () => undefined,
    'connection cut': () => proxy.cut(),
    'connection frozen': () => proxy.freeze(),
  };

  describe.each(requests)('%s', (_path, query) => {
    it.each(Object.keys(beforeFirstByte))('%s: 503 with Retry-After, never 500', async (fault) => {
      const response = await blockedThen(query, beforeFirstByte[fault]!);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.text()).toBe(UNAVAILABLE);
    });
  });

  it('a page whose client is gone frees its connection and logs no error', async () => {
    const logged = t.logs().length;
    const release = await lockCustomers();
    try {
      const aborted = new AbortController();
      const response = fetch(`${base}${URL_PATH}?first_name=x`, { headers: headers(), signal: aborted.signal });
      await aStatementWaitsForTheLock();
      aborted.abort();
      await expect(response).rejects.toThrow();
    } finally {
      await release();
    }
    await poolSettles(t.db.pool);
    expect(errorLinesSince(logged)).toEqual([]);
  });
});

describe.skipIf(!hasRealServer())('an exhausted pool and GET /ready', () => {
  it('while every API connection is held, pages answer 503 after DB_CONNECT_TIMEOUT_MS and /ready stays 200', async () => {
    const held = await Promise.all(Array.from({ length: t.config.DB_POOL_MAX }, () => t.db.pool.connect()));
    try {
      const page = await get('?limit=5');
      expect([page.status, page.headers.get('retry-after'), await page.text()]).toEqual([503, '5', UNAVAILABLE]);
      const ready = await fetch(`${base}/ready`);
      expect([ready.status, await ready.text()]).toEqual([200, '{"status":"ready"}']);
    } finally {
      for (const client of held) client.release();
    }
  });

  it('a frozen database makes /ready answer 503 within DB_READY_TIMEOUT_MS', async () => {
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    proxy.freeze();
    const started = performance.now();
    const ready = await fetch(`${base}/ready`);
    const elapsed = performance.now() - started;
    expect([ready.status, await ready.json()]).toEqual([503, { status: 'unavailable', reason: 'database unreachable' }]);
    // The deadline, plus slack for two busy cores; without it this would wait as long as the freeze.
    expect(elapsed).toBeLessThan(READY_TIMEOUT_MS + 2_000);
    proxy.thaw();
    await expect.poll(async () => (await fetch(`${base}/ready`)).status, { timeout: 10_000 }).toBe(200);
  });
});
