/**
 * The XLSX renderer as it was before the worker thread (commit 4f5dea3), kept for
 * bench/xlsx-export.ts's before/after comparison only: exceljs's streaming WorkbookWriter on the
 * main thread. Not used by the service.
 *
 * XLSX renderer: the port of drf-renderer-xlsx's `XLSXRenderer` (served as `application/xls`,
 * file `customers.xlsx`), written with exceljs's streaming WorkbookWriter so that a full export
 * never holds the workbook in memory. One sheet named after the resource, a bold, frozen header
 * row with an autofilter, column widths from the data, and typed cells.
 *
 * Ours, where the original (openpyxl) differs: every string is a text cell, never a formula (it
 * turned `=…` into formulas); characters XML 1.0 cannot carry become U+FFFD instead of a 500;
 * datetimes are Excel date-times with a millisecond format (it wrote ISO strings), which cuts
 * microseconds to milliseconds because Excel has no finer format; a sheet that reaches Excel's
 * row limit continues on `customers (2)` and so on.
 */
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type ExcelJS from 'exceljs';
import type { CompiledField } from '../src/resource/declaration.js';
import type { Renderer, Row } from '../src/rest/renderers/renderer.js';
import { collect, oneBatch } from '../src/rest/renderers/tabular.js';
import { xlsxRenderer as serviceXlsxRenderer } from '../src/rest/renderers/xlsx.js';

/** Rows per sheet, header included (Excel's limit). */
export const SHEET_ROW_LIMIT = 1_048_576;

const DATETIME_FORMAT = 'yyyy-mm-dd hh:mm:ss.000';
const ZIP_BUFFER = 64 * 1024;
const MIN_WIDTH = 8;
const MAX_WIDTH = 50;

// XML 1.0 `Char` excludes C0 controls other than tab, LF and CR, lone surrogates, U+FFFE and U+FFFF.
// exceljs silently drops the C0 ones and DEL and writes the others, which Excel refuses to open.
const XML_ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDFFF]/gu;

/** The text with every character an .xlsx cannot hold replaced by U+FFFD. */
export function xmlSafe(text: string): string {
  return text.replace(XML_ILLEGAL, '\uFFFD');
}

const UTC_TEXT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/;

/** DRF's UTC text (`…T08:42:53.427023Z`) as a Date, microseconds truncated to milliseconds. */
export function excelDate(text: string): Date | string {
  const m = UTC_TEXT.exec(text);
  if (!m) return xmlSafe(text);
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const date = new Date(0);
  date.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  date.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), ms);
  return date;
}

type CellValue = number | string | Date | null;

function toCell(value: unknown, field: CompiledField): CellValue {
  if (value === null || value === undefined) return null;
  switch (field.valueType) {
    case 'integer': {
      const n = typeof value === 'number' ? value : Number(value);
      // Beyond 2^53 a number cell would change the value; keep its digits as text instead.
      return Number.isSafeInteger(n) ? n : String(value);
    }
    case 'datetime':
      return excelDate(String(value));
    case 'text':
      return xmlSafe(String(value));
  }
}

interface SizedColumn {
  field: CompiledField;
  /** In characters. */
  width: number;
}

/** Each field with its width: the longest of the header and the first batch's values, within bounds. */
function sizeColumns(fields: readonly CompiledField[], sample: readonly Row[]): SizedColumn[] {
  return fields.map((field) => {
    if (field.valueType === 'datetime') return { field, width: DATETIME_FORMAT.length + 2 };
    let longest = field.name.length;
    for (const row of sample) {
      const value = row[field.name];
      if (value !== null && value !== undefined) longest = Math.max(longest, String(value).length);
    }
    return { field, width: Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, longest + 2)) };
  });
}

type ZipInput = Writable & { _writableState?: { needDrain?: boolean } };

const settled = (stream: Writable, event: string): Promise<void> =>
  new Promise((resolve) => {
    const done = () => {
      stream.off(event, done);
      stream.off('close', done);
      resolve();
    };
    stream.on(event, done);
    stream.on('close', done);
  });

/**
 * Resolves once the sheet's rows have gone through the zip (or the client is gone): the
 * backpressure between batches. exceljs writes each row into the sheet's zip entry at once,
 * ignoring backpressure, so the deflater in front of the archive is watched instead: it stops
 * draining while the archive, and behind it the client, takes no more. Until the archive starts
 * on the entry (after the entries before it), the rows wait in exceljs's buffer.
 */
async function zipped(sheet: ExcelJS.Worksheet, out: PassThrough): Promise<void> {
  // Internals: exceljs's entry buffer (stream-buf.js) keeps the streams it writes into in `pipes`;
  // archiver wraps it in a readable-stream PassThrough, which predates `writableNeedDrain`.
  const entry = (sheet as unknown as { stream?: { pipes?: ZipInput[] } }).stream;
  while (!out.destroyed) {
    const input = entry?.pipes?.[0];
    if (!input) await new Promise((resolve) => setTimeout(resolve, 1));
    else if (input.writableNeedDrain ?? input._writableState?.needDrain) await settled(input, 'drain');
    else return;
  }
}

