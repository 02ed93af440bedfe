/**
 * Content negotiation and the file formats through the built app: the format × Accept table of
 * the original's observed behaviour, error bodies that stay JSON, the pagination headers of CSV/XLSX, and the bytes.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { fixture, originalBody } from '../helpers/fixtures.js';
import type { DemoCustomer } from '../../src/customers/demo-data.js';

const URL_PATH = '/api/v1/oms/customers/list-simple/';
const OPENXML = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

const spec = (JSON.parse(fixture('list-response-example.json')) as { results: DemoCustomer[] }).results;

// The original's customers 11–14 and 1010, behind the transcript's quoting cases.
const quoting: DemoCustomer[] = [
  { id: 11, created_date: '2022-02-01T05:39:45.123646Z', modified_date: '2022-02-01T05:39:45.123681Z', omnitron_id: 201, email: 'ayse.yilmaz.jr@example.com', first_name: 'Ayşe', last_name: 'Yılmaz, Jr.', phone_number: '05321112233', erp_code: 'ERP-COMMA,1', channel: 2 },
  { id: 12, created_date: '2021-05-26T19:20:20Z', modified_date: '2021-07-07T19:45:34.636944Z', omnitron_id: 203, email: 'ali.deli@example.com', first_name: 'Ali "Deli"', last_name: 'Kaya', phone_number: null, erp_code: 'ERP"QUOTE"', channel: 1 },
  { id: 13, created_date: '2022-02-18T17:31:22.756589Z', modified_date: '2022-02-28T15:43:47.701804Z', omnitron_id: 207, email: 'gul.ozturk@example.com', first_name: 'Gül', last_name: 'Öztürk\nKaya', phone_number: '05001234567', erp_code: null, channel: 3 },
  { id: 14, created_date: '2022-08-16T04:19:26.719830Z', modified_date: '2022-08-16T04:19:26.719845Z', omnitron_id: 208, email: 'formula@example.com', first_name: '=SUM(A1:A2)', last_name: '=HYPERLINK("http://example.com")', phone_number: '=05551234567', erp_code: null, channel: 1 },
  { id: 1010, created_date: '2022-12-08T08:30:19.736756Z', modified_date: '2022-12-08T08:30:44Z', omnitron_id: 253, email: 'crlf@example.com', first_name: 'CR', last_name: 'Carriage\r\nReturn', phone_number: null, erp_code: null, channel: null },
];
const customers = [...spec, ...quoting];

const SPEC_CSV =
  'id,created_date,modified_date,omnitron_id,email,first_name,last_name,phone_number,erp_code,channel\r\n' +
  '1,2023-10-06T08:42:53.427023Z,2023-10-06T08:42:53.427050Z,55,ali.test@akinon.com,Ali,Test,05555554433,,1\r\n' +
  '2,2023-09-05T13:36:59.653885Z,2023-09-05T13:36:59.653913Z,56,ipek.test@akinon.com,İpek,Test,05555432100,,1\r\n' +
  '3,2023-09-04T07:38:17.414588Z,2023-09-04T07:38:17.414615Z,57,ahmet.test@akinon.com,Ahmet,Test,05454545454,,1\r\n' +
  '4,2023-08-16T07:46:00.912768Z,2023-09-13T11:20:37.500200Z,60,tugce.test@akinon.com,Tuğçe,Test,,,1\r\n' +
  '5,2023-08-07T11:36:47.556620Z,2023-08-07T11:36:47.556641Z,61,veli.test@akinon.com,Veli,Test,05550005555,,1\r\n' +
  '6,2023-06-19T12:16:44.195162Z,2023-06-19T12:16:44.195190Z,66,zeynep.test@akinon.com,Zeynep,Test,,,1\r\n' +
  '7,2023-06-19T08:38:45.560031Z,2023-06-19T08:38:45.560051Z,70,mehmet.test@akinon.com,Mehmet,Test,05556665544,,1\r\n' +
  '8,2023-06-19T07:43:25.090872Z,2023-06-19T07:52:42.410357Z,81,fatma.test@gmail.com,Fatma,Test,05555551122,,1\r\n' +
  '9,2023-06-14T09:56:48.842924Z,2023-06-14T11:25:10.352066Z,101,emre.test@gmail.com,Emre,Test,,,1\r\n' +
  '10,2023-06-06T08:39:22.332325Z,2023-06-09T11:10:00.248909Z,105,yilmaz.test@akinon.net,Yılmaz,Test,05554440000,,1\r\n';

let t: TestApp;
let unguarded: TestApp;
beforeAll(async () => {
  [t, unguarded] = await Promise.all([
    createTestApp({ customers }),
    createTestApp({ customers, config: { CSV_FORMULA_GUARD: false } }),
  ]);
});
afterAll(async () => {
  await Promise.all([t?.close(), unguarded?.close()]);
});

function get(query: string, headers: Record<string, string> = {}, app = t, method: 'GET' | 'HEAD' = 'GET') {
  return app.app.inject({ method, url: `${URL_PATH}${query}`, headers: { authorization: `Token ${app.token}`, host: 'oms.example.com', ...headers } });
}

describe('GET /list-simple/ content negotiation: ?format × Accept', () => {
  it.each([
    ['', undefined, 200, 'application/json'],
    ['?format=json', undefined, 200, 'application/json'],
    ['', '*/*', 200, 'application/json'],
    ['', BROWSER, 200, 'application/json'],
    ['', '', 200, 'application/json'],
    ['?format=csv', undefined, 200, 'text/csv; charset=utf-8'],
    ['', 'text/csv', 200, 'text/csv; charset=utf-8'],
    ['?format=csv', 'text/*', 200, 'text/csv; charset=utf-8'],
    ['?format=xls', undefined, 200, 'application/xls'],
    ['', 'application/xls', 200, 'application/xls'],
    ['?format=xls', 'application/*', 200, 'application/xls'],
    ['', OPENXML, 200, OPENXML],
    ['?format=xls', `${OPENXML};q=0.5`, 200, OPENXML],
    // Ours: xlsx is an alias of xls (the original answered 404).
    ['?format=xlsx', undefined, 200, 'application/xls'],
    ['?format=xlsx', 'application/xls', 200, 'application/xls'],
    ['?format=xlsx', OPENXML, 200, OPENXML],
    ['?format=xlsx', 'application/json', 406, 'application/json'],
    ['', 'application/*', 200, 'application/json'],
    // DRF orders by specificity only: q-values pick nothing, the renderer list decides.
    ['', 'text/csv;q=1.0, application/json;q=0.1', 200, 'application/json'],
    ['', 'text/csv, application/xls', 200, 'text/csv; charset=utf-8'],
    ['', 'application/xls, text/csv', 200, 'text/csv; charset=utf-8'],
    ['?format=xml', undefined, 404, 'application/json'],
    ['?format=api', 'application/json', 404, 'application/json'],
    ['', 'application/xml', 406, 'application/json'],
    ['', 'text/html', 406, 'application/json'],
    ['?format=json', 'text/csv', 406, 'application/json'],
    ['?format=csv', 'application/json', 406, 'application/json'],
    ['?format=xls', 'text/csv', 406, 'application/json'],
  ])('%s with Accept %j → %i %s', async (query, accept, status, contentType) => {
    const res = await get(query, accept === undefined ? {} : { accept });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toBe(contentType);
    if (status === 404) expect(res.body).toBe('{"detail":"Not found."}');
    if (status === 406) expect(res.body).toBe('{"detail":"Could not satisfy the request Accept header."}');
  });

  it('names the download customers.csv / customers.xlsx, and JSON not at all', async () => {
    expect((await get('?format=csv')).headers['content-disposition']).toBe('attachment; filename="customers.csv"');
    expect((await get('?format=xlsx')).headers['content-disposition']).toBe('attachment; filename="customers.xlsx"');
    expect((await get('', { accept: OPENXML })).headers['content-disposition']).toBe('attachment; filename="customers.xlsx"');
    expect((await get('')).headers['content-disposition']).toBeUndefined();
  });

  it('pretty-prints for Accept: application/json; indent=2, even next to text/csv', async () => {
    const res = await get('?limit=1', { accept: 'text/csv, application/json; indent=2' });
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.body).toBe(JSON.stringify(JSON.parse(res.body), null, 2));
  });

  it('negotiates before authenticating: a bad format is 404 and a bad Accept 406 without a token', async () => {
    const noToken = (query: string, headers: Record<string, string> = {}) => t.app.inject({ url: `${URL_PATH}${query}`, headers });
    expect((await noToken('?format=xml')).statusCode).toBe(404);
    expect((await noToken('', { accept: 'text/html' })).statusCode).toBe(406);
    expect((await noToken('?format=csv')).statusCode).toBe(401);
  });
});

