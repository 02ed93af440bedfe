/**
 * The .xlsx file: exceljs's streaming WorkbookWriter writes the package (zip, content types,
 * relationships, workbook, styles, theme, properties) and each sheet's head and tail (frozen
 * header pane, column widths and styles, the bold header row, autofilter); the data rows' XML is
 * written here, straight into the sheet's zip entry, with inline strings, so that nothing is held
 * back until the end. exceljs's own rows (a Row and a Cell object per value, serialised through its
 * XML stream) were about three times slower. Rows come as values (add: a page, the embedded
 * database's rows; xlsx-cells.ts) or as the database's CSV bytes (addCsv: a server's export;
 * xlsx-csv-rows.ts transcodes them to XML bytes). Used in the export's worker thread
 * (xlsx-worker.ts) and, for a page, in the calling thread; it knows nothing of threads.
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type ExcelJS from 'exceljs';
import type { ValueType } from '../../resource/declaration.js';
import { CsvCells } from './xlsx-csv.js';
import { CsvSheetRows } from './xlsx-csv-rows.js';
import { useNativeZipCrc } from './xlsx-zip-tuning.js';
import { columnLetter, rowXml, xmlSafe, type RowLayout } from './xlsx-cells.js';

export { columnLetter, excelDate, xmlSafe } from './xlsx-cells.js';

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

/**
 * Rows whose values size the columns. A fixed count, not "the first batch": a batch of COPY's CSV
 * ends wherever the network cut it, so the same export through PgBouncer and straight gave
 * different widths; the cursor's batches (snapshot-cursor.ts) are this size, so the embedded
 * database and a server give the same file.
 */
export const WIDTH_SAMPLE_ROWS = 500;

/**
 * Each column's width in characters: the longest of the header and the sample's values,
 * within 8–50; datetimes fit their format.
 */
export function columnWidths(columns: readonly SheetColumn[], sample: readonly unknown[]): number[] {
  return columns.map((column, c) => {
    if (column.valueType === 'datetime') return DATETIME_FORMAT.length + 2;
    let longest = column.name.length;
    for (let i = c; i < sample.length; i += columns.length) {
      const value = sample[i];
      if (value !== null && value !== undefined) longest = Math.max(longest, String(value).length);
    }
    return Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, longest + 2));
  });
}

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
  write(chunk: string | Buffer): unknown;
  destroyed?: boolean;
  writableLength?: number;
  _writableState?: { length: number };
  readableFlowing?: boolean | null;
  _readableState?: { flowing: boolean | null };
}
/** Bytes written to the input and not yet read by the archive. */
const queued = (input: ZipInput): number => input.writableLength ?? input._writableState?.length ?? 0;
/** A sheet's zip entry as exceljs writes it (stream-buf.js): it takes strings or Buffers, and never says "wait". */
interface SheetEntry {
  write(xml: string | Buffer): unknown;
  /** The stream the archive reads the entry from, once it is appended to the zip (at the header's commit). */
  pipes?: ZipInput[];
  /** Passes what the entry holds on to its pipes: the 64 KB blocks and the part-filled last one. */
  _flush?(): void;
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
    useNativeZipCrc(import.meta.url);
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
/** zlib's output chunk (16 KB by default): fewer, larger chunks take the worker less time to pass on. */
const ZLIB_CHUNK = 128 * 1024;
/**
 * The zip's deflate. Level 1: the zip is a few percent larger and written several times faster
 * than level 6. memLevel 9 (128 KB more per export than the default 8): ~10% less CPU for the same zip size.
 */
export const ZIP_DEFLATE = { level: 1, memLevel: 9, chunkSize: ZLIB_CHUNK } as const;
/** Worksheet XML left queued for the archive when add() resolves: about a batch. */
const ENTRY_BUFFER = 1024 * 1024;

/**
 * One workbook, written as rows are added: the first WIDTH_SAMPLE_ROWS rows size the columns (the
 * batches before them are held until then), a sheet that
 * reaches `sheetRowLimit` rows continues on `<title> (2)`. Bytes go to `onData` as the zip is
 * written; add() resolves once the zip can take more.
 */
export class WorkbookEncoder {
  private readonly workbook: ExcelJS.stream.xlsx.WorkbookWriter;
  private readonly zip: ZipArchive;
  private readonly lastColumn: string;
  private readonly layout: RowLayout;
  /** The CSV transcoder, once rows come as CSV. */
  private csvRows: CsvSheetRows | null = null;
  private sheet: ExcelJS.Worksheet | null = null;
  private entry: SheetEntry | null = null;
  private widths: number[] | null = null;
  /** Until the widths are known: the first rows' values, and every batch that came, held in order. */
  private sample: unknown[] = [];
  private sampleCsv: CsvCells | null = null;
  private held: ({ values: readonly unknown[] } | { csv: Uint8Array })[] = [];
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
      zip: { zlib: ZIP_DEFLATE, highWaterMark: ZIP_BUFFER } as Partial<ExcelJS.stream.xlsx.ArchiverZipOptions>,
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
    this.lastColumn = columnLetter(columns.length);
    this.layout = {
      kinds: columns.map((column) => column.valueType),
      letters: columns.map((_, c) => columnLetter(c + 1)),
      datetimeStyle: internals.styles.addStyleModel({ numFmt: DATETIME_FORMAT }, exceljs.ValueType.Date),
    };
  }

