/**
 * The database's CSV bytes for an export (ExportSource.csvLines, no formula guard) straight to
 * sheet row XML bytes, in the XLSX export's worker: no decoding to JS strings, no value per cell.
 * Text is copied byte range by byte range, escaped on the bytes; integers are copied as digits;
 * datetimes in the database's one format are converted from their bytes. Anything else (a
 * quoted or odd integer, another datetime text, numbers beyond 2^53) goes through cellXml
 * (xlsx-cells.ts), the values' way: the bytes are the same either way (test/rest/xlsx-csv-rows.test.ts).
 *
 * The CSV is read as CsvCells (xlsx-csv.ts) reads it: RFC 4180 as QUOTE_MINIMAL writes it, CR
 * outside quotes ignored, an empty field (quoted or not) no cell. Chunks may end anywhere: only
 * whole rows are written, a row cut by a chunk's end waits for the next. The input is PostgreSQL's
 * UTF-8, so it holds no lone surrogates; COPY writes every row with one field per column (fields
 * beyond the columns would be dropped, where CsvCells would run them into the next row).
 */
import { CELL, cellXml, datetimeAttributes, excelSerial, utcFields, type RowLayout } from './xlsx-cells.js';

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

/** What a byte is in a field, outside the fast path's plain bytes (class 0). */
const enum ByteClass {
  Plain = 0,
  /** `"`, `,`, LF or CR: the CSV's own. */
  Csv = 1,
  /** `&`, `<`, `>`: written as references. */
  Escape = 2,
  /** A C0 control other than tab and LF (CR is Csv), or DEL: not an XML character, written as U+FFFD. */
  Illegal = 3,
  /** 0xEF: the lead byte of U+FFFE and U+FFFF, which XML forbids too. */
  Ef = 4,
}

const CLASSES = new Uint8Array(256);
for (let b = 0; b < 0x20; b++) if (b !== 0x09 && b !== LF) CLASSES[b] = ByteClass.Illegal;
CLASSES[0x7f] = ByteClass.Illegal;
for (const b of [QUOTE, COMMA, LF, CR]) CLASSES[b] = ByteClass.Csv;
for (const b of [0x26, 0x3c, 0x3e]) CLASSES[b] = ByteClass.Escape;
CLASSES[0xef] = ByteClass.Ef;

const ascii = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const REFERENCES: Readonly<Record<number, Uint8Array>> = { 0x26: ascii('&amp;'), 0x3c: ascii('&lt;'), 0x3e: ascii('&gt;'), [CR]: ascii('&#13;') };
const REPLACEMENT = Uint8Array.of(0xef, 0xbf, 0xbd);
/** A field beyond the columns has no cell start: it is read, then dropped. */
const NOTHING = new Uint8Array(0);
const ROW_OPEN = ascii('<row r="');
const ROW_OPEN_END = ascii('">');
const ROW_CLOSE = ascii('</row>');
const TEXT_OPEN = ascii(`"${CELL.inlineString}>`);
const PRESERVE = ascii(CELL.preserve);
const TEXT_CLOSE = ascii(CELL.textEnd);
const INTEGER_OPEN = ascii(`"${CELL.numberStart}`);
const NUMBER_CLOSE = ascii(CELL.numberEnd);

/** Bytes a cell may take besides its text: its tags, reference, a preserve attribute. */
const CELL_OVERHEAD = 128;
/** Output bytes a field's byte may become at most: `&amp;` (5), more than U+FFFD's 3. */
const BYTE_GROWTH = 5;

/** A field read: where its end left off, or that the input ended inside it. */
const INCOMPLETE = -1;
/** How a field ended. */
const enum FieldEnd {
  Comma,
  Row,
  Input,
}

export interface CsvRowsWritten {
  /** The rows' XML, `<row …>…</row>` after each other. */
  xml: Buffer;
  rows: number;
}

export class CsvSheetRows {
  private input: Uint8Array = new Uint8Array(0);
  /** Where the rows not yet written start in `input`. */
  private at = 0;
  private out: Buffer = Buffer.alloc(0);
  private o = 0;
  /** Unquoted bytes of an integer or datetime field. */
  private scratch: Buffer = Buffer.alloc(64);
  private scratchLength = 0;
  private fieldEnd: FieldEnd = FieldEnd.Comma;
  /** The last field read was empty. */
  private fieldEmpty = false;
  /** The row just read was one empty field. */
  private lastRowEmpty = false;
  /** Each column's `<c r="B` and the datetime cells' attributes. */
  private readonly cellOpen: Uint8Array[];
  private readonly datetimeOpen: Uint8Array;
  /** The last datetime's milliseconds and its serial's text. */
  private lastMs = NaN;
  private lastSerial = '';
  /** The row's number, and its digits (written without a string per row). */
  private r = 0;
  private readonly rowDigits = new Uint8Array(16);
  private rowDigitCount = 0;

