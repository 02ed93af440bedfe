/**
 * CsvSheetRows transcodes the database's CSV bytes straight to sheet row XML: for any rows, cut
 * anywhere, its bytes are those of the values' way (CsvCells reading the CSV back into values,
 * then rowXml), the way pages and the embedded database's rows are written.
 */
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ValueType } from '../../src/resource/declaration.js';
import { quoteCsvField } from '../../src/rest/renderers/csv.js';
import { columnLetter, rowXml, utcFields, type RowLayout } from '../../src/rest/renderers/xlsx-cells.js';
import { CsvCells } from '../../src/rest/renderers/xlsx-csv.js';
import { CsvSheetRows } from '../../src/rest/renderers/xlsx-csv-rows.js';
import { WIDTH_SAMPLE_ROWS, WorkbookEncoder } from '../../src/rest/renderers/xlsx-workbook.js';
import { customerResource } from '../../src/customers/customer.resource.js';

const layoutOf = (kinds: ValueType[]): RowLayout => ({ kinds, letters: kinds.map((_, c) => columnLetter(c + 1)), datetimeStyle: 3 });
const CUSTOMERS = layoutOf(customerResource.fields.map((field) => field.valueType));

/** Every C0 control, DEL, the CSV's and XML's own characters, 2-, 3- and 4-byte UTF-8 (0xEF-led among them). */
const UNITS = [
  ...Array.from({ length: 32 }, (_, b) => String.fromCharCode(b)),
  '\u007f', '"', ',', '&', '<', '>', ' ', 'a', 'Z', '0', '-', 'é', 'İ', '\u0800', '\uf000', '\ufeff', '\ufffd', '\ufffe', '\uffff', '😀', '🎉',
];
const text = fc.string({ unit: fc.constantFrom(...UNITS), maxLength: 12 });

const integer = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
  fc.constantFrom('0', '-0', '007', '+5', ' 5', '5 ', '1e3', '0x10', '9007199254740991', '9007199254740993', '999999999999999', '-999999999999999', '1000000000000000', '-', ''),
  fc.string({ unit: fc.constantFrom('0', '1', '9', '-', '+', '.', 'e', ' ', '"', ','), maxLength: 6 }),
);

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const datetime = fc.oneof(
  fc.record({
    year: fc.integer({ min: 0, max: 9999 }), month: fc.integer({ min: 0, max: 13 }), day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }), minute: fc.integer({ min: 0, max: 61 }), second: fc.integer({ min: 0, max: 61 }),
    fraction: fc.string({ unit: fc.constantFrom('0', '1', '5', '9'), maxLength: 7 }),
  }).map(({ year, month, day, hour, minute, second, fraction }) =>
    `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction === '' ? '' : `.${fraction}`}Z`),
  fc.constantFrom('2019-01-01T00:00:25.901911Z', '2019-01-01T00:00:25Z', '0099-12-31T23:59:59.999Z', '2019-01-01 00:00:25+00', '2019-01-01T00:00:25.Z', '2019-0a-01T00:00:25Z'),
  fc.string({ unit: fc.constantFrom('2', '0', '-', 'T', ':', '.', 'Z', ' ', '"'), maxLength: 27 }),
);

const valueOf = (kind: ValueType) => fc.option(kind === 'integer' ? integer : kind === 'datetime' ? datetime : text, { nil: null, freq: 4 });

/** A CSV line as PostgreSQL's COPY writes it (quotes where needed), or quoting every field, which it may. */
function csvOf(rows: (string | null)[][], quoteAll: boolean, lineEnd: string, lastLineEnd: boolean): Buffer {
  const quote = (value: string) => (quoteAll ? `"${value.replaceAll('"', '""')}"` : quoteCsvField(value));
  const lines = rows.map((row) => row.map((value) => (value === null ? '' : quote(value))).join(','));
  return Buffer.from(lines.map((line, i) => (i < lines.length - 1 || lastLineEnd ? `${line}${lineEnd}` : line)).join(''));
}