describe('GET /list-simple/ errors stay JSON whatever format was asked (ours)', () => {
  it.each([
    ['?format=csv', {}, 401, '{"detail":"Authentication credentials were not provided."}'],
    ['?format=xls', { accept: OPENXML }, 401, '{"detail":"Authentication credentials were not provided."}'],
    ['?format=csv&id__gt=abc', {}, 400, '{"id__gt":["Enter a number."]}'],
    ['?id__gt=abc', { accept: 'text/csv' }, 400, '{"id__gt":["Enter a number."]}'],
    ['?format=xls&modified_date__gte=notadate', {}, 400, '{"modified_date__gte":["Enter a valid date/time."]}'],
    ['?format=csv&page=99', {}, 404, '{"detail":"Invalid page."}'],
    ['?format=xls&page=0', {}, 404, '{"detail":"Invalid page."}'],
  ])('%s %j → %i JSON, no Content-Disposition', async (query, headers, status, body) => {
    const res = status === 401
      ? await t.app.inject({ url: `${URL_PATH}${query}`, headers })
      : await get(query, headers);
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['content-disposition']).toBeUndefined();
    expect(res.headers['x-total-count']).toBeUndefined();
    expect(res.body).toBe(body);
  });
});

describe('GET /list-simple/ pagination headers of the file formats (ours)', () => {
  it('carries count, next and previous in X-Total-Count and Link, the same URLs JSON shows', async () => {
    const json = (await get('?sort=-id&limit=3&page=2')).json() as { count: number; next: string; previous: string };
    for (const accept of ['text/csv', 'application/xls']) {
      const res = await get('?sort=-id&limit=3&page=2', { accept });
      expect(res.headers['x-total-count']).toBe(String(json.count));
      expect(res.headers.link).toBe(`<${json.next}>; rel="next", <${json.previous}>; rel="prev"`);
    }
    expect(json.next).toBe('http://oms.example.com/api/v1/oms/customers/list-simple/?limit=3&page=3&sort=-id');
  });

  it('has only the links that exist, and none on a single page', async () => {
    expect((await get('?format=csv&limit=5')).headers.link).toBe(
      '<http://oms.example.com/api/v1/oms/customers/list-simple/?format=csv&limit=5&page=2>; rel="next"',
    );
    expect((await get('?format=csv&limit=5&page=last')).headers.link).toBe(
      '<http://oms.example.com/api/v1/oms/customers/list-simple/?format=csv&limit=5&page=2>; rel="prev"',
    );
    const single = await get('?format=xls&limit=100');
    expect(single.headers['x-total-count']).toBe(String(customers.length));
    expect(single.headers.link).toBeUndefined();
  });

  it('leaves JSON without them, its body has the envelope', async () => {
    const res = await get('?limit=3');
    expect(res.headers['x-total-count']).toBeUndefined();
    expect(res.headers.link).toBeUndefined();
  });

  it('answers HEAD with the GET headers, Content-Length included, and no body', async () => {
    for (const query of ['?format=csv&limit=3', '?format=xls&limit=3']) {
      const [got, head] = [await get(query), await get(query, {}, t, 'HEAD')];
      expect(head.statusCode).toBe(200);
      expect(head.body).toBe('');
      for (const name of ['content-type', 'content-disposition', 'x-total-count', 'link', 'vary', 'allow']) {
        expect(head.headers[name], name).toBe(got.headers[name]);
      }
      // The workbook's zip carries a timestamp, so only CSV is byte-stable between two requests.
      if (query.includes('csv')) expect(head.headers['content-length']).toBe(got.headers['content-length']);
      else expect(Number(head.headers['content-length'])).toBeGreaterThan(1000);
    }
  });
});

