/**
 * Replays every request of the original's transcript (test/fixtures/transcript-cases.json)
 * against the 109 customers it held (customers-109.json), and compares status, the headers
 * clients see, and the body: byte for byte where the transcript has it whole, by prefix and
 * exact length where it was cut. Where we answer differently on purpose (docs/differences.md), the
 * expectation is overridden below, with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { fixture, transcriptCases, type TranscriptCase } from '../helpers/fixtures.js';
import type { DemoCustomer } from '../../src/customers/demo-data.js';

type Case = TranscriptCase;

const cases = transcriptCases();
const customers = JSON.parse(fixture('customers-109.json')) as DemoCustomer[];

const NOT_FOUND_JSON = '{"detail":"Not found."}';
const COMPARED_HEADERS = ['Content-Type', 'WWW-Authenticate', 'Vary', 'Allow', 'X-Frame-Options', 'X-Content-Type-Options', 'Referrer-Policy', 'Location', 'Content-Disposition'];

type Check = (res: LightMyRequestResponse, c: Case) => void | Promise<void>;

const jsonError = (status: number, body: string): Check => (res) => {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.headers['content-disposition']).toBeUndefined();
  expect(res.body).toBe(body);
};

/** Cases where we answer differently on purpose (docs/differences.md), or that other test files cover. */
const OURS: Record<string, Check | 'exports'> = {
  // Django 3.2 rejected a date alone; we read it as midnight UTC, like the explicit form.
  'modified_date__gte=2023-06-19 (date only)': (res) => {
    expect(res.statusCode).toBe(200);
    expect((res.json() as { count: number }).count).toBe(38);
  },
  'Unknown path': jsonError(404, NOT_FOUND_JSON),
  'Double slash in path': jsonError(404, NOT_FOUND_JSON),
  // HEAD: GET's headers and no body (gunicorn sent the body too).
  'HEAD (with token), raw socket: bytes received after the header block': (res, c) => {
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(c.responseHeaders['Content-Length']);
    expect(res.body).toBe('');
  },
  'HEAD (without token), raw socket: bytes received after the header block': (res) => {
    expect([res.statusCode, res.headers['content-length'], res.body]).toEqual([401, '58', '']);
  },
  // Errors stay JSON whatever format was negotiated.
  'Accept: text/csv with an invalid filter (error rendered as CSV)': jsonError(400, '{"id__gt":["Enter a number."]}'),
  '?format=csv without token (401 rendered as CSV)': jsonError(401, '{"detail":"Authentication credentials were not provided."}'),
  '?format=xls with page=99 (404 rendered as XLSX)': jsonError(404, '{"detail":"Invalid page."}'),
  // OPTIONS answers its JSON metadata whatever the format: the same body as without ?format=
  // (whose bytes list-simple.example.test.ts compares with the original's).
  'OPTIONS with token and ?format=csv (metadata flattened to one CSV row)': async (res, c) => {
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const withoutFormat = await send({ ...c, path: c.path.slice(0, c.path.indexOf('?')) });
    expect(res.body).toBe(withoutFormat.body);
  },
  // X-Forwarded-* are honoured only with TRUST_PROXY (off here): links keep http.
  'X-Forwarded-Proto: https (gunicorn trusts it from 127.0.0.1)': (res) => {
    expect(res.statusCode).toBe(200);
    expect((res.json() as { next: string }).next).toBe('http://127.0.0.1:8765/api/v1/oms/customers/list-simple/?limit=50&page=2');
  },
  'X-Forwarded-Proto: http + X-Forwarded-Ssl: on': (res) => expect(res.statusCode).toBe(200),
  // CSV/XLSX bodies (formula guard, typed XLSX cells) are checked by the export tests.
  '?format=csv&id__gte=11&id__lte=14 (quoting: comma, quote, newline, formula)': 'exports',
  '?format=xls&limit=5&id__gte=11': 'exports',
  'Accept: application/xls': 'exports',
};

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ customers });
});
afterAll(async () => t?.close());

function send(c: Case) {
  const headers: Record<string, string> = { host: '127.0.0.1:8765' };
  for (const [name, value] of Object.entries(c.requestHeaders)) {
    headers[name.toLowerCase()] = value.replace('$INACTIVE_TOKEN', t.inactiveToken).replace('$TOKEN', t.token);
  }
  return t.app.inject({
    method: c.method as 'GET',
    url: c.path,
    headers,
    ...(c.requestBody !== undefined ? { payload: c.requestBody } : {}),
  });
}

describe('the original transcript, replayed', () => {
  const faithful = cases.filter((c) => !(c.title in OURS));

  it.each(faithful.map((c) => [`${c.section}: ${c.title}`, c] as const))('%s', async (_name, c) => {
    const res = await send(c);
    expect(res.statusCode).toBe(c.status);
    for (const name of COMPARED_HEADERS) {
      expect(res.headers[name.toLowerCase()], name).toBe(c.responseHeaders[name]);
    }
    if (c.bodyBinary) return;
    if (c.bodyComplete) {
      expect(res.body).toBe(c.body);
    } else {
      expect(res.body.startsWith(c.body ?? ''), 'body prefix').toBe(true);
      expect(res.rawPayload.length, 'body length').toBe(c.bodyLength);
    }
  });

  const ours = cases.filter((c) => typeof OURS[c.title] === 'function');
  it.each(ours.map((c) => [c.title, c] as const))('ours: %s', async (_name, c) => {
    const res = await send(c);
    await (OURS[c.title] as Check)(res, c);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('names only cases that exist in the transcript', () => {
    for (const title of Object.keys(OURS)) expect(cases.map((c) => c.title)).toContain(title);
  });
});
