/**
 * The .xlsx file itself, written without a spreadsheet library: the worksheet XML row by row
 * (inline strings, no shared-string table, so nothing is held back until the end) and the few
 * fixed parts (workbook, relationships, content types, styles), zipped by archiver as they come.
 * exceljs built a Row and a Cell object per value and serialised them through its XML stream:
 * about three times slower. Used in the export's worker thread (xlsx-worker.ts) and, for a page,
 * in the calling thread; it knows nothing of threads.
 */
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import type { ValueType } from '../../resource/declaration.js';

/** Rows per sheet, header included (Excel's limit). */
export const SHEET_ROW_LIMIT = 1_048_576;

export const DATETIME_FORMAT = 'yyyy-mm-dd hh:mm:ss.000';
const MIN_WIDTH = 8;
const MAX_WIDTH = 50;
/** Style ids in styles.xml's cellXfs. */
const BOLD = 1;
const DATETIME = 2;

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

const xmlAttribute = (text: string): string => xmlText(text).replaceAll('"', '&quot;');

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

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const PKG_REL_NS = 'http://schemas.openxmlformats.org/package/2006/relationships';

/** A text cell; `open` is the cell's start tag up to its attributes' end (`<c r="A1" s="1"`). */
const inlineString = (open: string, text: string): string => {
  // Without xml:space, readers may drop leading and trailing whitespace.
  const space = text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32 ? ' xml:space="preserve"' : '';
  return `${open} t="inlineStr"><is><t${space}>${xmlText(text)}</t></is></c>`;
};

const sheetName = (title: string, n: number): string => (n === 1 ? title : `${title} (${n})`);
/** A sheet name in a formula: quoted, quotes doubled. */
const quotedSheet = (name: string): string => `'${name.replaceAll("'", "''")}'`;

const STYLES = `${XML_HEAD}<styleSheet xmlns="${MAIN_NS}">`
  + `<numFmts count="1"><numFmt numFmtId="164" formatCode="${DATETIME_FORMAT}"/></numFmts>`
  + '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
  + '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
  + '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
  + '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
  + '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
  + '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
  + '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
  + '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
  + '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>';

interface Archive extends NodeJS.EventEmitter {
  append(source: string | NodeJS.ReadableStream, data: { name: string }): this;
  finalize(): Promise<void>;
  abort(): this;
}
type ArchiverFactory = (format: 'zip', options: { zlib: { level: number }; highWaterMark: number }) => Archive;
// archiver has no type declarations of its own; this is the part used here.
const archiver = createRequire(import.meta.url)('archiver') as ArchiverFactory;

/** Room for a batch or two of worksheet XML before a write waits for the zip. */
const ENTRY_BUFFER = 1024 * 1024;
const ZIP_BUFFER = 64 * 1024;

/**
 * One workbook, written as rows are added: the first batch sizes the columns, a sheet that
 * reaches `sheetRowLimit` rows continues on `<title> (2)`. Bytes go to `onData` as archiver
 * writes them; add() resolves once the zip can take more.
 */
export class WorkbookEncoder {
  private readonly archive: Archive;
  private readonly lastColumn: string;
  private readonly letters: string[];
  private readonly kinds: ValueType[];
  /** Each column's cell start tag up to its row number: `<c r="B`. */
  private readonly cellOpen: string[];
  private sheet: PassThrough | null = null;
  private widths: number[] | null = null;
  private sheets = 0;
  private rowsInSheet = 0;
  private readonly autoFilters: string[] = [];
  /** The archive's first error, rethrown by add() and finish(). */
  private failure: Error | null = null;

  constructor(
    private readonly columns: readonly SheetColumn[],
    private readonly title: string,
    private readonly sheetRowLimit: number,
    onData: (chunk: Buffer) => void,
  ) {
    // Level 1: the zip is a few percent larger and written several times faster than level 6.
    this.archive = archiver('zip', { zlib: { level: 1 }, highWaterMark: ZIP_BUFFER });
    this.archive.on('data', onData);
    this.archive.on('error', (error: Error) => {
      this.failure ??= error;
    });
    this.archive.on('warning', (error: Error) => {
      this.failure ??= error;
    });
    this.lastColumn = columnLetter(columns.length);
    this.letters = columns.map((_, c) => columnLetter(c + 1));
    this.kinds = columns.map((column) => column.valueType);
    this.cellOpen = this.letters.map((letter) => `<c r="${letter}`);
  }

  /** Rows as one flat array, row after row, each `columns.length` values in column order. */
  async add(values: readonly unknown[]): Promise<void> {
    if (this.failure) throw this.failure;
    const width = this.columns.length;
    this.widths ??= columnWidths(this.columns, values);
    // Joined once per batch: a string grown by += is a deep rope that Buffer.from flattens slowly.
    let rows: string[] = [];
    for (let start = 0; start < values.length; start += width) {
      if (this.sheet === null || this.rowsInSheet === this.sheetRowLimit) {
        if (rows.length > 0) void this.write(rows.join(''));
        rows = [];
        this.openSheet();
      }
      this.rowsInSheet += 1;
      rows.push(this.row(values, start, this.rowsInSheet));
    }
    if (rows.length > 0) await this.write(rows.join(''));
    if (this.failure) throw this.failure;
  }

