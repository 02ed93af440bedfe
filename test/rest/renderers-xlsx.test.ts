import { randomBytes } from 'node:crypto';
import ExcelJS from 'exceljs';
import { describe, expect, it, vi } from 'vitest';
import { renderers, responseContentType, type RenderContext, type Row } from '../../src/rest/renderers/index.js';
import { createXlsxRenderer, excelDate, xlsxRenderer, xmlSafe } from '../../src/rest/renderers/xlsx.js';
import { collect } from '../../src/rest/renderers/tabular.js';
import { customerResource } from '../../src/customers/customer.resource.js';
import { rowsOnly, thingsContext } from '../helpers/things.js';
import { settledValue, stalled, WAIT } from '../helpers/wait.js';

const ctx: RenderContext = { mediaType: 'application/xls', params: {}, fields: customerResource.fields, title: 'customers' };
const page = (results: readonly Row[]) => ({ count: results.length, next: null, previous: null, results });
const HEADER = ['id', 'created_date', 'modified_date', 'omnitron_id', 'email', 'first_name', 'last_name', 'phone_number', 'erp_code', 'channel'];

async function workbookOf(body: Buffer | string): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  // exceljs declares its own Buffer type, which today's @types/node Buffer does not satisfy.
  await workbook.xlsx.load(body as unknown as ArrayBuffer);
  return workbook;
}

/** Every cell of a sheet as [value, type], rows from 1, columns from 1. */
function cellsOf(sheet: ExcelJS.Worksheet): Array<Array<[unknown, ExcelJS.ValueType]>> {
  const rows: Array<Array<[unknown, ExcelJS.ValueType]>> = [];
  sheet.eachRow({ includeEmpty: true }, (row, n) => {
    rows[n - 1] = HEADER.map((_, i) => {
      const cell = row.getCell(i + 1);
      return [cell.value, cell.type];
    });
  });
  return rows;
}

const customers: Row[] = [
  { id: 1, created_date: '2023-10-06T08:42:53.427023Z', modified_date: '2023-10-06T08:42:53.427950Z', omnitron_id: 55, email: 'ali.test@akinon.com', first_name: 'İpek', last_name: 'Tuğçe Şahin ığüşöç', phone_number: '+905551112233', erp_code: null, channel: 1 },
  { id: 14, created_date: '2021-05-26T19:20:20Z', modified_date: '2022-08-16T04:19:26.719845Z', omnitron_id: -2147483648, email: 'formula@example.com', first_name: '=SUM(A1:A2)', last_name: '=HYPERLINK("http://example.com")', phone_number: '@cmd', erp_code: 'Emoji 🎉 😀', channel: null },
];

