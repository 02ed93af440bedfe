/**
 * GET /metrics through the built app and over real HTTP, read with a Prometheus text-format
 * parser: the series move after pages and exports, labels stay bounded whatever paths clients
 * send, the pool is reported as it is, and METRICS_TOKEN / METRICS_PORT are honoured.
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, exampleCustomers, listenOnLoopback, type TestApp } from '../helpers/app.js';
import { demoCustomers } from '../../src/customers/demo-data.js';
import { HELD_EXPORT_ROWS, insertMany, startExport } from '../helpers/exports.js';
import { download } from '../helpers/http-download.js';
import { parseExposition, sampleValue, seriesCount, type Exposition } from '../helpers/prometheus.js';
import { WAIT } from '../helpers/wait.js';

const LIST = '/api/v1/oms/customers/list-simple/';

async function scrape(t: TestApp, headers: Record<string, string> = {}): Promise<Exposition> {
  const res = await t.app.inject({ method: 'GET', url: '/metrics', headers });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(res.body);
}

describe('GET /metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ customers: exampleCustomers(demoCustomers), config: { ALLOWED_HOSTS: ['api.example.com'] } });
  });
  afterAll(async () => t?.close());

  it('serves process metrics and the pool, read on scrape', async () => {
    const m = await scrape(t);
    expect(m.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(m.types.get('nodejs_heap_size_used_bytes')).toBe('gauge');
    expect(sampleValue(m, 'db_pool_max_connections', { pool: 'api' })).toBe(t.db.pool.options.max);
    expect(sampleValue(m, 'db_pool_connections', { pool: 'api' })).toBe(t.db.pool.totalCount);
    expect(sampleValue(m, 'db_pool_idle_connections', { pool: 'api' })).toBe(t.db.pool.idleCount);
    expect(sampleValue(m, 'db_pool_waiting_requests', { pool: 'api' })).toBe(0);
  });

  it('counts requests by route template, method, status and rendered format, and times them', async () => {
    const auth = { authorization: `Token ${t.token}`, host: 'api.example.com' };
    const route = { route: LIST, method: 'GET' };
    const before = await scrape(t);
    for (const url of [`${LIST}?email=a%40b.c`, `${LIST}?page=2`, `${LIST}?format=csv`]) {
      expect((await t.app.inject({ method: 'GET', url, headers: auth })).statusCode).toBe(200);
    }
    expect((await t.app.inject({ method: 'GET', url: LIST, headers: { host: 'api.example.com' } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: `${LIST}?format=pdf`, headers: auth })).statusCode).toBe(404);
    const after = await scrape(t);
    const delta = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);

    expect(delta('http_requests_total', { ...route, status: '200', format: 'json' })).toBe(2);
    expect(delta('http_requests_total', { ...route, status: '200', format: 'csv' })).toBe(1);
    // Negotiation ran (JSON) before authentication failed; for ?format=pdf it failed itself.
    expect(delta('http_requests_total', { ...route, status: '401', format: 'json' })).toBe(1);
    expect(delta('http_requests_total', { ...route, status: '404', format: 'none' })).toBe(1);
    expect(delta('http_request_duration_seconds_count', { ...route, status: '200', format: 'json' })).toBe(2);
    expect(delta('http_request_duration_seconds_bucket', { ...route, status: '200', format: 'json', le: '+Inf' })).toBe(2);
    expect(delta('http_request_duration_seconds_sum', { ...route, status: '200', format: 'json' })).toBeGreaterThan(0);
    // Each of the three pages is one read (token, version, count and page); the 401 without a token reads nothing.
    expect(delta('db_query_duration_seconds_count', { query: 'page_read' })).toBe(3);
    expect(delta('db_query_duration_seconds_count', { query: 'count' })).toBe(0);
    expect(delta('db_query_duration_seconds_count', { query: 'page' })).toBe(0);
  });

  it('adds no series for a flood of random paths and query strings', async () => {
    const flood = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const junk = Math.random().toString(36).slice(2);
        await t.app.inject({ method: 'GET', url: `/${junk}/${i}?${junk}=${i}`, headers: { host: 'api.example.com' } });
        await t.app.inject({ method: 'GET', url: `${LIST}${junk}?q=${junk}`, headers: { host: 'api.example.com' } });
      }
    };
    await flood(3);
    const before = await scrape(t);
    await flood(40);
    const after = await scrape(t);
    expect(seriesCount(after, 'http_requests_total')).toBe(seriesCount(before, 'http_requests_total'));
    expect(seriesCount(after, 'http_request_duration_seconds_bucket')).toBe(seriesCount(before, 'http_request_duration_seconds_bucket'));
    const unmatched = { route: 'unmatched', method: 'GET', status: '404', format: 'none' };
    expect(sampleValue(after, 'http_requests_total', unmatched) - sampleValue(before, 'http_requests_total', unmatched)).toBe(80);
    for (const sample of after.samples.get('http_requests_total')!) {
      expect(sample.labels.route === 'unmatched' || sample.labels.route!.startsWith('/')).toBe(true);
      expect(sample.labels.route).not.toContain('?');
    }
  });

  it('is answered whatever the Host, outside ALLOWED_HOSTS', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { host: 'scraper.internal:9100' } });
    expect(res.statusCode).toBe(200);
  });

  it('counts a finished export: its rows, the compressed bytes that went out, none left in flight', async () => {
    const origin = await listenOnLoopback(t);
    const before = await scrape(t);
    const got = await download(`${origin}${LIST}?limit=all&format=csv`, { authorization: `Token ${t.token}`, host: 'api.example.com', 'accept-encoding': 'gzip' });
    expect(got.status).toBe(200);
    expect(got.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(got.body).toString('utf8').trimEnd().split('\n')).toHaveLength(110);
    // The request is counted when its response closes, just after the client has it all.
    await vi.waitFor(async () => {
      const after = await scrape(t);
      expect(sampleValue(after, 'export_rows_total', { format: 'csv' }) - sampleValue(before, 'export_rows_total', { format: 'csv' })).toBe(109);
      expect(sampleValue(after, 'export_bytes_total', { format: 'csv' }) - sampleValue(before, 'export_bytes_total', { format: 'csv' })).toBe(got.body.length);
      expect(sampleValue(after, 'exports_in_flight', { format: 'csv' })).toBe(0);
      expect(sampleValue(after, 'db_query_duration_seconds_count', { query: 'export_open' }) - sampleValue(before, 'db_query_duration_seconds_count', { query: 'export_open' })).toBe(1);
    }, WAIT);
  });
});

describe('an export in flight', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await insertMany(t.db.pool, HELD_EXPORT_ROWS, { wide: true });
  }, 120_000);
  afterAll(async () => t?.close());

  it('is counted while it is sent; one cut short adds no rows', async () => {
    const origin = await listenOnLoopback(t);
    const held = await startExport(`${origin}${LIST}?limit=all&format=csv`, t.token);
    expect(held.status).toBe(200);
    const during = await scrape(t);
    expect(sampleValue(during, 'exports_in_flight', { format: 'csv' })).toBe(1);
    expect(sampleValue(during, 'export_bytes_total', { format: 'csv' })).toBeGreaterThan(0);
    held.abort();
    await vi.waitFor(async () => expect(sampleValue(await scrape(t), 'exports_in_flight', { format: 'csv' })).toBe(0), WAIT);
    const after = await scrape(t);
    expect(sampleValue(after, 'export_rows_total', { format: 'csv' })).toBe(0);
    expect(sampleValue(after, 'http_requests_total', { route: LIST, method: 'GET', status: '200', format: 'csv' })).toBe(1);
  });
});

describe('METRICS_TOKEN', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ config: { METRICS_TOKEN: 's3cret-metrics' } });
  });
  afterAll(async () => t?.close());

  it.each([
    ['no header', undefined],
    ['the wrong token', 'Bearer s3cret-metric'],
    ['the API scheme', 'Token s3cret-metrics'],
  ])('answers 401 with %s', async (_case, authorization) => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(res.json()).toEqual({ detail: 'Invalid or missing metrics token.' });
  });

  it('serves the metrics for `Bearer <token>`', async () => {
    await scrape(t, { authorization: 'Bearer s3cret-metrics' });
  });
});

describe('METRICS_PORT', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ config: { METRICS_PORT: 0, METRICS_TOKEN: 'tok' } });
  });

  it('serves /metrics on its own port only, counting the API port\'s requests; closed with the app', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `${LIST}?format=csv`, headers: { authorization: `Token ${t.token}` } })).statusCode).toBe(200);
    const { port } = t.app.metricsServer!.server.address() as AddressInfo;
    const get = (headers: Record<string, string>) => download(`http://127.0.0.1:${port}/metrics`, headers);
    expect((await get({})).status).toBe(401);
    const res = await get({ authorization: 'Bearer tok' });
    expect(res.status).toBe(200);
    const m = parseExposition(res.body.toString('utf8'));
    expect(sampleValue(m, 'http_requests_total', { route: LIST, status: '200', format: 'csv' })).toBe(1);
    expect(sampleValue(m, 'http_requests_total', { route: '/metrics' })).toBe(0);

    await t.close();
    await expect(
      new Promise((resolve, reject) => http.get(`http://127.0.0.1:${port}/metrics`, { agent: false }, resolve).on('error', reject)),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
