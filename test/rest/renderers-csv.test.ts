import { describe, expect, it } from 'vitest';
import { contentTypeOf, createRenderers, renderers, type RenderContext, type Row } from '../../src/rest/renderers/index.js';
import { createCsvRenderer, quoteCsvField } from '../../src/rest/renderers/csv.js';
import { collect } from '../../src/rest/renderers/tabular.js';
import { customerResource } from '../../src/customers/customer.resource.js';
import { fixture, originalBody } from '../helpers/fixtures.js';
import { rowsOnly, thingsContext } from '../helpers/things.js';

const thingsCtx = thingsContext('text/csv');
const customersCtx: RenderContext = { mediaType: 'text/csv', params: {}, fields: customerResource.fields, title: 'customers' };

const csv = createCsvRenderer({ formulaGuard: true });
const unguarded = createCsvRenderer({ formulaGuard: false });
const page = (results: readonly Row[]) => ({ count: results.length, next: null, previous: null, results });
const render = async (renderer = csv, rows: readonly Row[] = [], ctx = thingsCtx) =>
  ((await renderer.render(page(rows), ctx)) as Buffer).toString('utf8');

async function* batchesOf(...batches: Row[][]) {
  for (const batch of batches) yield batch;
}


// The original's rows behind those transcript bodies (its customers 1, 2, 11–14 and 1010).
const spec = (JSON.parse(fixture('list-response-example.json')) as { results: Row[] }).results;
const quoting: Row[] = [
  { id: 11, created_date: '2022-02-01T05:39:45.123646Z', modified_date: '2022-02-01T05:39:45.123681Z', omnitron_id: 201, email: 'ayse.yilmaz.jr@example.com', first_name: 'Ayşe', last_name: 'Yılmaz, Jr.', phone_number: '05321112233', erp_code: 'ERP-COMMA,1', channel: 2 },
  { id: 12, created_date: '2021-05-26T19:20:20Z', modified_date: '2021-07-07T19:45:34.636944Z', omnitron_id: 203, email: 'ali.deli@example.com', first_name: 'Ali "Deli"', last_name: 'Kaya', phone_number: null, erp_code: 'ERP"QUOTE"', channel: 1 },
  { id: 13, created_date: '2022-02-18T17:31:22.756589Z', modified_date: '2022-02-28T15:43:47.701804Z', omnitron_id: 207, email: 'gul.ozturk@example.com', first_name: 'Gül', last_name: 'Öztürk\nKaya', phone_number: '05001234567', erp_code: null, channel: 3 },
  { id: 14, created_date: '2022-08-16T04:19:26.719830Z', modified_date: '2022-08-16T04:19:26.719845Z', omnitron_id: 208, email: 'formula@example.com', first_name: '=SUM(A1:A2)', last_name: '=HYPERLINK("http://example.com")', phone_number: '=05551234567', erp_code: null, channel: 1 },
];
const crlf: Row = { id: 1010, created_date: '2022-12-08T08:30:19.736756Z', modified_date: '2022-12-08T08:30:44Z', omnitron_id: 253, email: 'crlf@example.com', first_name: 'CR', last_name: 'Carriage\r\nReturn', phone_number: null, erp_code: null, channel: null };

describe('CSV renderer: the original bytes (CSV_FORMULA_GUARD=false)', () => {
  it('writes the header line alone for an empty page', async () => {
    expect(await render(unguarded, [], customersCtx)).toBe(originalBody('?format=csv with no rows'));
  });

  it('writes the spec customers 1 and 2 byte for byte', async () => {
    expect(await render(unguarded, spec.slice(0, 2), customersCtx)).toBe(originalBody('?format=csv&limit=2'));
  });

  it('quotes commas, quotes and newlines as Python csv does, formulas as they are', async () => {
    expect(await render(unguarded, quoting, customersCtx)).toBe(originalBody('?format=csv&id__gte=11&id__lte=14'));
  });

  it('keeps CR LF inside a quoted value', async () => {
    expect(await render(unguarded, [crlf], customersCtx)).toBe(originalBody('?format=csv, id 1010'));
  });
});

describe('CSV renderer: formula guard (ours, on by default)', () => {
  it('prefixes the cells a spreadsheet would run, and only those', async () => {
    const expected = originalBody('?format=csv&id__gte=11&id__lte=14')
      .replace(',=SUM(A1:A2),"=HYPERLINK', ",'=SUM(A1:A2),\"'=HYPERLINK")
      .replace(',=05551234567,', ",'=05551234567,");
    expect(await render(csv, quoting, customersCtx)).toBe(expected);
  });

  it('leaves numbers with a sign alone and never touches integer or datetime columns', async () => {
    const row = { id: -5, name: '+905551112233', at: '2021-05-26T19:20:20Z' };
    expect(await render(csv, [row, { id: 1, name: '-2+3', at: null }])).toBe('id,name,at\r\n-5,+905551112233,2021-05-26T19:20:20Z\r\n1,\'-2+3,\r\n');
  });

  it('is on in the default renderer list and off on request', async () => {
    const rows = [{ id: 1, name: '@cmd', at: null }];
    expect(await render(renderers[1], rows)).toBe("id,name,at\r\n1,'@cmd,\r\n");
    expect(await render(createRenderers({ csvFormulaGuard: false })[1], rows)).toBe('id,name,at\r\n1,@cmd,\r\n');
  });
});

describe('CSV renderer: RFC 4180 as Python writes it', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\ronly', '"cr\ronly"'],
    // fast-csv alone would quote these; Python's QUOTE_MINIMAL does not.
    ['x|y', 'x|y'],
    [' padded ', ' padded '],
    ["it's", "it's"],
    ['tab\tinside', 'tab\tinside'],
    ['İpek 😀', 'İpek 😀'],
  ])('writes %j as %j', (value, cell) => {
    expect(quoteCsvField(value)).toBe(cell);
  });

  it('writes NULL and the empty string as an empty cell, rows ending in CR LF, no BOM', async () => {
    const body = await render(csv, [{ id: 1, name: null, at: null }, { id: 2, name: '', at: '2023-10-06T08:42:53.427023Z' }]);
    expect(body).toBe('id,name,at\r\n1,,\r\n2,,2023-10-06T08:42:53.427023Z\r\n');
    expect(body.charCodeAt(0)).not.toBe(0xfeff);
  });
});

describe('CSV renderer: streaming (limit=all)', () => {
  const rows = Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: i % 2 ? `n,${i}` : null, at: '2020-01-01T00:00:00Z' }));

  it('writes the same bytes as a page of the same rows, whatever the batches', async () => {
    const whole = await render(csv, rows);
    const streamed = await collect(await csv.stream({ count: 7, next: null, previous: null }, rowsOnly(batchesOf([], rows.slice(0, 3), [], rows.slice(3))), thingsCtx));
    expect(streamed.toString('utf8')).toBe(whole);
    const empty = await collect(await csv.stream({ count: 0, next: null, previous: null }, rowsOnly(batchesOf()), thingsCtx));
    expect(empty.toString('utf8')).toBe('id,name,at\r\n');
  });
});

describe('CSV renderer declaration', () => {
  it('is text/csv; charset=utf-8 for format=csv, second in the list, a customers.csv download', () => {
    expect(renderers.map((r) => r.format)).toEqual(['json', 'csv', 'xls']);
    expect(renderers.map((r) => r.mediaType)).toEqual(['application/json', 'text/csv', 'application/xls']);
    expect(contentTypeOf(csv)).toBe('text/csv; charset=utf-8');
    expect(csv.download).toEqual({ extension: 'csv' });
  });
});
