/**
 * Compression over real HTTP, read by a client that decompresses: which encoding Accept-Encoding's
 * q-values choose, that the bytes are the uncompressed response's, what is never compressed
 * (small bodies, XLSX), the Vary and Content-Length it leaves, HEAD, and that a streamed export
 * still goes only as fast as its client reads (backpressure through the compressor).
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, exampleCustomers, listenOnLoopback, type TestApp } from '../helpers/app.js';
import { demoCustomers } from '../../src/customers/demo-data.js';
import { registerListView } from '../../src/rest/list-view.js';
import type { ListRepository } from '../../src/repository/list-repository.js';
import { channelResource } from '../second-resource/channel.resource.js';
import { settledValue, WAIT } from '../helpers/wait.js';

const LIST = '/api/v1/oms/customers/list-simple/';

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** As it came over the wire. */
  raw: Buffer;
  /** Decoded as Content-Encoding says. */
  body: Buffer;
}

function request(url: string, headers: Record<string, string>, method = 'GET'): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const encoding = res.headers['content-encoding'];
        const body = encoding === 'gzip' ? gunzipSync(raw) : encoding === 'br' ? brotliDecompressSync(raw) : raw;
        resolve({ status: res.statusCode!, headers: res.headers, raw, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('compression (on by default)', () => {
  let t: TestApp;
  let origin: string;
  let auth: Record<string, string>;
  const get = (query: string, more: Record<string, string> = {}, method = 'GET') => request(`${origin}${LIST}${query}`, { ...auth, ...more }, method);
  beforeAll(async () => {
    t = await createTestApp({ customers: exampleCustomers(demoCustomers) });
    origin = await listenOnLoopback(t);
    auth = { authorization: `Token ${t.token}` };
  });
  afterAll(async () => t?.close());

  it.each([
    ['gzip', 'gzip'],
    ['br', 'br'],
    ['gzip, deflate, br', 'br'],
    ['br;q=0.5, gzip;q=0.8', 'gzip'],
    ['gzip;q=0, br', 'br'],
    ['br;q=0, gzip', 'gzip'],
    ['gzip;q=0, *', 'br'],
    ['br;q=0, *;q=0.3', 'gzip'],
    ['*', 'br'],
  ])('Accept-Encoding %j compresses a page with %s, same bytes, exact Content-Length', async (acceptEncoding, encoding) => {
    // About 3 KB: under every syncThreshold the plugin picks, so compressed in one call.
    const plain = await get('?limit=20');
    const packed = await get('?limit=20', { 'accept-encoding': acceptEncoding });
    expect(plain.raw.length).toBeGreaterThan(1024);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(packed.headers['content-encoding']).toBe(encoding);
    expect(packed.body.equals(plain.raw)).toBe(true);
    expect(packed.raw.length).toBeLessThan(plain.raw.length);
    expect(packed.headers['content-length']).toBe(String(packed.raw.length));
    expect(packed.headers.vary).toBe('Accept, Accept-Encoding');
    // Asked without Accept-Encoding: the original's headers exactly.
    expect(plain.headers.vary).toBe('Accept');
  });

  it.each(['gzip;q=0', 'identity', '*;q=0', 'br;q=0, gzip;q=0, *', 'compress'])('Accept-Encoding %j gets the identity body', async (acceptEncoding) => {
    const res = await get('?limit=50', { 'accept-encoding': acceptEncoding });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers['content-length']).toBe(String(res.raw.length));
    // Not compressed, yet the answer depends on Accept-Encoding: caches must keep it apart.
    expect(res.headers.vary).toBe('Accept, Accept-Encoding');
  });

  it('decodes no request body: a GET whose body says an unknown Content-Encoding is answered as without it', async () => {
    // As Django: a GET's body is never read, whatever it says it is encoded with.
    const plain = await t.app.inject({ method: 'GET', url: LIST, headers: auth });
    const withBody = await t.app.inject({
      method: 'GET', url: LIST, headers: { ...auth, 'content-encoding': 'x-unknown', 'content-type': 'text/plain' }, payload: 'not encoded',
    });
    expect(withBody.statusCode).toBe(200);
    expect(withBody.body).toBe(plain.body);
  });

  it('leaves a body under 1 KB as it is, errors included', async () => {
    const small = await get('?limit=1', { 'accept-encoding': 'gzip' });
    expect(small.raw.length).toBeLessThan(1024);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.headers['content-length']).toBe(String(small.raw.length));
    const unauthorised = await request(`${origin}${LIST}`, { 'accept-encoding': 'gzip' });
    expect(unauthorised.status).toBe(401);
    expect(unauthorised.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(unauthorised.body.toString('utf8'))).toEqual({ detail: 'Authentication credentials were not provided.' });
    expect(unauthorised.headers.vary).toBe('Accept, Accept-Encoding');
  });

  it('compresses an error body over 1 KB like any JSON', async () => {
    // Every filter wrong at once: django-filter's body names each of them, and echoes the bad sort.
    const bad = `?sort=${'x'.repeat(600)}&id__gt=x&id__gte=x&id__lt=x&id__lte=x&channel_id=x` +
      '&modified_date=x&modified_date__gt=x&modified_date__gte=x&modified_date__lt=x&modified_date__lte=x';
    const plain = await get(bad);
    const packed = await get(bad, { 'accept-encoding': 'gzip' });
    expect(plain.status).toBe(400);
    expect(packed.status).toBe(400);
    expect(plain.raw.length).toBeGreaterThan(1024);
    expect(packed.headers['content-encoding']).toBe('gzip');
    expect(packed.body.equals(plain.raw)).toBe(true);
  });

  it('frames a large compressed page either way the plugin chooses, consistently', async () => {
    // Up to @fastify/compress's syncThreshold (4–64 KB by the host's cores) a page is compressed
    // in one call and keeps an exact Content-Length; above it, it is streamed, chunked.
    const plain = await get('?limit=109');
    const packed = await get('?limit=109', { 'accept-encoding': 'gzip' });
    expect(plain.headers['content-length']).toBe(String(plain.raw.length));
    expect(packed.headers['content-encoding']).toBe('gzip');
    expect(packed.body.equals(plain.raw)).toBe(true);
    if (packed.headers['content-length'] === undefined) expect(packed.headers['transfer-encoding']).toBe('chunked');
    else expect(packed.headers['content-length']).toBe(String(packed.raw.length));
  });

  it.each([['json'], ['csv']])('streams a full %s export compressed: the same bytes, chunked', async (format) => {
    const plain = await get(`?limit=all&format=${format}`);
    const packed = await get(`?limit=all&format=${format}`, { 'accept-encoding': 'gzip' });
    expect(packed.headers['content-encoding']).toBe('gzip');
    expect(packed.headers['content-length']).toBeUndefined();
    expect(packed.headers['transfer-encoding']).toBe('chunked');
    expect(packed.body.equals(plain.raw)).toBe(true);
    expect(packed.headers['x-total-count'] ?? '109').toBe('109');
  });

  it.each([
    ['a page', '?format=xlsx&limit=100', 'application/xls'],
    ['an export', '?format=xlsx&limit=all', 'application/xls'],
  ])('never compresses XLSX (%s): it is a zip already', async (_case, query, type) => {
    const res = await get(query, { 'accept-encoding': 'gzip, br' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toBe('Accept');
    expect(res.raw.subarray(0, 2).toString('latin1')).toBe('PK');
  });

  it('never compresses the registered XLSX type either', async () => {
    const type = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    const res = await get('?limit=100', { accept: type, 'accept-encoding': 'gzip' });
    expect(res.headers['content-type']).toBe(type);
    expect(res.headers['content-encoding']).toBeUndefined();
  });

  it('answers HEAD with the headers of the identity body', async () => {
    // Fastify's HEAD route drops the body before @fastify/compress sees it, so HEAD describes the
    // identity representation: its Content-Length, no Content-Encoding.
    const plain = await get('?limit=50');
    const head = await get('?limit=50', { 'accept-encoding': 'gzip' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.raw.length).toBe(0);
    expect(head.headers['content-encoding']).toBeUndefined();
    expect(head.headers['content-length']).toBe(String(plain.raw.length));
  });
});

describe('COMPRESSION=false', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ customers: exampleCustomers(demoCustomers), config: { COMPRESSION: false } });
  });
  afterAll(async () => t?.close());

  it('sends every body as it is, with the view\'s Vary alone', async () => {
    const origin = await listenOnLoopback(t);
    const res = await request(`${origin}${LIST}?limit=50`, { authorization: `Token ${t.token}`, 'accept-encoding': 'gzip, br' });
    expect(res.raw.length).toBeGreaterThan(1024);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toBe('Accept');
  });
});