/** The values' way: CsvCells, then rowXml, rows numbered from 2 (row 1 is the header). */
function valuesXml(layout: RowLayout, csv: Buffer): string {
  const reader = new CsvCells();
  const values = [...reader.push(csv), ...reader.end()];
  let xml = '';
  for (let start = 0, r = 2; start < values.length; start += layout.kinds.length, r++) xml += rowXml(layout, values, start, r);
  return xml;
}

/** The bytes' way, fed in chunks cut at `cuts`. */
function bytesXml(layout: RowLayout, csv: Buffer, cuts: readonly number[]): string {
  const transcoder = new CsvSheetRows(layout);
  const bounds = [0, ...[...new Set(cuts)].filter((c) => c > 0 && c < csv.length).sort((a, b) => a - b), csv.length];
  const parts: Buffer[] = [];
  let r = 2;
  const take = (final: boolean) => {
    const { xml, rows } = transcoder.write(r, Number.MAX_SAFE_INTEGER, final);
    parts.push(Buffer.from(xml));
    r += rows;
  };
  for (let i = 1; i < bounds.length; i++) {
    transcoder.push(csv.subarray(bounds[i - 1], bounds[i]));
    take(false);
  }
  take(true);
  return Buffer.concat(parts).toString('utf8');
}

const lineOptions = fc.record({ quoteAll: fc.boolean(), lineEnd: fc.constantFrom('\r\n', '\n'), lastLineEnd: fc.boolean() });

describe('CsvSheetRows', () => {
  it("writes the customers' rows as the values' way does, however the bytes are cut", () => {
    const row = fc.tuple(...CUSTOMERS.kinds.map(valueOf));
    fc.assert(
      fc.property(fc.array(row, { maxLength: 6 }), lineOptions, fc.array(fc.nat(1500), { maxLength: 12 }), (rows, { quoteAll, lineEnd, lastLineEnd }, cuts) => {
        const csv = csvOf(rows, quoteAll, lineEnd, lastLineEnd);
        expect(bytesXml(CUSTOMERS, csv, cuts)).toBe(valuesXml(CUSTOMERS, csv));
      }),
      { numRuns: 3000 },
    );
  });

  it('cuts every byte apart, one column or three, empty last rows included', () => {
    const kinds = fc.constantFrom<ValueType[]>(['text'], ['integer'], ['datetime'], ['text', 'integer', 'datetime']);
    fc.assert(
      fc.property(kinds.chain((k) => fc.tuple(fc.constant(k), fc.array(fc.tuple(...k.map(valueOf)), { maxLength: 4 }))), lineOptions, ([k, rows], options) => {
        const layout = layoutOf(k);
        const csv = csvOf(rows, options.quoteAll, options.lineEnd, options.lastLineEnd);
        expect(bytesXml(layout, csv, Array.from({ length: csv.length }, (_, i) => i))).toBe(valuesXml(layout, csv));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes at most the rows asked for, and the rest on the next call', () => {
    const transcoder = new CsvSheetRows(layoutOf(['integer', 'text']));
    transcoder.push(Buffer.from('1,a\r\n2,b\r\n3,c'));
    expect(transcoder.write(5, 2, false)).toMatchObject({ rows: 2 });
    const rest = transcoder.write(2, 2, false);
    expect(rest.rows).toBe(0);
    const last = transcoder.write(2, 2, true);
    expect(last.rows).toBe(1);
    expect(last.xml.toString()).toBe('<row r="2"><c r="A2"><v>3</v></c><c r="B2" t="inlineStr"><is><t>c</t></is></c></row>');
  });

  it("reads a datetime's fields as Date.UTC does, out-of-range ones carried over alike", () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 100, max: 9999 }), fc.integer({ min: -1, max: 14 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 999 })),
        ([year, month, day, hours, minutes, seconds, ms]) => {
          expect(utcFields(year, month, day, hours, minutes, seconds, ms)).toBe(Date.UTC(year, month - 1, day, hours, minutes, seconds, ms));
        },
      ),
      { numRuns: 20000 },
    );
  });
});