  /** Ends the last sheet, writes the workbook's other parts; resolves when every byte is out. */
  async finish(): Promise<void> {
    if (this.sheet === null) this.openSheet();
    this.closeSheet();
    const sheets = Array.from({ length: this.sheets }, (_, i) => i + 1);
    const archive = this.archive;
    archive.append(this.workbookXml(), { name: 'xl/workbook.xml' });
    archive.append(
      `${XML_HEAD}<Relationships xmlns="${PKG_REL_NS}">`
        + sheets.map((n) => `<Relationship Id="rId${n}" Type="${REL_NS}/worksheet" Target="worksheets/sheet${n}.xml"/>`).join('')
        + `<Relationship Id="rId${this.sheets + 1}" Type="${REL_NS}/styles" Target="styles.xml"/></Relationships>`,
      { name: 'xl/_rels/workbook.xml.rels' },
    );
    archive.append(STYLES, { name: 'xl/styles.xml' });
    archive.append(
      `${XML_HEAD}<Relationships xmlns="${PKG_REL_NS}"><Relationship Id="rId1" Type="${REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
      { name: '_rels/.rels' },
    );
    const part = 'application/vnd.openxmlformats-officedocument.spreadsheetml';
    archive.append(
      `${XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`
        + '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        + '<Default Extension="xml" ContentType="application/xml"/>'
        + `<Override PartName="/xl/workbook.xml" ContentType="${part}.sheet.main+xml"/>`
        + sheets.map((n) => `<Override PartName="/xl/worksheets/sheet${n}.xml" ContentType="${part}.worksheet+xml"/>`).join('')
        + `<Override PartName="/xl/styles.xml" ContentType="${part}.styles+xml"/></Types>`,
      { name: '[Content_Types].xml' },
    );
    await archive.finalize();
    if (this.failure) throw this.failure;
  }

  /** Stops the zip: nothing more is written. */
  abort(): void {
    this.sheet?.destroy();
    this.archive.abort();
  }

  private write(xml: string): Promise<void> | void {
    const sheet = this.sheet;
    if (sheet === null || sheet.write(xml)) return;
    return new Promise((resolve) => {
      const done = () => {
        sheet.off('drain', done);
        sheet.off('close', done);
        this.archive.off('error', done);
        resolve();
      };
      sheet.on('drain', done);
      sheet.on('close', done);
      this.archive.on('error', done);
    });
  }

  private openSheet(): void {
    if (this.sheet !== null) this.closeSheet();
    this.sheets += 1;
    this.rowsInSheet = 1;
    const widths = this.widths ?? columnWidths(this.columns, []);
    const sheet = new PassThrough({ highWaterMark: ENTRY_BUFFER });
    this.sheet = sheet;
    this.archive.append(sheet, { name: `xl/worksheets/sheet${this.sheets}.xml` });
    const cols = this.columns
      .map((column, c) => `<col min="${c + 1}" max="${c + 1}" width="${widths[c]}" customWidth="1"${column.valueType === 'datetime' ? ` style="${DATETIME}"` : ''}/>`)
      .join('');
    const header = this.columns.map((column, c) => inlineString(`<c r="${this.letters[c]}1" s="${BOLD}"`, column.name)).join('');
    sheet.write(
      `${XML_HEAD}<worksheet xmlns="${MAIN_NS}" xmlns:r="${REL_NS}">`
        + '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        + '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        + '<sheetFormatPr defaultRowHeight="15"/>'
        + `<cols>${cols}</cols><sheetData><row r="1">${header}</row>`,
    );
  }

  private closeSheet(): void {
    const sheet = this.sheet;
    if (sheet === null) return;
    const range = `A1:${this.lastColumn}${this.rowsInSheet}`;
    this.autoFilters.push(range);
    sheet.end(`</sheetData><autoFilter ref="${range}"/><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`);
    this.sheet = null;
  }

  private workbookXml(): string {
    const names = this.autoFilters.map((_, i) => sheetName(this.title, i + 1));
    const sheets = names.map((name, i) => `<sheet name="${xmlAttribute(name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join('');
    // Excel keeps an autofilter's range as this hidden name too, and repairs a file without it.
    const filters = this.autoFilters
      .map((range, i) => {
        const absolute = range.replace(/([A-Z]+)(\d+)/g, '$$$1$$$2');
        return `<definedName name="_xlnm._FilterDatabase" localSheetId="${i}" hidden="1">${xmlText(quotedSheet(names[i] ?? ''))}!${absolute}</definedName>`;
      })
      .join('');
    return `${XML_HEAD}<workbook xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><bookViews><workbookView/></bookViews>`
      + `<sheets>${sheets}</sheets><definedNames>${filters}</definedNames></workbook>`;
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
          xml += ms === null ? inlineString(`${open}${n}"`, text) : `${open}${n}" s="${DATETIME}"><v>${excelSerial(ms)}</v></c>`;
          break;
        }
        default:
          xml += inlineString(`${open}${n}"`, String(value));
      }
    }
    return `${xml}</row>`;
  }
}