  constructor(private readonly layout: RowLayout) {
    this.cellOpen = layout.letters.map((letters) => ascii(`<c r="${letters}`));
    this.datetimeOpen = ascii(`${datetimeAttributes(layout.datetimeStyle)}${CELL.numberStart}`);
  }

  /** Takes more of the CSV: what is left of the last chunk's bytes goes before it. */
  push(bytes: Uint8Array): void {
    const left = this.input.length - this.at;
    if (left === 0) {
      this.input = bytes;
    } else {
      const joined = new Uint8Array(left + bytes.length);
      joined.set(this.input.subarray(this.at));
      joined.set(bytes, left);
      this.input = joined;
    }
    this.at = 0;
  }

  /**
   * The XML of the whole rows taken and not yet written, at most `maxRows`, numbered from
   * `firstRow`. `final`: the CSV has ended, a last row without a line end is whole too. The XML's
   * bytes are the caller's.
   */
  write(firstRow: number, maxRows: number, final: boolean): CsvRowsWritten {
    const input = this.input;
    // Room for every byte left to become `&amp;`, as a field reserves from where it starts. A
    // buffer of its own for each call: the XML goes to the zip's stream as it is, not copied.
    this.out = Buffer.allocUnsafe((input.length - this.at) * BYTE_GROWTH + 4096);
    this.o = 0;
    let rows = 0;
    while (rows < maxRows && this.at < input.length) {
      const outStart = this.o;
      const end = this.row(input, this.at, firstRow + rows, final);
      if (end === INCOMPLETE) {
        this.o = outStart;
        break;
      }
      this.at = end;
      // A last row with nothing in it (one empty field, no line end) is no row, as for CsvCells.
      if (this.fieldEnd === FieldEnd.Input && this.lastRowEmpty) {
        this.o = outStart;
        continue;
      }
      rows += 1;
    }
    return { xml: this.out.subarray(0, this.o), rows };
  }

  /** Writes the row at `start`; the index after it, or INCOMPLETE. */
  private row(input: Uint8Array, start: number, r: number, final: boolean): number {
    this.setRowNumber(r);
    this.put(ROW_OPEN);
    this.putRowNumber();
    this.put(ROW_OPEN_END);
    const kinds = this.layout.kinds;
    let at = start;
    for (let c = 0; ; c++) {
      const kind = kinds[c];
      const next = kind === 'text' || kind === undefined ? this.textField(input, at, c, final, kind === undefined) : this.valueField(input, at, c, final);
      if (next === INCOMPLETE) return INCOMPLETE;
      at = next;
      if (this.fieldEnd !== FieldEnd.Comma) {
        this.lastRowEmpty = c === 0 && this.fieldEmpty;
        break;
      }
    }
    this.put(ROW_CLOSE);
    return at;
  }

  /**
   * A text field written as an inline string cell, escaped as it is read; `drop`: a field beyond
   * the columns, read and not written. The index after its end, or INCOMPLETE.
   */
  private textField(input: Uint8Array, start: number, c: number, final: boolean, drop: boolean): number {
    const n = input.length;
    this.reserve((n - start) * BYTE_GROWTH + CELL_OVERHEAD);
    const out = this.out;
    const cellStart = this.o;
    this.put(this.cellOpen[c] ?? NOTHING);
    this.putRowNumber();
    this.put(TEXT_OPEN);
    const contentStart = this.o;
    let o = this.o;
    let first = -1;
    let last = -1;
    let inQuotes = false;
    let i = start;
    for (;;) {
      // The plain run: most of a field.
      const runStart = i;
      let b = 0;
      while (i < n && (b = input[i] ?? 0, CLASSES[b] === ByteClass.Plain)) out[o++] = b, i++;
      if (i > runStart) {
        if (first < 0) first = input[runStart] ?? 0;
        last = input[i - 1] ?? 0;
      }
      if (i === n) {
        if (!final) return INCOMPLETE;
        this.fieldEnd = FieldEnd.Input;
        break;
      }
      const kind = CLASSES[b];
      if (kind === ByteClass.Csv) {
        if (b === QUOTE) {
          if (!inQuotes) {
            inQuotes = true;
            i += 1;
            continue;
          }
          if (i + 1 === n && !final) return INCOMPLETE;
          if (input[i + 1] === QUOTE) {
            out[o++] = QUOTE;
            if (first < 0) first = QUOTE;
            last = QUOTE;
            i += 2;
          } else {
            inQuotes = false;
            i += 1;
          }
          continue;
        }
        if (!inQuotes) {
          i += 1;
          if (b === CR) continue;
          this.fieldEnd = b === COMMA ? FieldEnd.Comma : FieldEnd.Row;
          break;
        }
        // A comma or LF in quotes is text; CR in quotes is written as a reference, below.
        if (b !== CR) {
          out[o++] = b;
          if (first < 0) first = b;
          last = b;
          i += 1;
          continue;
        }
      }
      if (first < 0) first = b;
      last = b;
      if (kind === ByteClass.Ef) {
        if (i + 2 >= n && !final) return INCOMPLETE;
        if (input[i + 1] === 0xbf && (input[i + 2] === 0xbe || input[i + 2] === 0xbf)) {
          o = copy(out, o, REPLACEMENT);
          i += 3;
        } else {
          out[o++] = b;
          i += 1;
        }
      } else if (kind === ByteClass.Illegal) {
        o = copy(out, o, REPLACEMENT);
        i += 1;
      } else {
        o = copy(out, o, REFERENCES[b] ?? REPLACEMENT);
        i += 1;
      }
    }
    this.fieldEmpty = o === contentStart;
    if (this.fieldEmpty || drop) {
      this.o = cellStart;
      return i;
    }
    // Without xml:space, readers may drop leading and trailing whitespace (cellXml's rule, on bytes).
    if (first <= 32 || last <= 32) {
      out.copyWithin(contentStart - 1 + PRESERVE.length, contentStart - 1, o);
      copy(out, contentStart - 1, PRESERVE);
      o += PRESERVE.length;
    }
    this.o = copy(out, o, TEXT_CLOSE);
    return i;
  }