describe('XLSX renderer: a page read back with exceljs', () => {
  it('has one sheet "customers": bold frozen header, autofilter, typed cells in every column', async () => {
    const workbook = await workbookOf(await xlsxRenderer.render(page(customers), ctx));
    expect(workbook.worksheets.map((s) => s.name)).toEqual(['customers']);
    const sheet = workbook.getWorksheet('customers')!;
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(sheet.autoFilter).toBe('A1:J3');
    expect(sheet.getRow(1).getCell(1).font).toMatchObject({ bold: true });

    const S = ExcelJS.ValueType.String, N = ExcelJS.ValueType.Number, D = ExcelJS.ValueType.Date, E = ExcelJS.ValueType.Null;
    expect(cellsOf(sheet)).toEqual([
      HEADER.map((name) => [name, S]),
      [[1, N], [new Date('2023-10-06T08:42:53.427Z'), D], [new Date('2023-10-06T08:42:53.427Z'), D], [55, N],
        ['ali.test@akinon.com', S], ['İpek', S], ['Tuğçe Şahin ığüşöç', S], ['+905551112233', S], [null, E], [1, N]],
      [[14, N], [new Date('2021-05-26T19:20:20.000Z'), D], [new Date('2022-08-16T04:19:26.719Z'), D], [-2147483648, N],
        ['formula@example.com', S], ['=SUM(A1:A2)', S], ['=HYPERLINK("http://example.com")', S], ['@cmd', S],
        ['Emoji 🎉 😀', S], [null, E]],
    ]);
    expect(sheet.getCell('B2').numFmt).toBe('yyyy-mm-dd hh:mm:ss.000');
  });

  it('never writes a formula: a text starting with = is a text cell', async () => {
    const workbook = await workbookOf(await xlsxRenderer.render(page(customers), ctx));
    const cell = workbook.getWorksheet('customers')!.getCell('F3');
    expect(cell.type).toBe(ExcelJS.ValueType.String);
    expect(cell.formula).toBeUndefined();
  });

  it('sizes columns from the header and the data, within 8–50 characters', async () => {
    const long = { ...customers[0]!, email: `${'x'.repeat(80)}@example.com` };
    const sheet = (await workbookOf(await xlsxRenderer.render(page([long]), ctx))).getWorksheet('customers')!;
    expect(sheet.getColumn(2).width).toBe(25);
    expect(sheet.getColumn(5).width).toBe(50);
    expect(sheet.getColumn(6).width).toBe(12);
  });

  it('writes the header row alone for an empty page', async () => {
    const sheet = (await workbookOf(await xlsxRenderer.render(page([]), ctx))).getWorksheet('customers')!;
    expect(cellsOf(sheet).map((row) => row.map(([value]) => value))).toEqual([HEADER]);
    expect(sheet.autoFilter).toBe('A1:J1');
  });

  it('replaces characters XML cannot carry with U+FFFD instead of failing', async () => {
    const bad = { ...customers[0]!, first_name: 'Bell\u0007 NUL\u0000 esc\u001b', last_name: 'non\uFFFEchar\uFFFF', erp_code: 'tab\tand\nline\rcr' };
    const sheet = (await workbookOf(await xlsxRenderer.render(page([bad]), ctx))).getWorksheet('customers')!;
    expect(sheet.getCell('F2').value).toBe('Bell\uFFFD NUL\uFFFD esc\uFFFD');
    expect(sheet.getCell('G2').value).toBe('non\uFFFDchar\uFFFD');
    expect(sheet.getCell('I2').value).toBe('tab\tand\nline\rcr');
  });
});

describe('XLSX renderer: pages encoded in the worker', () => {
  it('gives each of many pages requested at once its own rows, and a page after a failed one still renders', async () => {
    const renderer = createXlsxRenderer();
    try {
      const pages = Array.from({ length: 6 }, (_, i) => [{ ...customers[0]!, id: 100 + i, email: `p${i}@example.com` }]);
      const bodies = await Promise.all(pages.map((rows) => renderer.render(page(rows), ctx)));
      for (const [i, body] of bodies.entries()) {
        const sheet = (await workbookOf(body)).getWorksheet('customers')!;
        expect([sheet.rowCount, sheet.getCell('A2').value, sheet.getCell('E2').value]).toEqual([2, 100 + i, `p${i}@example.com`]);
      }
      // A row that cannot reach the worker (a function is not cloneable) fails that page alone, not the ones behind it.
      const failing = renderer.render(page([{ ...customers[0]!, id: (() => 7) as unknown as number }]), ctx);
      const after = renderer.render(page(customers), ctx);
      await expect(failing).rejects.toThrow();
      expect((await workbookOf(await after)).getWorksheet('customers')!.rowCount).toBe(3);
    } finally {
      await renderer.close?.();
    }
  });
});

describe('XLSX renderer helpers', () => {
  it('xmlSafe keeps tab, LF, CR and every other character, surrogate pairs included', () => {
    expect(xmlSafe('a\tb\nc\rd 😀 İ')).toBe('a\tb\nc\rd 😀 İ');
    expect(xmlSafe('\u0001\u0008\u000b\u000c\u000e\u001f\u007f\ud800x\udfff')).toBe(`${'\uFFFD'.repeat(8)}x\uFFFD`);
  });

  it('excelDate truncates microseconds to milliseconds, in UTC', () => {
    expect(excelDate('2023-10-06T08:42:53.427923Z')).toEqual(new Date('2023-10-06T08:42:53.427Z'));
    expect(excelDate('2021-05-26T19:20:20Z')).toEqual(new Date('2021-05-26T19:20:20.000Z'));
    expect(excelDate('0099-01-01T00:00:00Z')).toEqual(new Date('0099-01-01T00:00:00.000Z'));
  });
});