  /** Rows as one flat array, row after row, each `columns.length` values in column order. */
  async add(values: readonly unknown[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.widths === null) {
      this.held.push({ values });
      this.addToSample(values);
      return this.sampled() ? this.writeHeld() : undefined;
    }
    await this.writeValues(values);
  }

  /**
   * Rows as the database's CSV bytes (ExportSource.csvLines without the formula guard), cut
   * anywhere: the whole rows among what came so far are written, the rest waits for more or finish().
   */
  async addCsv(bytes: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.widths === null) {
      this.held.push({ csv: bytes });
      this.addToSample((this.sampleCsv ??= new CsvCells()).push(bytes));
      return this.sampled() ? this.writeHeld() : undefined;
    }
    await this.writeCsv(bytes);
  }

  private addToSample(values: readonly unknown[]): void {
    const room = WIDTH_SAMPLE_ROWS * this.columns.length - this.sample.length;
    for (let i = 0; i < values.length && i < room; i++) this.sample.push(values[i]);
  }

  private sampled(): boolean {
    return this.sample.length >= WIDTH_SAMPLE_ROWS * this.columns.length;
  }

  /** The widths from the sample as it is (all of it at the end), then the held batches written in the order they came. */
  private async writeHeld(): Promise<void> {
    if (this.sampleCsv && !this.sampled()) this.addToSample(this.sampleCsv.end());
    this.widths = columnWidths(this.columns, this.sample);
    const held = this.held;
    this.held = [];
    this.sample = [];
    this.sampleCsv = null;
    for (const batch of held) {
      if ('values' in batch) await this.writeValues(batch.values);
      else await this.writeCsv(batch.csv);
    }
  }

  private async writeValues(values: readonly unknown[]): Promise<void> {
    const width = this.columns.length;
    // Joined once per batch: a string grown by += is a deep rope that Buffer.from flattens slowly.
    let rows: string[] = [];
    for (let start = 0; start < values.length; start += width) {
      if (this.entry === null || this.rowsInSheet === this.sheetRowLimit) {
        if (rows.length > 0) this.writeRows(rows.join(''));
        rows = [];
        this.openSheet();
      }
      this.rowsInSheet += 1;
      rows.push(rowXml(this.layout, values, start, this.rowsInSheet));
    }
    if (rows.length > 0) {
      this.writeRows(rows.join(''));
      await this.zipped();
    }
    if (this.failure) throw this.failure;
  }

  private async writeCsv(bytes: Uint8Array): Promise<void> {
    this.csvRows ??= new CsvSheetRows(this.layout);
    this.csvRows.push(bytes);
    this.writeCsvRows(false);
    await this.zipped();
    if (this.failure) throw this.failure;
  }

  /** The CSV's whole rows into the sheets; `final`: the CSV has ended. */
  private writeCsvRows(final: boolean): void {
    const csvRows = this.csvRows;
    if (csvRows === null) return;
    for (;;) {
      // A full sheet is continued on a new one, opened once there is a row for it.
      const full = this.entry === null || this.rowsInSheet === this.sheetRowLimit;
      const first = full ? 2 : this.rowsInSheet + 1;
      const { xml, rows } = csvRows.write(first, this.sheetRowLimit - first + 1, final);
      if (rows === 0) return;
      if (full) this.openSheet();
      this.writeRows(xml);
      this.rowsInSheet += rows;
    }
  }

  /** Ends the last sheet, has exceljs write the workbook's other parts; resolves when every byte is out. */
  async finish(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.widths === null) await this.writeHeld();
    this.writeCsvRows(true);
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

  /**
   * Rows' XML into the sheet's entry. Once the archive reads the entry (from the header's commit
   * on), straight into the stream it reads from, after what exceljs's entry buffer still holds:
   * that buffer would copy every byte into 64 KB blocks of its own first, about 6% of the
   * export's CPU. The XML is then the archive's until read: never a buffer that is reused.
   */
  private writeRows(xml: string | Buffer): void {
    const entry = this.entry;
    const input = entry?.pipes?.[0];
    if (!input || !entry?._flush) {
      entry?.write(xml);
      return;
    }
    entry._flush();
    input.write(xml);
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
}
