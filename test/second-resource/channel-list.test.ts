/**
 * The second user of the shared list machinery: a channel list made of two small files
 * (channel.resource.ts, channel.routes.ts) gets the whole DRF request cycle, filters, pagination,
 * the three formats, exports and OPTIONS, with no change to shared code.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../src/app.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import channelRoutes from './channel.routes.js';

const B = '/api/v1/oms/channels/list/';
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ routes: [...API_ROUTES, { prefix: '/api/v1/oms/channels', plugin: channelRoutes }], config: { PAGE_SIZE: 2 } });
  await t.db.pool.query(
    `INSERT INTO channel (id, name, omnitron_id, channel_type) VALUES
       (1, 'Web', 10, 'web'), (2, 'Mobile, App', NULL, NULL), (3, 'Marketplace', 30, 'marketplace'), (4, 'Call Center', 40, NULL)`,
  );
});
afterAll(async () => t?.close());

const get = (query = '', headers: Record<string, string> = {}, method: 'GET' | 'OPTIONS' = 'GET') =>
  t.app.inject({ method, url: `${B}${query}`, headers: { authorization: `Token ${t.token}`, ...headers } });

describe('a second list resource over the channel table', () => {
  it('answers pages in the declaration field order, with DRF links', async () => {
    const res = await get();
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(
      '{"count":4,"next":"http://localhost:80/api/v1/oms/channels/list/?page=2","previous":null,"results":[' +
        '{"id":1,"name":"Web","omnitron_id":10,"channel_type":"web"},{"id":2,"name":"Mobile, App","omnitron_id":null,"channel_type":null}]}',
    );
  });

  it('filters and sorts by its own declaration, and rejects with django-filter messages', async () => {
    const sorted = JSON.parse((await get('?sort=-name&id__gt=1&limit=10')).body) as { results: { name: string }[] };
    expect(sorted.results.map((r) => r.name)).toEqual(['Mobile, App', 'Marketplace', 'Call Center']);
    expect(JSON.parse((await get('?name=Web')).body).count).toBe(1);
    const bad = await get('?id__gt=x&sort=omnitron_id');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toBe(
      '{"sort":["Select a valid choice. omnitron_id is not one of the available choices."],"id__gt":["Enter a number."]}',
    );
  });

  it('needs a token like every view', async () => {
    const res = await t.app.inject({ method: 'GET', url: B });
    expect(res.statusCode).toBe(401);
  });

  it('exports every row as CSV and XLSX, named after the resource', async () => {
    const csv = await get('?limit=all&format=csv&sort=id');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-disposition']).toBe('attachment; filename="channels.csv"');
    expect(csv.headers['x-total-count']).toBe('4');
    expect(csv.body).toBe(
      'id,name,omnitron_id,channel_type\r\n1,Web,10,web\r\n2,"Mobile, App",,\r\n3,Marketplace,30,marketplace\r\n4,Call Center,40,\r\n',
    );
    const xlsx = await get('?limit=all&format=xls');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    const sheet = workbook.getWorksheet('channels');
    expect(sheet?.getRow(1).values).toEqual([undefined, 'id', 'name', 'omnitron_id', 'channel_type']);
    expect(sheet?.rowCount).toBe(5);
  });

  it('describes itself in OPTIONS from its declaration', async () => {
    const body = JSON.parse((await get('', {}, 'OPTIONS')).body) as {
      name: string; actions: { GET: Record<string, unknown> }; filters: { field_name: string; lookup_expr: string[] }[];
    };
    expect(body.name).toBe('channel-list');
    expect(Object.keys(body.actions.GET)).toEqual(['id', 'name', 'omnitron_id', 'channel_type']);
    expect(body.filters.map((f) => [f.field_name, f.lookup_expr])).toEqual([['sort', ['exact']], ['id', ['gt', 'lt']], ['name', ['exact']]]);
  });

  it('leaves the customers API as it was', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/oms/customers/list-simple/', headers: { authorization: `Token ${t.token}` } });
    expect(JSON.parse(res.body)).toEqual({ count: 0, next: null, previous: null, results: [] });
  });
});