describe('XLSX renderer: streaming (limit=all)', () => {
  const thingsCtx = thingsContext('application/xls');
  const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, name: `n${from + i}`, at: null }));
  // Incompressible text, so that the archive's buffers (about 1 MB) hold few rows.
  const noisyRows = (from: number, n: number) => rows(from, n).map((row) => ({ ...row, name: randomBytes(24).toString('base64') }));

  it('continues on "<title> (2)" when a sheet reaches the row limit, each sheet with its header', async () => {
    async function* batches() {
      yield rows(1, 3);
      yield rows(4, 2);
    }
    const renderer = createXlsxRenderer({ sheetRowLimit: 3 });
    const workbook = await workbookOf(await collect(await renderer.stream({ count: 5, next: null, previous: null }, rowsOnly(batches()), thingsCtx)));
    expect(workbook.worksheets.map((s) => [s.name, s.rowCount, s.autoFilter])).toEqual([
      ['things', 3, 'A1:C3'], ['things (2)', 3, 'A1:C3'], ['things (3)', 2, 'A1:C2'],
    ]);
    const ids = workbook.worksheets.flatMap((s) => s.getColumn(1).values.slice(2));
    expect(ids).toEqual([1, 2, 3, 4, 5]);
  });

  // Twice: the second export runs on the worker the first one left, idle and quick, which answers
  // every batch before the file is read; a read() then has to start the pump again by itself.
  it.each(['a new worker', 'a kept worker'])('stops reading batches while nobody reads the file, and goes on when it is read (%s)', async () => {
    let pulled = 0;
    async function* many() {
      for (let b = 0; b < 30; b++) {
        pulled += 1;
        yield noisyRows(b * 1000, 1000);
      }
    }
    const stream = await xlsxRenderer.stream({ count: 0, next: null, previous: null }, rowsOnly(many()), thingsCtx);
    // A few batches fill the buffers; without backpressure all 30 are read at once.
    const pausedAt = await settledValue(() => pulled, { intervalMs: 50 });
    expect(pausedAt).toBeLessThanOrEqual(20);
    const body = await Promise.race([collect(stream), stalled(20_000)]);
    expect(pausedAt).toBeLessThan(pulled);
    const workbook = await workbookOf(body);
    expect(workbook.getWorksheet('things')!.rowCount).toBe(30 * 1000 + 1);
  }, 60_000);

  it('stops reading batches when destroyed', async () => {
    let finished = false;
    async function* endless() {
      try {
        for (let b = 0; ; b++) yield rows(b * 100, 100);
      } finally {
        finished = true;
      }
    }
    const stream = await xlsxRenderer.stream({ count: 0, next: null, previous: null }, rowsOnly(endless()), thingsCtx);
    await stream[Symbol.asyncIterator]().next();
    stream.destroy();
    await vi.waitFor(() => expect(finished).toBe(true), WAIT);
  });
});

describe('XLSX renderer declaration', () => {
  it('serves application/xls for format=xls, also selected by the .xlsx media type, as customers.xlsx', () => {
    expect(renderers[2]).toBe(xlsxRenderer);
    expect(xlsxRenderer).toMatchObject({ mediaType: 'application/xls', format: 'xls', charset: null, download: { extension: 'xlsx' } });
    const openxml = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    expect(xlsxRenderer.alsoAccepts).toEqual([openxml]);
    expect(responseContentType(xlsxRenderer, 'application/xls')).toBe('application/xls');
    expect(responseContentType(xlsxRenderer, `${openxml}; q=0.9`)).toBe(openxml);
  });
});
