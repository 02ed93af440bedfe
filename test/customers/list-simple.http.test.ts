/**
 * The endpoint's HTTP contract outside filtering: authentication, methods,
 * paths, HEAD, headers, order of checks, CORS, logs and server errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { demoCustomers } from '../../src/customers/demo-data.js';
import { createTokenStore } from '../../src/auth/token-store.js';
import { runCommand } from '../../src/cli.js';

const B = '/api/v1/oms/customers/list-simple/';
const NOT_PROVIDED = '{"detail":"Authentication credentials were not provided."}';
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ customers: demoCustomers, config: { CORS_ORIGINS: ['https://bi.example.com'] } });
});
afterAll(async () => t?.close());

const get = (headers: Record<string, string> = {}, url = B, method: 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' = 'GET') =>
  t.app.inject({ method, url, headers });

describe('GET /list-simple/ authentication (DRF TokenAuthentication)', () => {
  it.each([
    ['no header', {}, NOT_PROVIDED],
    ['another scheme', { authorization: 'Bearer SELF' }, NOT_PROVIDED],
    ['Basic', { authorization: 'Basic dXNlcjpwYXNz' }, NOT_PROVIDED],
    ['Token alone', { authorization: 'Token' }, '{"detail":"Invalid token header. No credentials provided."}'],
    ['Token a b', { authorization: 'Token a b' }, '{"detail":"Invalid token header. Token string should not contain spaces."}'],
    ['a key that is not UTF-8', { authorization: 'Token \u00ff\u00fe' }, '{"detail":"Invalid token header. Token string should not contain invalid characters."}'],
    ['an unknown key', { authorization: 'Token 0000000000000000000000000000000000000000' }, '{"detail":"Invalid token."}'],
  ])('answers 401 for %s with WWW-Authenticate: Token', async (_name, headers, body) => {
    const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace('SELF', t.token)]));
    const res = await get(h);
    expect(res.statusCode).toBe(401);
    expect(res.body).toBe(body);
    expect(res.headers['www-authenticate']).toBe('Token');
    expect(res.headers['content-type']).toBe('application/json');
  });

  it('answers 401 "User inactive or deleted." for an inactive user', async () => {
    const res = await get({ authorization: `Token ${t.inactiveToken}` });
    expect([res.statusCode, res.body]).toEqual([401, '{"detail":"User inactive or deleted."}']);
  });

  it('accepts any case of the scheme and several spaces', async () => {
    for (const header of [`token ${t.token}`, `TOKEN ${t.token}`, `Token  ${t.token}`, `Token\t${t.token} `]) {
      expect((await get({ authorization: header })).statusCode, header).toBe(200);
    }
  });

  it('refuses a revoked key with "Invalid token."', async () => {
    const tokens = createTokenStore(t.db);
    const key = await tokens.create('short-lived');
    expect((await get({ authorization: `Token ${key}` })).statusCode).toBe(200);
    await tokens.revoke(key);
    expect((await get({ authorization: `Token ${key}` })).body).toBe('{"detail":"Invalid token."}');
  });

  // As processes while a server serves: test/app/embedded-owner.e2e.test.ts.
  it('answers at once as the commands token:create, user:deactivate, user:activate and token:revoke leave a key', async () => {
    const command = async (...args: string[]) => {
      const out: string[] = [];
      expect(await runCommand(t.db, args, (line) => out.push(...line.split('\n')), () => undefined), args.join(' ')).toBe(0);
      return out;
    };
    const key = (await command('token:create', 'carol')).at(-1)!;
    const answer = async () => {
      const res = await get({ authorization: `Token ${key}` });
      return [res.statusCode, (res.json() as { detail?: string }).detail];
    };
    expect(await answer()).toEqual([200, undefined]);
    await command('user:deactivate', 'carol');
    expect(await answer()).toEqual([401, 'User inactive or deleted.']);
    await command('user:activate', 'carol');
    expect(await answer()).toEqual([200, undefined]);
    await command('token:revoke', key);
    expect(await answer()).toEqual([401, 'Invalid token.']);
  });
});

describe('GET /list-simple/ methods, paths and headers', () => {
  it('puts the view headers on every response, whatever the status', async () => {
    for (const res of [await get({ authorization: `Token ${t.token}` }), await get(), await get({ authorization: `Token ${t.token}` }, `${B}?page=9`)]) {
      // With CORS origins configured, @fastify/cors adds `Origin` to Vary before ours.
      expect(res.headers.vary).toMatch(/(^|, )Accept$/);
      expect(res.headers).toMatchObject({
        allow: 'GET, HEAD, OPTIONS',
        'x-frame-options': 'DENY',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'same-origin',
      });
    }
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'] as const)('answers 405 naming %s', async (method) => {
    const res = await get({ authorization: `Token ${t.token}` }, B, method);
    expect(res.statusCode).toBe(405);
    expect(res.body).toBe(`{"detail":"Method \\"${method}\\" not allowed."}`);
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS');
  });

  it('authenticates before checking the method: POST without a token is a 401', async () => {
    const res = await get({}, B, 'POST');
    expect([res.statusCode, res.body]).toEqual([401, NOT_PROVIDED]);
  });

  it('never parses a body: a broken JSON body is ignored on GET and still a 405 on POST', async () => {
    const headers = { authorization: `Token ${t.token}`, 'content-type': 'application/json' };
    const getRes = await t.app.inject({ method: 'GET', url: `${B}?limit=1`, headers, payload: '{bad' });
    expect(getRes.statusCode).toBe(200);
    const postRes = await t.app.inject({ method: 'POST', url: B, headers, payload: '{bad' });
    expect(postRes.statusCode).toBe(405);
  });

  it('Content-Length counts the bytes of a page with non-ASCII names, not its characters', async () => {
    const res = await get({ authorization: `Token ${t.token}` });
    expect(res.statusCode).toBe(200);
    expect(Buffer.byteLength(res.body)).toBeGreaterThan(res.body.length);
    expect(res.headers['content-length']).toBe(String(res.rawPayload.length));
    expect(res.rawPayload.toString('utf8')).toBe(res.body);
  });

  it('HEAD answers GET\'s status and headers, Content-Length included, with no body', async () => {
    const full = await get({ authorization: `Token ${t.token}` });
    const head = await get({ authorization: `Token ${t.token}` }, B, 'HEAD');
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(full.body)));
    expect(head.headers['content-type']).toBe('application/json');
    const anonymous = await get({}, B, 'HEAD');
    expect([anonymous.statusCode, anonymous.body, anonymous.headers['content-length']]).toEqual([401, '', '58']);
  });

  it.each(['GET', 'POST'] as const)('redirects %s without the trailing slash with a relative 301, query kept as sent', async (method) => {
    const res = await get({}, '/api/v1/oms/customers/list-simple?page=2&limit=5&x=a%20b', method);
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe('/api/v1/oms/customers/list-simple/?page=2&limit=5&x=a%20b');
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toBe('');
    expect(res.headers.allow).toBeUndefined();
    expect((await get({}, '/api/v1/oms/customers/list-simple')).headers.location).toBe(B);
  });

  it('answers 404 {"detail":"Not found."} as JSON for unknown paths (ours)', async () => {
    const res = await get({ authorization: `Token ${t.token}` }, '/api/v1/oms/customers/nope/');
    expect([res.statusCode, res.body, res.headers['content-type']]).toEqual([404, '{"detail":"Not found."}', 'application/json']);
  });

  it('negotiates before authenticating: a bad format is a 404 and an unsatisfiable Accept a 406 without a token', async () => {
    expect((await get({}, `${B}?format=xml`)).body).toBe('{"detail":"Not found."}');
    const res = await get({ accept: 'application/xml' });
    expect([res.statusCode, res.body]).toEqual([406, '{"detail":"Could not satisfy the request Accept header."}']);
  });

  it('OPTIONS without a token is the same 401 as GET', async () => {
    const res = await get({}, B, 'OPTIONS');
    expect([res.statusCode, res.body, res.headers['www-authenticate']]).toEqual([401, NOT_PROVIDED, 'Token']);
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin without authentication, allowing Authorization', async () => {
    const res = await get({ origin: 'https://bi.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' }, B, 'OPTIONS');
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://bi.example.com');
    expect(String(res.headers['access-control-allow-headers'])).toMatch(/Authorization/i);
  });

  it('lets a plain OPTIONS with an Origin reach the metadata handler', async () => {
    const res = await get({ origin: 'https://bi.example.com', authorization: `Token ${t.token}` }, B, 'OPTIONS');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'list-simple' });
    expect(res.headers['access-control-allow-origin']).toBe('https://bi.example.com');
  });

  it('gives no CORS headers to other origins', async () => {
    const res = await get({ origin: 'https://evil.example.com', authorization: `Token ${t.token}` });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('logs and server errors', () => {
  it('logs every request with its request id and never the token', async () => {
    const res = await get({ authorization: `Token ${t.token}`, 'x-request-id': 'req-abc-123' });
    expect(res.headers['x-request-id']).toBe('req-abc-123');
    const lines = t.logs().trim().split('\n').map((l) => JSON.parse(l) as { reqId?: string });
    expect(lines.filter((l) => l.reqId === 'req-abc-123').length).toBeGreaterThanOrEqual(2);
    expect(t.logs()).not.toContain(t.token);
    expect(t.logs()).not.toContain(t.inactiveToken);
  });

  it('answers 500 {"detail":"A server error occurred."} with the cause in the log only', async () => {
    const original = t.db.pool.query.bind(t.db.pool);
    t.db.pool.query = (() => Promise.reject(new Error('boom: relation "secret_table" does not exist'))) as never;
    try {
      const res = await get({ authorization: `Token ${t.token}` });
      expect([res.statusCode, res.body]).toEqual([500, '{"detail":"A server error occurred."}']);
      expect(res.body).not.toContain('secret_table');
      expect(t.logs()).toContain('secret_table');
    } finally {
      t.db.pool.query = original;
    }
  });
});
