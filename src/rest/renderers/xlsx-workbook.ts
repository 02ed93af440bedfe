/**
 * The .xlsx file: exceljs's streaming WorkbookWriter writes the package (zip, content types,
 * relationships, workbook, styles, theme, properties) and each sheet's head and tail (frozen
 * header pane, column widths and styles, the bold header row, autofilter); the data rows' XML is
 * written here, straight into the sheet's zip entry, with inline strings, so that nothing is held
 * back until the end. exceljs's own rows (a Row and a Cell object per value, serialised through its
 * XML stream) were about three times slower. Used in the export's worker thread (xlsx-worker.ts)
 * and, for a page, in the calling thread; it knows nothing of threads.
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type ExcelJS from 'exceljs';
import type { ValueType } from '../../resource/declaration.js';

/** Rows per sheet, header included (Excel's limit). */
export const SHEET_ROW_LIMIT = 1_048_576;

export const DATETIME_FORMAT = 'yyyy-mm-dd hh:mm:ss.000';
const MIN_WIDTH = 8;
const MAX_WIDTH = 50;

/** What the workbook needs of a field; plain data, so that it crosses to a worker thread. */
export interface SheetColumn {
  name: string;
  valueType: ValueType;
}

// XML 1.0 `Char` excludes C0 controls other than tab, LF and CR, lone surrogates, U+FFFE and U+FFFF
// (Excel refuses a file holding one); DEL is replaced too, as exceljs dropped it.
const XML_ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDFFF]/gu;

/** The text with every character an .xlsx cannot hold replaced by U+FFFD. */
export function xmlSafe(text: string): string {
  return text.replace(XML_ILLEGAL, '\uFFFD');
}

// One pass for escaping and replacement. CR is written as a reference: a raw one reads back as LF.
const ESCAPE = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDFFF]/gu;
// The same test without the `u` flag (several times faster), true for surrogate pairs too.
const MAY_ESCAPE = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uD800-\uDFFF\uFFFE\uFFFF]/;
const ESCAPED: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };

/** Text content for XML, with xmlSafe's replacements. */
function xmlText(text: string): string {
  return MAY_ESCAPE.test(text) ? text.replace(ESCAPE, (c) => ESCAPED[c] ?? (c.length === 2 ? c : '\uFFFD')) : text;
}

const UTC_TEXT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/;

/** DRF's UTC text (`…T08:42:53.427023Z`) as a Date, microseconds truncated to milliseconds. */
export function excelDate(text: string): Date | string {
  const ms = utcMillis(text);
  return ms === null ? xmlSafe(text) : new Date(ms);
}

function utcMillis(text: string): number | null {
  const fast = utcMillisFast(text);
  if (fast !== null) return fast;
  const m = UTC_TEXT.exec(text);
  if (!m) return null;
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  // Date.UTC would read years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return date.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), ms);
}

/** A digit's value, or NaN for any other character. */
const digit = (text: string, i: number): number => {
  const d = text.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : NaN;
};
const two = (text: string, i: number): number => digit(text, i) * 10 + digit(text, i + 1);

/**
 * UTC_TEXT read without a regex or a Date, for years from 100 (Date.UTC's range): an export
 * converts two per row. Null where it does not apply; utcMillis then takes the slow way.
 */
function utcMillisFast(text: string): number | null {
  const n = text.length;
  if (n < 20 || n > 27 || n === 21 || text.charCodeAt(n - 1) !== 90 /* Z */) return null;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return null;
  let ms = 0;
  if (n > 20) {
    if (text.charCodeAt(19) !== 46 /* . */) return null;
    for (let i = 20, scale = 100; i < n - 1; i++, scale /= 10) ms += digit(text, i) * (scale >= 1 ? scale : 0);
  }
  const year = two(text, 0) * 100 + two(text, 2);
  const value = Date.UTC(year, two(text, 5) - 1, two(text, 8), two(text, 11), two(text, 14), two(text, 17), ms);
  return year >= 100 && !Number.isNaN(value) ? value : null;
}