/** An .xlsx of every batch: the bytes flow out as rows are added, while the batches are read. */
function workbookStream(
  fields: readonly CompiledField[],
  batches: AsyncIterable<readonly Row[]>,
  title: string,
  sheetRowLimit: number,
): Readable {
  const out = new PassThrough();
  const lastColumn = columnLetter(fields.length);

  async function write(): Promise<void> {
    // Loaded on the first spreadsheet, not at start-up: exceljs alone costs ~0.6 s of boot time.
    const { default: excel } = await import('exceljs');
    const workbook = new excel.stream.xlsx.WorkbookWriter({
      stream: out,
      useStyles: true,
      useSharedStrings: false,
      // Level 1: the zip is a few percent larger and written several times faster than level 6.
      // archiver buffers up to 1 MB of output by default; 64 KB is enough to keep the socket busy.
      zip: { zlib: { level: 1 }, highWaterMark: ZIP_BUFFER } as Partial<ExcelJS.stream.xlsx.ArchiverZipOptions>,
    });
    // exceljs listens to its archive's errors only once committing; until then one would be an
    // unheard 'error' event, which ends the process. It ends this response instead.
    (workbook as unknown as { zip: NodeJS.EventEmitter }).zip.on('error', (error: Error) => out.destroy(error));
    let sheet: ExcelJS.Worksheet | null = null;
    let sheets = 0;
    let rowsInSheet = 0;

    const openSheet = (columns: readonly SizedColumn[]): ExcelJS.Worksheet => {
      sheets += 1;
      const opened = workbook.addWorksheet(sheets === 1 ? title : `${title} (${sheets})`, {
        views: [{ state: 'frozen', ySplit: 1, xSplit: 0 }],
      });
      opened.columns = columns.map(({ field, width }) => ({
        key: field.name,
        width,
        ...(field.valueType === 'datetime' ? { style: { numFmt: DATETIME_FORMAT } } : {}),
      }));
      const header = opened.addRow(fields.map((f) => f.name));
      header.font = { bold: true };
      header.commit();
      rowsInSheet = 1;
      return opened;
    };
    const closeSheet = (current: ExcelJS.Worksheet): void => {
      current.autoFilter = `A1:${lastColumn}${rowsInSheet}`;
      current.commit();
    };

    /**
     * exceljs gives every cell a freshly merged style object, and finds its style id by
     * serialising it unless it has seen that very object (a WeakMap): ~16% of an export's CPU.
     * Cells of one column and one value type get equal styles, so they share the first one's.
     */
    const sharedStyles = new Map<string, Partial<ExcelJS.Style>>();
    const shareStyles = (added: ExcelJS.Row): void => {
      added.eachCell({ includeEmpty: true }, (cell, column) => {
        const key = `${column}:${cell.type}`;
        const shared = sharedStyles.get(key);
        if (shared) cell.style = shared;
        else sharedStyles.set(key, cell.style);
      });
    };

    let columns: SizedColumn[] | null = null;
    for await (const batch of batches) {
      if (out.destroyed) return;
      columns ??= sizeColumns(fields, batch);
      sheet ??= openSheet(columns);
      for (const row of batch) {
        if (rowsInSheet === sheetRowLimit) {
          closeSheet(sheet);
          sheet = openSheet(columns);
        }
        const added = sheet.addRow(fields.map((field) => toCell(row[field.name], field)));
        shareStyles(added);
        added.commit();
        rowsInSheet += 1;
      }
      await zipped(sheet, out);
    }
    closeSheet(sheet ?? openSheet(sizeColumns(fields, [])));
    await workbook.commit();
  }

  write().catch((error: unknown) => out.destroy(error as Error));
  return out;
}

/** `A`…`Z`, `AA`… for a 1-based column number. */
function columnLetter(n: number): string {
  let letters = '';
  for (let rest = n; rest > 0; rest = Math.floor((rest - 1) / 26)) {
    letters = String.fromCharCode(65 + ((rest - 1) % 26)) + letters;
  }
  return letters;
}

/** The service's XLSX renderer (its media type, format names and download) encoding as it did with exceljs. */
export function createXlsxRenderer({ sheetRowLimit = SHEET_ROW_LIMIT }: { sheetRowLimit?: number } = {}): Renderer {
  return {
    ...serviceXlsxRenderer,
    render: (page, { fields, title }) => collect(workbookStream(fields, oneBatch(page.results), title, sheetRowLimit)),
    stream: (_envelope, source, { fields, title }) => workbookStream(fields, source.rows(), title, sheetRowLimit),
  };
}

export const xlsxRenderer: Renderer = createXlsxRenderer();
