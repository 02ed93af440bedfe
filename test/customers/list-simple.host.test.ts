/**
 * Host validation (Django's `get_host` + ALLOWED_HOSTS), over real sockets so any bytes can
 * be sent as Host: a malformed or disallowed host is a 400 {"detail":"Invalid Host header."}
 * and never reaches a link (JSON next/previous, CSV's Link header).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestAppOptions } from '../helpers/app.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { demoCustomers } from '../../src/customers/demo-data.js';

const LIST = '/api/v1/oms/customers/list-simple/';
const INVALID_HOST = '{"detail":"Invalid Host header."}';
const ISSUE_HOSTS = ['evil.com>; rel="next", <http://x', 'user@evil.com', 'evil.com/x?'];

async function serve(config: TestAppOptions['config']) {
  const t = await createTestApp({ customers: demoCustomers, config });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (t.app.server.address() as { port: number }).port;
  const get = (target: string, headerLines: string[], version = '1.1'): Promise<RawResponse> =>
    rawRequest(port, [`GET ${target} HTTP/${version}`, `Authorization: Token ${t.token}`, 'Connection: close', ...headerLines, '', ''].join('\r\n'));
  return { t, port, get };
}

describe('Host validation with the default ALLOWED_HOSTS (*)', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    s = await serve({});
  });
  afterAll(async () => s?.t.close());

  it.each(ISSUE_HOSTS)('answers 400 to Host %j, in JSON and in CSV, with no link', async (host) => {
    for (const target of [`${LIST}?limit=2`, `${LIST}?limit=2&format=csv`]) {
      const res = await s.get(target, [`Host: ${host}`]);
      expect([res.status, res.headers['content-type'], res.body]).toEqual([400, 'application/json', INVALID_HOST]);
      expect(res.headers.link).toBeUndefined();
      expect(JSON.stringify(res)).not.toContain('evil');
    }
  });

  it('answers 400 to an HTTP/1.1 request without Host, and to a bad Host on an unknown path', async () => {
    expect((await s.get(`${LIST}?limit=2`, [])).body).toBe(INVALID_HOST);
    const unknown = await s.get('/nowhere/', ['Host: user@evil.com']);
    expect([unknown.status, unknown.body]).toEqual([400, INVALID_HOST]);
  });

  it('builds links from a valid host as sent: name, IPv4, IPv6 literal, port, trailing dot', async () => {
    for (const host of ['api.example.com', 'API.Example.com:8443', '10.0.0.5:8000', '[::1]:8000', 'example.com.']) {
      const json = await s.get(`${LIST}?limit=2`, [`Host: ${host}`]);
      expect((JSON.parse(json.body) as { next: string }).next).toBe(`http://${host}${LIST}?limit=2&page=2`);
      const csv = await s.get(`${LIST}?limit=2&format=csv`, [`Host: ${host}`]);
      expect(csv.headers.link).toBe(`<http://${host}${LIST}?format=csv&limit=2&page=2>; rel="next"`);
    }
  });

  it('an HTTP/1.0 request without Host gets links to the address it came in on', async () => {
    const res = await s.get(`${LIST}?limit=2`, [], '1.0');
    expect((JSON.parse(res.body) as { next: string }).next).toBe(`http://127.0.0.1:${s.port}${LIST}?limit=2&page=2`);
  });

  it('does not check /health and /ready, which orchestrators probe by IP', async () => {
    expect((await s.get('/health', ['Host: evil.com/x?'])).status).toBe(200);
    expect((await s.get('/ready', ['Host: user@evil.com'])).status).toBe(200);
  });

  it('ignores X-Forwarded-Host without TRUST_PROXY, bad or good', async () => {
    const res = await s.get(`${LIST}?limit=2`, ['Host: api.example.com', 'X-Forwarded-Host: evil.com/x?']);
    expect((JSON.parse(res.body) as { next: string }).next).toBe(`http://api.example.com${LIST}?limit=2&page=2`);
  });
});

describe('ALLOWED_HOSTS=.example.com,api.test', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    s = await serve({ ALLOWED_HOSTS: ['.example.com', 'api.test'] });
  });
  afterAll(async () => s?.t.close());

  it.each(['example.com', 'a.example.com', 'A.B.EXAMPLE.COM:8443', 'api.test', 'api.test:80'])('serves Host %s', async (host) => {
    const res = await s.get(`${LIST}?limit=2`, [`Host: ${host}`]);
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as { next: string }).next).toBe(`http://${host}${LIST}?limit=2&page=2`);
  });

  it.each(['badexample.com', 'example.com.evil.org', 'x.api.test', '127.0.0.1', ...ISSUE_HOSTS])('refuses Host %j', async (host) => {
    const res = await s.get(`${LIST}?limit=2`, [`Host: ${host}`]);
    expect([res.status, res.body]).toEqual([400, INVALID_HOST]);
  });
});

describe('X-Forwarded-Host from a trusted proxy (TRUST_PROXY) goes through the same validation', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    s = await serve({ TRUST_PROXY: true, ALLOWED_HOSTS: ['.example.com'] });
  });
  afterAll(async () => s?.t.close());

  it('builds links from a valid, allowed X-Forwarded-Host (the Host itself is not checked then)', async () => {
    const res = await s.get(`${LIST}?limit=2`, ['Host: 10.0.0.5:8000', 'X-Forwarded-Host: api.example.com', 'X-Forwarded-Proto: https']);
    expect((JSON.parse(res.body) as { next: string }).next).toBe(`https://api.example.com${LIST}?limit=2&page=2`);
  });

  it.each([...ISSUE_HOSTS, 'other.org'])('refuses X-Forwarded-Host %j', async (host) => {
    const res = await s.get(`${LIST}?limit=2&format=csv`, ['Host: api.example.com', `X-Forwarded-Host: ${host}`]);
    expect([res.status, res.body, res.headers.link]).toEqual([400, INVALID_HOST, undefined]);
  });

  it('links carry only http or https, whatever X-Forwarded-Proto says', async () => {
    const res = await s.get(`${LIST}?limit=2`, ['Host: api.example.com', 'X-Forwarded-Proto: javascript']);
    expect((JSON.parse(res.body) as { next: string }).next).toBe(`http://api.example.com${LIST}?limit=2&page=2`);
  });
});