describe('GET /list-simple/?format=csv bytes', () => {
  it("writes the spec's ten customers exactly", async () => {
    const res = await get('?format=csv');
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(SPEC_CSV);
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(SPEC_CSV)));
  });

  it("matches the original's transcript byte for byte with CSV_FORMULA_GUARD=false", async () => {
    const body = async (query: string) => (await get(query, {}, unguarded)).body;
    expect(await body('?format=csv&limit=2')).toBe(originalBody('?format=csv&limit=2'));
    expect(await body('?format=csv&id__gte=11&id__lte=14')).toBe(originalBody('?format=csv&id__gte=11&id__lte=14'));
    expect(await body('?format=csv&id__gte=1010&id__lte=1010')).toBe(originalBody('?format=csv, id 1010'));
    expect(await body('?format=csv&id__gt=99999')).toBe(originalBody('?format=csv with no rows'));
  });

  it('neutralises formulas by default', async () => {
    const res = await get('?format=csv&id__gte=14&id__lte=14');
    expect(res.body.split('\r\n')[1]).toBe(
      `14,2022-08-16T04:19:26.719830Z,2022-08-16T04:19:26.719845Z,208,formula@example.com,'=SUM(A1:A2),"'=HYPERLINK(""http://example.com"")",'=05551234567,,1`,
    );
  });
});

describe('GET /list-simple/?format=xls workbook', () => {
  it('holds the page: header row, then the rows in order with typed cells', async () => {
    const res = await get('?format=xls&id__gte=10&id__lte=14');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
    const sheet = workbook.getWorksheet('customers')!;
    expect(sheet.rowCount).toBe(6);
    expect(sheet.getRow(1).values).toEqual([undefined, 'id', 'created_date', 'modified_date', 'omnitron_id', 'email', 'first_name', 'last_name', 'phone_number', 'erp_code', 'channel']);
    expect(sheet.getColumn(1).values.slice(2)).toEqual([10, 11, 12, 13, 14]);
    expect(sheet.getCell('F6').value).toBe('=SUM(A1:A2)');
    expect(sheet.getCell('G4').value).toBe('Kaya');
    expect(sheet.getCell('B4').value).toEqual(new Date('2021-05-26T19:20:20.000Z'));
  });
});

