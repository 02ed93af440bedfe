/**
 * Every body the endpoint answers, held to the OpenAPI document's schemas (Ajv, draft 2020-12):
 * what the original answered (each case of the transcript), and what this service answers for
 * every status the document lists, on a live app.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, exampleCustomers, type TestApp } from '../helpers/app.js';
import { transcriptCases, fixture, type TranscriptCase } from '../helpers/fixtures.js';
import { createResponseValidator, customerDocument, type ResponseValidator } from '../helpers/openapi.js';
import { createTokenStore } from '../../src/auth/token-store.js';
import { demoCustomers } from '../../src/customers/demo-data.js';

const PATH = '/api/v1/oms/customers/list-simple/';

let validator: ResponseValidator;
beforeAll(async () => {
  validator = await createResponseValidator(await customerDocument());
});

/**
 * What a cut body shows whole: the longest prefix that ends where a value ends (before a `,`) and
 * parses once its open object, array and row are closed. Members after the cut are simply absent.
 */
function shownWhole(prefix: string): unknown {
  for (let end = prefix.lastIndexOf(','); end > 0; end = prefix.lastIndexOf(',', end - 1)) {
    for (const closer of ['}', ']}', '}]}']) {
      try {
        return JSON.parse(`${prefix.slice(0, end)}${closer}`);
      } catch {
        // Not closed by this: try the next closer, then an earlier comma.
      }
    }
  }
  throw new Error(`nothing whole in ${prefix.slice(0, 80)}…`);
}

/** Ajv's errors, less those for members a cut body cannot show. */
const shownErrors = (errors: unknown[] | null) =>
  (errors ?? []).filter((e) => (e as { keyword: string }).keyword !== 'required');

/** Why a transcript case has no JSON body the document describes, or null when it has one. */
function notDescribed(c: TranscriptCase): string | null {
  const path = c.path.split('?')[0]!;
  const type = c.responseHeaders['Content-Type'] ?? '';
  if (c.status === 301) return 'the APPEND_SLASH redirect';
  if (path !== PATH) return 'a path outside the API (Django’s own pages)';
  if (c.method === 'HEAD') return 'HEAD: no body';
  if (type.startsWith('text/html')) return 'Django’s HTML error page (bad Host)';
  if (c.status !== 200 && !type.startsWith('application/json')) return 'an error in CSV/XLSX (ours answers JSON: differences.md)';
  if (c.method === 'OPTIONS' && !type.startsWith('application/json')) return 'metadata in CSV (ours is always JSON)';
  return null;
}