/** Days since 1899-12-30, as exceljs counted them (no 1900 leap-year correction). */
const excelSerial = (ms: number): number => 25569 + ms / 86_400_000;

/** `A`…`Z`, `AA`… for a 1-based column number. */
export function columnLetter(n: number): string {
  let letters = '';
  for (let rest = n; rest > 0; rest = Math.floor((rest - 1) / 26)) {
    letters = String.fromCharCode(65 + ((rest - 1) % 26)) + letters;
  }
  return letters;
}

/**
 * Each column's width in characters: the longest of the header and the first batch's values,
 * within 8–50; datetimes fit their format.
 */
export function columnWidths(columns: readonly SheetColumn[], firstBatch: readonly unknown[]): number[] {
  return columns.map((column, c) => {
    if (column.valueType === 'datetime') return DATETIME_FORMAT.length + 2;
    let longest = column.name.length;
    for (let i = c; i < firstBatch.length; i += columns.length) {
      const value = firstBatch[i];
      if (value !== null && value !== undefined) longest = Math.max(longest, String(value).length);
    }
    return Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, longest + 2));
  });
}

/** A text cell; `open` is the cell's start tag up to its attributes' end (`<c r="A1"`). */
const inlineString = (open: string, text: string): string => {
  // Without xml:space, readers may drop leading and trailing whitespace.
  const space = text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32 ? ' xml:space="preserve"' : '';
  return `${open} t="inlineStr"><is><t${space}>${xmlText(text)}</t></is></c>`;
};

const sheetName = (title: string, n: number): string => (n === 1 ? title : `${title} (${n})`);

// Internals of exceljs's streaming writer used here, which its type declarations leave out.
/** The archiver instance behind the workbook. */
interface ZipArchive extends NodeJS.EventEmitter {
  abort(): unknown;
}
interface WriterInternals {
  zip: ZipArchive;
  styles: { addStyleModel(style: Partial<ExcelJS.Style>, cellType: ExcelJS.ValueType): number };
}
/**
 * The stream the archive reads an entry from: archiver wraps exceljs's entry buffer in a
 * readable-stream PassThrough (which predates `writableLength`).
 */
interface ZipInput extends NodeJS.EventEmitter {
  destroyed?: boolean;
  writableLength?: number;
  _writableState?: { length: number };
  readableFlowing?: boolean | null;
  _readableState?: { flowing: boolean | null };
}
/** Bytes written to the input and not yet read by the archive. */
const queued = (input: ZipInput): number => input.writableLength ?? input._writableState?.length ?? 0;
/** A sheet's zip entry as exceljs writes it (stream-buf.js): it takes strings, and never says "wait". */
interface SheetEntry {
  write(xml: string): unknown;
  pipes?: ZipInput[];
}

/** What is used of exceljs: its streaming writer and its cell types. */
interface ExcelWriter {
  WorkbookWriter: typeof ExcelJS.stream.xlsx.WorkbookWriter;
  ValueType: typeof ExcelJS.ValueType;
}
let excel: ExcelWriter | null = null;
/**
 * The streaming writer's modules alone, loaded on the first workbook: the whole library (reader,
 * CSV, document model) takes ~0.8 s to load, which each export's worker thread would pay again;
 * the writer ~0.25 s.
 */
function loadExcel(): ExcelWriter {
  if (excel === null) {
    const require = createRequire(import.meta.url);
    excel = {
      WorkbookWriter: require('exceljs/lib/stream/xlsx/workbook-writer') as ExcelWriter['WorkbookWriter'],
      ValueType: (require('exceljs/lib/doc/enums') as { ValueType: ExcelWriter['ValueType'] }).ValueType,
    };
  }
  return excel;
}