describe('GET /list-simple/?format=xlsx (ours: an alias of xls)', () => {
  it('answers the same workbook bytes as ?format=xls, and OPTIONS still lists one XLSX type', async () => {
    const [alias, original] = await Promise.all([get('?format=xlsx&limit=3'), get('?format=xls&limit=3')]);
    expect(alias.statusCode).toBe(200);
    expect(alias.headers['x-total-count']).toBe(original.headers['x-total-count']);
    const rows = async (payload: Buffer) => {
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(payload as unknown as ArrayBuffer);
      return workbook.getWorksheet('customers')!.getSheetValues();
    };
    expect(await rows(alias.rawPayload)).toEqual(await rows(original.rawPayload));
    const options = await t.app.inject({ method: 'OPTIONS', url: `${URL_PATH}?format=xlsx`, headers: { authorization: `Token ${t.token}` } });
    expect(options.statusCode).toBe(200);
    expect(JSON.parse(options.body).renders).toEqual(['application/json', 'text/csv', 'application/xls']);
  });
});

// Expected bodies are DRF 3.14 JSONRenderer().render(data, accepted_media_type) output, run once.
describe('Accept: application/json; indent=N formats every JSON body of the view, errors too', () => {
  const indent = (n: number | string) => ({ accept: `application/json; indent=${n}` });
  const noToken = (query: string, headers: Record<string, string>, method: 'GET' | 'OPTIONS' | 'POST' = 'GET') =>
    t.app.inject({ method, url: `${URL_PATH}${query}`, headers });

  it.each([
    ['401 without a token', () => noToken('', indent(2)), 401,
      '{\n  "detail": "Authentication credentials were not provided."\n}'],
    ['400 from the filters', () => get('?modified_date__lt=x&id__gte=abc', indent(2)), 400,
      '{\n  "id__gte": [\n    "Enter a number."\n  ],\n  "modified_date__lt": [\n    "Enter a valid date/time."\n  ]\n}'],
    ['404 Invalid page.', () => get('?page=99', indent(3)), 404, '{\n   "detail": "Invalid page."\n}'],
    ['405, indent clamped to 8', () => t.app.inject({ method: 'POST', url: URL_PATH, headers: { authorization: `Token ${t.token}`, ...indent(99) } }), 405,
      '{\n        "detail": "Method \\"POST\\" not allowed."\n}'],
    ['404 with indent=0 (compact)', () => get('?page=99', indent(0)), 404, '{"detail":"Invalid page."}'],
  ])('%s', async (_name, send, status, body) => {
    const res = await send();
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.body).toBe(body);
  });

  it('pretty-prints OPTIONS with the accepted indent, and keeps it compact without one', async () => {
    const options = (headers: Record<string, string>) =>
      t.app.inject({ method: 'OPTIONS', url: URL_PATH, headers: { authorization: `Token ${t.token}`, ...headers } });
    // Its bytes are checked against the original in list-simple.example.test.ts.
    const compact = (await options({})).body;
    expect(compact).toBe(JSON.stringify(JSON.parse(compact)));
    expect((await options(indent(4))).body).toBe(JSON.stringify(JSON.parse(compact), null, 4));
    expect((await noToken('', indent(2), 'OPTIONS')).body).toBe('{\n  "detail": "Authentication credentials were not provided."\n}');
  });

  it.each([
    // Negotiation failed: DRF renders with renderers[0] and its bare media type (force=True).
    ['404 for an unknown ?format=', '?format=xml', indent(2), 404, '{"detail":"Not found."}'],
    ['406 when ?format= leaves no JSON', '?format=csv', indent(2), 406, '{"detail":"Could not satisfy the request Accept header."}'],
    // Ours: CSV was negotiated; the JSON standing in for its error is compact.
    ['401 when CSV was negotiated', '?format=csv', { accept: 'text/csv, application/json; indent=2' }, 401,
      '{"detail":"Authentication credentials were not provided."}'],
  ])('stays compact for the %s', async (_name, query, headers, status, body) => {
    const res = await noToken(query, headers);
    expect(res.statusCode).toBe(status);
    expect(res.body).toBe(body);
  });

  it('stays compact outside the view (an unknown path is not the view\'s)', async () => {
    const res = await t.app.inject({ url: '/api/v1/oms/customers/nope/', headers: indent(2) });
    expect(res.statusCode).toBe(404);
    expect(res.body).toBe('{"detail":"Not found."}');
  });
});