describe('the original’s answers (test/fixtures/transcript-cases.json) against the document', () => {
  const cases = transcriptCases();

  it.each(cases.filter((c) => notDescribed(c) === null).map((c) => [c.title, c] as const))('%s', (_title, c) => {
    const mediaType = c.responseHeaders['Content-Type']!;
    if (!mediaType.startsWith('application/json')) {
      // A file format: the document names its media type; the bytes are the renderers' tests' business.
      expect(validator.response(c.method, PATH, c.status)?.content).toHaveProperty([mediaType.split(';')[0]!]);
      return;
    }
    if (c.bodyComplete) {
      expect(validator.errors(c.method, PATH, c.status, mediaType, JSON.parse(c.body!))).toBeNull();
    } else {
      expect(shownErrors(validator.errors(c.method, PATH, c.status, mediaType, shownWhole(c.body!)))).toEqual([]);
    }
  });

  it('includes the spec’s two example bodies and the 109 customers the transcript implies', () => {
    // The spec writes its page's links with a placeholder for the origin.
    const page = JSON.parse(fixture('list-response-example.json').replaceAll('{domain_url}', 'oms.example.com'));
    expect(validator.errors('GET', PATH, 200, 'application/json', page)).toBeNull();
    expect(validator.errors('OPTIONS', PATH, 200, 'application/json', JSON.parse(fixture('options-response.json')))).toBeNull();
    const customers = JSON.parse(fixture('customers-109.json')) as unknown[];
    const all = { count: customers.length, next: null, previous: null, results: customers };
    expect(validator.errors('GET', PATH, 200, 'application/json', all)).toBeNull();
  });

  it('leaves out only answers the document does not describe, for a stated reason', () => {
    const reasons = new Map<string, number>();
    for (const c of cases) {
      const reason = notDescribed(c);
      if (reason) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    expect(Object.fromEntries(reasons)).toEqual({
      'a path outside the API (Django’s own pages)': 2,
      'the APPEND_SLASH redirect': 3,
      'HEAD: no body': 2,
      'Django’s HTML error page (bad Host)': 1,
      'an error in CSV/XLSX (ours answers JSON: differences.md)': 3,
      'metadata in CSV (ours is always JSON)': 1,
    });
    expect(cases.length - [...reasons.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(90);
  });
});

describe('live answers for every status against the document', () => {
  let t: TestApp;
  const HOST = 'customers.example.com';
  let address = 0;
  let users = 0;
  beforeAll(async () => {
    t = await createTestApp({
      customers: exampleCustomers(demoCustomers),
      // A small budget so a 429 is reachable; each request below comes from its own address or user.
      config: { THROTTLE_RATE: { numRequests: 3, durationSeconds: 60 }, TRUST_PROXY: true, ALLOWED_HOSTS: [HOST] },
    });
  }, 60_000);
  afterAll(async () => t?.close());

  async function request(method: string, query = '', headers: Record<string, string> = {}) {
    const response = await t.app.inject({
      method: method as 'GET', url: `${PATH}${query}`, headers: { host: HOST, 'x-forwarded-for': `10.9.0.${++address}`, ...headers },
    });
    return { status: response.statusCode, type: String(response.headers['content-type']), body: response.body, headers: response.headers };
  }
  /** A fresh user's token, so no request spends another's throttle budget. */
  const token = async () => ({ authorization: `Token ${await createTokenStore(t.db).create(`user${++users}`)}` });

  async function expectDescribed(method: string, query: string, headers: Record<string, string>, status: number) {
    const response = await request(method, query, headers);
    expect(response.status).toBe(status);
    expect(validator.errors(method, PATH, status, response.type, JSON.parse(response.body))).toBeNull();
  }

  it.each([
    ['page 1', ''], ['a middle page, filtered and sorted', '?last_name=Test&sort=-modified_date&limit=3&page=2'],
    ['the last page', '?page=last'], ['an empty result', '?channel_id=999'], ['every row (limit=all)', '?limit=all'],
  ])('200 JSON: %s', async (_name, query) => {
    await expectDescribed('GET', query, await token(), 200);
  });

  it.each(['GET', 'HEAD'])('200 and 304 to %s: the ETag as documented, and a 304 with no body and every header the document lists', async (method) => {
    const headers = await token();
    const ok = await request(method, '?limit=3&page=2', headers);
    expect(ok.status).toBe(200);
    const etag = String(ok.headers.etag);
    expect(validator.headerErrors(method, PATH, 200, 'ETag', etag)).toBeNull();

    const notModified = await request(method, '?limit=3&page=2', { ...headers, 'if-none-match': etag });
    expect(notModified.status).toBe(304);
    const documented = validator.response(method, PATH, 304);
    expect(documented?.content).toBeUndefined();
    expect(notModified.body).toBe('');
    expect(notModified.headers.etag).toBe(etag);
    const names = Object.keys(documented?.headers ?? {});
    expect(names).toEqual(['ETag', 'Vary']);
    for (const name of names) {
      const value = notModified.headers[name.toLowerCase()];
      expect([name, value !== undefined && validator.headerErrors(method, PATH, 304, name, value)]).toEqual([name, null]);
    }
    // A value no tag of the service has is outside the documented format.
    expect(validator.headerErrors(method, PATH, 200, 'ETag', `"${etag}"`)).not.toBeNull();
  });

  it('200 OPTIONS: the metadata', async () => {
    await expectDescribed('OPTIONS', '', await token(), 200);
  });

  it('200 CSV and XLSX: a media type the document lists', async () => {
    for (const query of ['?format=csv', '?format=xls']) {
      const response = await request('GET', query, await token());
      expect(validator.response('GET', PATH, 200)?.content).toHaveProperty([response.type.split(';')[0]!]);
    }
  });

  it.each([
    ['bad filters', '?id__gt=abc&modified_date__lt=x&sort=foo'], ['a bad number', '?channel_id=1e51'],
  ])('400: %s', async (_name, query) => {
    await expectDescribed('GET', query, await token(), 400);
  });

  it('400: a Host not allowed', async () => {
    const response = await request('GET', '', { ...(await token()), host: 'elsewhere.example.org' });
    expect(response.status).toBe(400);
    expect(validator.errors('GET', PATH, 400, response.type, JSON.parse(response.body))).toBeNull();
  });

  it.each([
    ['no header', {}], ['Token alone', { authorization: 'Token' }], ['an unknown key', { authorization: 'Token 0123' }],
  ])('401: %s', async (_name, headers) => {
    await expectDescribed('GET', '', headers, 401);
  });

  it('401: an inactive user', async () => {
    await expectDescribed('GET', '', { authorization: `Token ${t.inactiveToken}` }, 401);
  });

  it.each([['page=0', '?page=0'], ['past the end', '?page=99'], ['format=xml', '?format=xml']])('404: %s', async (_name, query) => {
    await expectDescribed('GET', query, await token(), 404);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('405: %s', async (method) => {
    await expectDescribed(method, '', await token(), 405);
  });

  it('406: an Accept no renderer satisfies', async () => {
    await expectDescribed('GET', '', { ...(await token()), accept: 'text/html' }, 406);
  });

  it('429: a token over THROTTLE_RATE', async () => {
    const headers = await token();
    for (let i = 0; i < 3; i++) expect((await request('GET', '?limit=1', headers)).status).toBe(200);
    await expectDescribed('GET', '', headers, 429);
  });

  it('503: the database gone under the request', async () => {
    const headers = await token();
    const lost = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    vi.spyOn(t.db.pool, 'query').mockRejectedValueOnce(lost);
    try {
      await expectDescribed('GET', '', headers, 503);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
