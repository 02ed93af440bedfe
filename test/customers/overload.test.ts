/**
 * Issue 9, part 2: twelve slow `limit=all` downloads (clients reading ~2 KB/s) must not take
 * the API down. With the default caps (DB_POOL_MAX=10 → 3 exports at once, 2 per token) the
 * exports over a cap are refused at once, and pages requested for 10 s all answer 200 with a
 * p99 under 1 s while the admitted exports hold their connections; /ready stays 200.
 * Real PostgreSQL only (the embedded database has one connection).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { hasRealServer } from '../helpers/database.js';
import { fetchAll, insertMany } from '../helpers/exports.js';
import { createTokenStore } from '../../src/auth/token-store.js';

const URL_PATH = '/api/v1/oms/customers/list-simple/';
const READ_BYTES_PER_SECOND = 2048;
const PAGES_FOR_MS = 10_000;

interface SlowDownload {
  status: Promise<number>;
  /** ms from request to response headers. */
  answeredAfter: Promise<number>;
  stop(): void;
}

/** A download read at ~2 KB/s: after each chunk the socket pauses for as long as the rate asks. */
function slowDownload(url: string, token: string): SlowDownload {
  const started = performance.now();
  let request: http.ClientRequest | undefined;
  let timer: NodeJS.Timeout | undefined;
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    request = http.get(url, { headers: { authorization: `Token ${token}` } }, (res) => {
      res.on('data', (chunk: Buffer) => {
        res.pause();
        timer = setTimeout(() => res.resume(), (chunk.length / READ_BYTES_PER_SECOND) * 1000);
      });
      res.on('error', () => undefined);
      resolve(res);
    });
    request.on('error', (error) => (request!.destroyed ? undefined : reject(error)));
  });
  return {
    status: answered.then((res) => res.statusCode!),
    answeredAfter: answered.then(() => performance.now() - started),
    stop: () => {
      clearTimeout(timer);
      request?.destroy();
    },
  };
}

describe.skipIf(!hasRealServer())('twelve slow exports and pages at the same time (issue 9)', () => {
  let t: TestApp;
  let base: string;
  let origin: string;
  const tokens: string[] = [];
  beforeAll(async () => {
    t = await createTestApp({ config: { DB_POOL_MAX: 10 } });
    await insertMany(t.db.pool, 60_000);
    const store = createTokenStore(t.db);
    for (let i = 0; i < 6; i++) tokens.push(await store.create(`exporter${i}`));
    tokens.push(t.token);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    base = `${origin}${URL_PATH}`;
  }, 120_000);
  afterAll(async () => t?.close());

  it('refuses the exports over the caps at once and keeps every page 200 with p99 under 1 s', async () => {
    // Twelve exports from six users, two each, started one after the other.
    const downloads: SlowDownload[] = [];
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 12; i++) {
        const download = slowDownload(`${base}?limit=all&format=${i % 2 ? 'csv' : 'json'}`, tokens[Math.floor(i / 2)]!);
        downloads.push(download);
        statuses.push(await download.status);
      }
      // DB_POOL_MAX=10 → EXPORT_CONCURRENCY 3: the first three run, the nine others are refused.
      expect(statuses).toEqual([200, 200, 200, ...Array(9).fill(429)]);
      const refusedAfter = await Promise.all(downloads.filter((_, i) => statuses[i] === 429).map((d) => d.answeredAfter));
      expect(Math.max(...refusedAfter)).toBeLessThan(1_000);

      // Pages for 10 s from four clients at once while the three exports hold their connections.
      const latencies: number[] = [];
      const pageStatuses = new Set<number>();
      const until = performance.now() + PAGES_FOR_MS;
      await Promise.all(
        Array.from({ length: 4 }, async (_, worker) => {
          for (let n = 0; performance.now() < until; n++) {
            const started = performance.now();
            const res = await fetchAll(`${base}?limit=20&page=${1 + ((n * 7 + worker) % 500)}`, tokens[6]!);
            latencies.push(performance.now() - started);
            pageStatuses.add(res.status);
          }
        }),
      );
      expect([...pageStatuses]).toEqual([200]);
      latencies.sort((a, b) => a - b);
      const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]!;
      expect(latencies.length).toBeGreaterThan(40);
      expect(p99).toBeLessThan(1_000);

      const ready = await fetchAll(`${origin}/ready`, '');
      expect(ready.status).toBe(200);
      // The admitted exports were still running (held by their slow readers) the whole time.
      expect(t.db.pool.totalCount - t.db.pool.idleCount).toBeGreaterThanOrEqual(3);
    } finally {
      downloads.forEach((d) => d.stop());
    }
  }, 60_000);
});