  /**
   * An integer or datetime field, written as a cell. Unquoted (as the database writes them) it is
   * read where it is; else its bytes are unquoted into `scratch` first.
   */
  private valueField(input: Uint8Array, start: number, c: number, final: boolean): number {
    const n = input.length;
    let i = start;
    let b = 0;
    while (i < n && (b = input[i] ?? 0) !== COMMA && b !== LF && b !== QUOTE && b !== CR) i++;
    if (i === n && !final) return INCOMPLETE;
    if (i < n && (b === QUOTE || b === CR)) {
      const end = this.unquote(input, start, final);
      if (end !== INCOMPLETE) this.valueCell(this.scratch, 0, this.scratchLength, c);
      return end;
    }
    this.fieldEnd = i === n ? FieldEnd.Input : b === COMMA ? FieldEnd.Comma : FieldEnd.Row;
    this.valueCell(input, start, i - start, c);
    return i === n ? i : i + 1;
  }

  /** The cell of an integer or datetime field's `length` bytes at `from` of `s`. */
  private valueCell(s: Uint8Array, from: number, length: number, c: number): void {
    this.fieldEmpty = length === 0;
    if (length === 0) return;
    const kind = this.layout.kinds[c];
    this.reserve(length * BYTE_GROWTH + CELL_OVERHEAD);
    if (kind === 'integer' && isPlainInteger(s, from, length)) {
      this.put(this.cellOpen[c] ?? NOTHING);
      this.putRowNumber();
      this.put(INTEGER_OPEN);
      const out = this.out;
      let o = this.o;
      for (let k = from; k < from + length; k++) out[o++] = s[k] ?? 0;
      this.o = copy(out, o, NUMBER_CLOSE);
      return;
    }
    const ms = kind === 'datetime' ? utcMillisOf(s, from, length) : null;
    if (ms !== null) {
      this.put(this.cellOpen[c] ?? NOTHING);
      this.putRowNumber();
      this.put(this.datetimeOpen);
      // A row's two datetimes are often the same millisecond (a row never modified): the number's
      // text, the dearest part of the cell, is made once for both.
      if (ms !== this.lastMs) {
        this.lastMs = ms;
        this.lastSerial = excelSerial(ms);
      }
      const serial = this.lastSerial;
      // Digits and a point: copied by hand, which is several times cheaper than Buffer#write.
      const out = this.out;
      let o = this.o;
      for (let k = 0; k < serial.length; k++) out[o++] = serial.charCodeAt(k);
      this.o = o;
      this.put(NUMBER_CLOSE);
      return;
    }
    // Off the fast paths: the values' way, from the field's text.
    const text = Buffer.from(s.buffer, s.byteOffset + from, length).toString('utf8');
    const xml = cellXml(kind ?? 'text', `${this.layout.letters[c] ?? ''}${this.r}`, text, this.layout.datetimeStyle);
    this.reserve(Buffer.byteLength(xml));
    this.o += this.out.write(xml, this.o, 'utf8');
  }