describe('a compressed export its client stops reading', () => {
  let pulled = 0;
  let ended = false;
  // An export that never runs out: only backpressure through the compressor stops its reads.
  const endless: ListRepository = {
    readPage: async () => ({ gate: null, version: null, count: 0, rows: [] }),
    version: async () => null,
    count: async () => 0,
    findPage: async () => [],
    openExport: async () => ({
      count: 1_000_000_000,
      close: async () => undefined,
      csvLines: async () => null,
      async *rows() {
        try {
          for (let batch = 0; ; batch++) {
            pulled += 1;
            // Random text, so the compressed stream is not a few bytes per million rows.
            const names = randomBytes(24 * 500).toString('hex');
            yield Array.from({ length: 500 }, (_, i) => ({ id: batch * 500 + i, name: names.slice(i * 48, i * 48 + 48), omnitron_id: i, channel_type: null }));
          }
        } finally {
          ended = true;
        }
      },
    }),
  };
  const routes: FastifyPluginAsync = async (scope) => {
    registerListView(scope, { ...scope.listPolicies, path: '/list/', resource: channelResource, repository: endless });
  };
  let t: TestApp;
  let origin: string;
  beforeAll(async () => {
    t = await createTestApp({ routes: [{ prefix: '/endless', plugin: routes }] });
    origin = await listenOnLoopback(t);
  });
  afterAll(async () => t?.close());

  it.each(['gzip', 'br'])('with %s, stops reading rows while the client reads nothing, and ends them when it leaves', async (encoding) => {
    pulled = 0;
    ended = false;
    const req = http.get(`${origin}/endless/list/?limit=all&format=csv`, {
      agent: false,
      headers: { authorization: `Token ${t.token}`, 'accept-encoding': encoding },
    });
    const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    res.pause();
    expect(res.headers['content-encoding']).toBe(encoding);
    const held = await settledValue(() => pulled, { quietPolls: 10, intervalMs: 50, timeoutMs: 20_000 });
    expect(held).toBeGreaterThan(0);
    req.destroy();
    await vi.waitFor(() => expect(ended).toBe(true), WAIT);
  }, 40_000);
});