/** archiver's output buffer: enough to keep the socket (or the worker's port) busy. */
const ZIP_BUFFER = 64 * 1024;
/** Worksheet XML left queued for the archive when add() resolves: about a batch. */
const ENTRY_BUFFER = 1024 * 1024;

/**
 * One workbook, written as rows are added: the first batch sizes the columns, a sheet that
 * reaches `sheetRowLimit` rows continues on `<title> (2)`. Bytes go to `onData` as the zip is
 * written; add() resolves once the zip can take more.
 */
export class WorkbookEncoder {
  private readonly workbook: ExcelJS.stream.xlsx.WorkbookWriter;
  private readonly zip: ZipArchive;
  private readonly lastColumn: string;
  private readonly kinds: ValueType[];
  /** Each column's cell start tag up to its row number: `<c r="B`. */
  private readonly cellOpen: string[];
  /** The datetime cells' style id, from exceljs's styles. */
  private readonly datetimeStyle: number;
  private sheet: ExcelJS.Worksheet | null = null;
  private entry: SheetEntry | null = null;
  private widths: number[] | null = null;
  private sheets = 0;
  private rowsInSheet = 0;
  /** The archive's first error, rethrown by add() and finish(). */
  private failure: Error | null = null;

  constructor(
    private readonly columns: readonly SheetColumn[],
    private readonly title: string,
    private readonly sheetRowLimit: number,
    onData: (chunk: Buffer) => void,
  ) {
    const exceljs = loadExcel();
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        onData(chunk);
        done();
      },
    });
    this.workbook = new exceljs.WorkbookWriter({
      stream: out,
      useStyles: true,
      useSharedStrings: false,
      // Level 1: the zip is a few percent larger and written several times faster than level 6.
      zip: { zlib: { level: 1 }, highWaterMark: ZIP_BUFFER } as Partial<ExcelJS.stream.xlsx.ArchiverZipOptions>,
    });
    const internals = this.workbook as unknown as WriterInternals;
    this.zip = internals.zip;
    // exceljs listens to its archive's errors only once committing; until then one would be an
    // unheard 'error' event, which ends the process (or the worker).
    const fail = (error: Error) => {
      this.failure ??= error;
    };
    this.zip.on('error', fail);
    this.zip.on('warning', fail);
    this.datetimeStyle = internals.styles.addStyleModel({ numFmt: DATETIME_FORMAT }, exceljs.ValueType.Date);
    this.lastColumn = columnLetter(columns.length);
    this.kinds = columns.map((column) => column.valueType);
    this.cellOpen = columns.map((_, c) => `<c r="${columnLetter(c + 1)}`);
  }

  /** Rows as one flat array, row after row, each `columns.length` values in column order. */
  async add(values: readonly unknown[]): Promise<void> {
    if (this.failure) throw this.failure;
    const width = this.columns.length;
    this.widths ??= columnWidths(this.columns, values);
    // Joined once per batch: a string grown by += is a deep rope that Buffer.from flattens slowly.
    let rows: string[] = [];
    for (let start = 0; start < values.length; start += width) {
      if (this.entry === null || this.rowsInSheet === this.sheetRowLimit) {
        if (rows.length > 0) this.entry?.write(rows.join(''));
        rows = [];
        this.openSheet();
      }
      this.rowsInSheet += 1;
      rows.push(this.row(values, start, this.rowsInSheet));
    }
    if (rows.length > 0) {
      this.entry?.write(rows.join(''));
      await this.zipped();
    }
    if (this.failure) throw this.failure;
  }

  /** Ends the last sheet, has exceljs write the workbook's other parts; resolves when every byte is out. */
  async finish(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.sheet === null) this.openSheet();
    this.closeSheet();
    await this.workbook.commit();
    if (this.failure) throw this.failure;
  }

  /** Stops the zip: nothing more is written. */
  abort(): void {
    this.zip.abort();
  }

  /**
   * Resolves once at most ENTRY_BUFFER bytes of the sheet wait for the archive (or it has
   * failed): the backpressure between batches. exceljs's entry buffer passes each full 64 KB block
   * on at once, whatever the archive says, so the stream the archive reads it from is watched
   * instead: it stops emptying while the zip, and behind it onData's consumer, takes no more.
   * Leaving a batch or so queued keeps the deflater busy while the next batch is written.
   */
  private async zipped(): Promise<void> {
    const input = this.entry?.pipes?.[0];
    if (!input || queued(input) <= ENTRY_BUFFER) return;
    await new Promise<void>((resolve) => {
      const check = () => {
        if (queued(input) > ENTRY_BUFFER && !input.destroyed && this.failure === null) return;
        input.off('data', check);
        input.off('drain', check);
        input.off('close', check);
        this.zip.off('error', check);
        resolve();
      };
      // 'data': each block the archive reads; 'drain': the last one. A 'data' listener on a
      // stream nobody has read yet would start it flowing, its blocks lost before the archive
      // pipes it: until then, 'drain' alone.
      if ((input.readableFlowing ?? input._readableState?.flowing ?? null) !== null) input.on('data', check);
      input.on('drain', check);
      input.on('close', check);
      this.zip.on('error', check);
    });
  }

  /** A new sheet, its head and header row written by exceljs; rows go to its entry after. */
  private openSheet(): void {
    if (this.sheet !== null) this.closeSheet();
    this.sheets += 1;
    const widths = this.widths ?? columnWidths(this.columns, []);
    const sheet = this.workbook.addWorksheet(sheetName(this.title, this.sheets), {
      views: [{ state: 'frozen', xSplit: 0, ySplit: 1, topLeftCell: 'A2', activeCell: 'A2' }],
    });
    sheet.columns = this.columns.map((column, c) => ({
      width: widths[c],
      ...(column.valueType === 'datetime' ? { style: { numFmt: DATETIME_FORMAT } } : {}),
    }));
    const header = sheet.addRow(this.columns.map((column) => xmlSafe(column.name)));
    header.font = { bold: true };
    // Committed, the header opens <sheetData>: what is written to the entry next are its rows.
    header.commit();
    this.sheet = sheet;
    this.entry = (sheet as unknown as { stream: SheetEntry }).stream;
    this.rowsInSheet = 1;
  }

  /** exceljs closes <sheetData>, writes the autofilter and the sheet's tail, and ends the entry. */
  private closeSheet(): void {
    const sheet = this.sheet;
    if (sheet === null) return;
    sheet.autoFilter = `A1:${this.lastColumn}${this.rowsInSheet}`;
    sheet.commit();
    this.sheet = null;
    this.entry = null;
  }

  /** One row's XML: integers as numbers (text beyond 2^53), datetimes as serials, text inline. */
  private row(values: readonly unknown[], start: number, r: number): string {
    const n = String(r);
    let xml = `<row r="${n}">`;
    for (let c = 0; c < this.kinds.length; c++) {
      const value = values[start + c];
      // '' too: the database's CSV cannot tell it from NULL, and a sheet shows both alike.
      if (value === null || value === undefined || value === '') continue;
      const open = this.cellOpen[c];
      switch (this.kinds[c]) {
        case 'integer': {
          const number = typeof value === 'number' ? value : Number(value);
          xml += Number.isSafeInteger(number) ? `${open}${n}"><v>${number}</v></c>` : inlineString(`${open}${n}"`, String(value));
          break;
        }
        case 'datetime': {
          const text = String(value);
          const ms = utcMillis(text);
          xml += ms === null ? inlineString(`${open}${n}"`, text) : `${open}${n}" s="${this.datetimeStyle}"><v>${excelSerial(ms)}</v></c>`;
          break;
        }
        default:
          xml += inlineString(`${open}${n}"`, String(value));
      }
    }
    return `${xml}</row>`;
  }
}