  /** Reads a field into `scratch` without its quoting; the index after its end, or INCOMPLETE. */
  private unquote(input: Uint8Array, start: number, final: boolean): number {
    const n = input.length;
    let length = 0;
    let inQuotes = false;
    let i = start;
    for (;;) {
      if (i === n) {
        if (!final) return INCOMPLETE;
        this.fieldEnd = FieldEnd.Input;
        break;
      }
      const b = input[i] ?? 0;
      if (b === QUOTE) {
        if (!inQuotes) {
          inQuotes = true;
          i += 1;
          continue;
        }
        if (i + 1 === n && !final) return INCOMPLETE;
        if (input[i + 1] === QUOTE) {
          this.scratchByte(length++, QUOTE);
          i += 2;
        } else {
          inQuotes = false;
          i += 1;
        }
        continue;
      }
      i += 1;
      if (!inQuotes) {
        if (b === CR) continue;
        if (b === COMMA || b === LF) {
          this.fieldEnd = b === COMMA ? FieldEnd.Comma : FieldEnd.Row;
          break;
        }
      }
      this.scratchByte(length++, b);
    }
    this.scratchLength = length;
    return i;
  }

  private setRowNumber(r: number): void {
    this.r = r;
    let count = 0;
    for (let rest = r; rest > 0 || count === 0; rest = Math.floor(rest / 10)) count++;
    for (let rest = r, k = count - 1; k >= 0; rest = Math.floor(rest / 10), k--) this.rowDigits[k] = 0x30 + (rest % 10);
    this.rowDigitCount = count;
  }

  private putRowNumber(): void {
    const out = this.out;
    const digits = this.rowDigits;
    let o = this.o;
    for (let k = 0; k < this.rowDigitCount; k++) out[o++] = digits[k] ?? 0;
    this.o = o;
  }

  private scratchByte(at: number, b: number): void {
    if (at === this.scratch.length) {
      const grown = Buffer.alloc(this.scratch.length * 2);
      this.scratch.copy(grown);
      this.scratch = grown;
    }
    this.scratch[at] = b;
  }

  /** Room for `bytes` more output. */
  private reserve(bytes: number): void {
    if (this.o + bytes <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.o + bytes));
    this.out.copy(grown, 0, 0, this.o);
    this.out = grown;
  }

  private put(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.o = copy(this.out, this.o, bytes);
  }
}

/** Copies `bytes` into `out` at `o` (short: a loop beats a native call); the index after them. */
function copy(out: Uint8Array, o: number, bytes: Uint8Array): number {
  for (let k = 0; k < bytes.length; k++) out[o + k] = bytes[k] ?? 0;
  return o + bytes.length;
}

/** Digits as Number() and String() give them back: `-`?, no leading zero, below 2^53 (15 digits). */
function isPlainInteger(s: Uint8Array, from: number, length: number): boolean {
  const sign = s[from] === 0x2d ? 1 : 0;
  const digits = length - sign;
  if (digits < 1 || digits > 15) return false;
  // `0` alone, never `-0` (which Number() reads as -0, written `0`) or `007`.
  if (s[from + sign] === 0x30 && (digits > 1 || sign === 1)) return false;
  for (let i = from + sign; i < from + length; i++) {
    const d = (s[i] ?? 0) - 0x30;
    if (d < 0 || d > 9) return false;
  }
  return true;
}

/** A digit's value, or NaN for any other byte. */
const digitAt = (s: Uint8Array, i: number): number => {
  const d = (s[i] ?? 0) - 0x30;
  return d >= 0 && d <= 9 ? d : NaN;
};
const twoAt = (s: Uint8Array, i: number): number => digitAt(s, i) * 10 + digitAt(s, i + 1);

/**
 * cellXml's fast datetime read (xlsx-cells.ts utcMillisFast) on bytes: `YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z`
 * from year 100, with the same arithmetic. Null where it does not apply (cellXml decides then).
 */
function utcMillisOf(s: Uint8Array, f: number, n: number): number | null {
  if (n < 20 || n > 27 || n === 21 || s[f + n - 1] !== 0x5a) return null;
  if (s[f + 4] !== 0x2d || s[f + 7] !== 0x2d || s[f + 10] !== 0x54 || s[f + 13] !== 0x3a || s[f + 16] !== 0x3a) return null;
  let ms = 0;
  if (n > 20) {
    if (s[f + 19] !== 0x2e) return null;
    for (let i = 20, scale = 100; i < n - 1; i++, scale /= 10) ms += digitAt(s, f + i) * (scale >= 1 ? scale : 0);
  }
  const year = twoAt(s, f) * 100 + twoAt(s, f + 2);
  const value = utcFields(year, twoAt(s, f + 5), twoAt(s, f + 8), twoAt(s, f + 11), twoAt(s, f + 14), twoAt(s, f + 17), ms);
  return year >= 100 && !Number.isNaN(value) ? value : null;
}