/** The workbook's sheets as exceljs reads them: name, autofilter, column widths, every cell's value. */
async function sheetsOf(zip: Buffer): Promise<unknown[]> {
  const workbook = new ExcelJS.Workbook();
  // exceljs declares its own Buffer type, which today's @types/node Buffer does not satisfy.
  await workbook.xlsx.load(zip as unknown as ArrayBuffer);
  return workbook.worksheets.map((sheet) => {
    const cells: unknown[] = [];
    sheet.eachRow({ includeEmpty: true }, (row, n) => row.eachCell({ includeEmpty: true }, (cell) => cells.push([n, cell.address, cell.type, cell.value])));
    return { name: sheet.name, filter: sheet.autoFilter, widths: sheet.columns.map((column) => column.width), cells };
  });
}

/** A workbook written from CSV chunks: by addCsv, or as the values' way (CsvCells, then add). */
async function workbookFromChunks(chunks: readonly Buffer[], bytes: boolean, sheetRowLimit: number): Promise<Buffer> {
  const columns = [{ name: 'id', valueType: 'integer' as const }, { name: 'name', valueType: 'text' as const }, { name: 'at', valueType: 'datetime' as const }];
  const out: Buffer[] = [];
  const encoder = new WorkbookEncoder(columns, 'things', sheetRowLimit, (chunk) => out.push(chunk));
  const reader = new CsvCells();
  for (const chunk of chunks) await (bytes ? encoder.addCsv(chunk) : encoder.add(reader.push(chunk)));
  if (!bytes) await encoder.add(reader.end());
  await encoder.finish();
  return Buffer.concat(out);
}

describe('WorkbookEncoder.addCsv', () => {
  it("writes the sheets add() writes from the same chunks' values: rows, new sheets at the limit, widths", async () => {
    const csv = Buffer.from(Array.from({ length: 11 }, (_, i) => `${i + 1},"name ""${'x'.repeat(i * 3)}""",2024-01-0${1 + (i % 9)}T10:00:00.5Z\r\n`).join(''));
    for (const size of [7, 64, csv.length]) {
      const chunks = Array.from({ length: Math.ceil(csv.length / size) }, (_, i) => csv.subarray(i * size, (i + 1) * size));
      const [byBytes, byValues] = await Promise.all([workbookFromChunks(chunks, true, 4), workbookFromChunks(chunks, false, 4)]);
      const sheets = await sheetsOf(byBytes);
      expect(sheets.map((sheet) => (sheet as { name: string }).name)).toEqual(['things', 'things (2)', 'things (3)', 'things (4)']);
      expect(sheets).toEqual(await sheetsOf(byValues));
    }
  });

  it('sizes the columns from the first WIDTH_SAMPLE_ROWS rows, however the bytes were cut (the network cuts COPY\'s)', async () => {
    const name = (i: number) => (i === 300 ? 'n'.repeat(30) : i === WIDTH_SAMPLE_ROWS + 10 ? 'n'.repeat(45) : `name ${i}`);
    const csv = Buffer.from(Array.from({ length: WIDTH_SAMPLE_ROWS + 50 }, (_, i) => `${i + 1},${name(i)},2024-01-01T10:00:00Z\r\n`).join(''));
    const widths = new Set<string>();
    for (const size of [7, 1_000, 20_000, csv.length]) {
      const chunks = Array.from({ length: Math.ceil(csv.length / size) }, (_, i) => csv.subarray(i * size, (i + 1) * size));
      for (const bytes of [true, false]) {
        const [sheet] = (await sheetsOf(await workbookFromChunks(chunks, bytes, 1_000_000))) as { widths: number[] }[];
        widths.add(JSON.stringify(sheet!.widths));
      }
    }
    // The 30 characters of row 301 count, the 45 after the sample do not.
    expect([...widths]).toEqual([JSON.stringify([8, 32, 25])]);
  });
});
