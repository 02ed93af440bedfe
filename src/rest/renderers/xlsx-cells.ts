/**
 * A sheet's cells as XML text, from values: the one definition of what each value type becomes
 * (integers as numbers, text beyond 2^53; datetimes as serials with the datetime style, other text
 * inline; text with xmlSafe's replacements). Used for pages and for rows that reach the export's
 * worker as values; the database's CSV bytes are transcoded by xlsx-csv-rows.ts, which falls back
 * to cellXml here for anything off its fast paths, and is tested to write the same bytes.
 */
import type { ValueType } from '../../resource/declaration.js';

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
  const value = utcFields(year, two(text, 5), two(text, 8), two(text, 11), two(text, 14), two(text, 17), ms);
  return year >= 100 && !Number.isNaN(value) ? value : null;
}

/**
 * Date.UTC(year, month - 1, …) for the years Date.UTC reads as given (from 100), without its
 * call: days from the civil date (Hinnant's days_from_civil) for months 1–12; days, hours, minutes,
 * seconds and milliseconds out of their ranges carry over as in Date.UTC, where they add linearly.
 */
export function utcFields(year: number, month: number, day: number, hours: number, minutes: number, seconds: number, ms: number): number {
  if (!(month >= 1 && month <= 12)) return Date.UTC(year, month - 1, day, hours, minutes, seconds, ms);
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const days = era * 146_097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear - 719_468;
  return days * 86_400_000 + hours * 3_600_000 + minutes * 60_000 + seconds * 1000 + ms;
}

/** Days since 1899-12-30, as exceljs counted them (no 1900 leap-year correction), as the cell's text. */
export const excelSerial = (ms: number): string => String(25569 + ms / 86_400_000);

/** `A`…`Z`, `AA`… for a 1-based column number. */
export function columnLetter(n: number): string {
  let letters = '';
  for (let rest = n; rest > 0; rest = Math.floor((rest - 1) / 26)) {
    letters = String.fromCharCode(65 + ((rest - 1) % 26)) + letters;
  }
  return letters;
}

/** Cell attributes and contents that do not depend on the value: the same for both ways of writing rows. */
export const CELL = {
  inlineString: ' t="inlineStr"><is><t',
  preserve: ' xml:space="preserve"',
  textEnd: '</t></is></c>',
  numberStart: '><v>',
  numberEnd: '</v></c>',
} as const;

/** A text cell; `open` is the cell's start tag up to its attributes' end (`<c r="A1"`). */
const inlineString = (open: string, text: string): string => {
  // Without xml:space, readers may drop leading and trailing whitespace.
  const space = text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32 ? CELL.preserve : '';
  return `${open}${CELL.inlineString}${space}>${xmlText(text)}${CELL.textEnd}`;
};

/** What a sheet's rows need of its columns, decided once per workbook. */
export interface RowLayout {
  kinds: readonly ValueType[];
  /** Each column's letters: `A`, `B`, … */
  letters: readonly string[];
  /** The datetime cells' style id, from exceljs's styles. */
  datetimeStyle: number;
}

/** The datetime cells' attributes after the reference: `" s="3"`, the style beside the number's tag. */
export const datetimeAttributes = (style: number): string => `" s="${style}"`;

/**
 * One cell's XML, or '' for no cell ('' too: the database's CSV cannot tell it from NULL, and a
 * sheet shows both alike). `ref` is the cell's reference (`B12`).
 */
export function cellXml(kind: ValueType, ref: string, value: unknown, datetimeStyle: number): string {
  if (value === null || value === undefined || value === '') return '';
  const open = `<c r="${ref}"`;
  switch (kind) {
    case 'integer': {
      const number = typeof value === 'number' ? value : Number(value);
      return Number.isSafeInteger(number) ? `${open}${CELL.numberStart}${number}${CELL.numberEnd}` : inlineString(open, String(value));
    }
    case 'datetime': {
      const text = String(value);
      const ms = utcMillis(text);
      return ms === null ? inlineString(open, text) : `<c r="${ref}${datetimeAttributes(datetimeStyle)}${CELL.numberStart}${excelSerial(ms)}${CELL.numberEnd}`;
    }
    default:
      return inlineString(open, String(value));
  }
}

/** One row's XML from `layout.kinds.length` values at `start` of a flat array; `r` is its 1-based number. */
export function rowXml(layout: RowLayout, values: readonly unknown[], start: number, r: number): string {
  let xml = `<row r="${r}">`;
  for (let c = 0; c < layout.kinds.length; c++) {
    const kind = layout.kinds[c];
    if (kind !== undefined) xml += cellXml(kind, `${layout.letters[c]}${r}`, values[start + c], layout.datetimeStyle);
  }
  return `${xml}</row>`;
}
