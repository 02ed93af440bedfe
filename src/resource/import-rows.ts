/**
 * Reads an import file, CSV in exactly the CSV export's format or JSON Lines shaped like the
 * list's `results`, into validated rows in declaration order, each with the line it starts on.
 * Validation comes from the declaration (kinds, bounds, lengths, nullability), so what imports
 * is what the API could have served; nothing is written here.
 */
import { createInterface } from 'node:readline';
import { pipeline, Readable } from 'node:stream';
import { domainToASCII } from 'node:url';
import { parse as parseCsv } from 'fast-csv';
import type { CompiledField } from './declaration.js';
import { parseDjangoDateTime } from '../lib/timestamp.js';
import { restoreFormula } from '../lib/formula-guard.js';
import { CsvRecordCutter, type CsvRecordFailure } from '../lib/csv-records.js';

/** A number, text (timestamps as exact UTC text), or null for "not given" / NULL. */
export type ImportValue = number | string | null;

export type ImportLine =
  | { line: number; values: ImportValue[] }
  | { line: number; problems: string[] };

export interface ReadImportOptions {
  format: 'csv' | 'jsonl';
  /** Undo the export's formula guard in CSV text cells (lib/formula-guard.ts). */
  restoreFormulas: boolean;
}

const INT4 = { min: -2147483648, max: 2147483647 };

// Django 3.2's EmailValidator, whose local part is ASCII only; here it may also hold letters,
// marks and digits of any script (RFC 6531), because the original's data does
// (`ümit.öz@örnek.com.tr`: its model field never validated what was stored).
const EMAIL_USER = /^(?:[-!#$%&'*+/=?^_`{}|~0-9A-Z\p{L}\p{M}\p{N}]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9A-Z\p{L}\p{M}\p{N}]+)*|"(?:[\x01-\x08\x0b\x0c\x0e-\x1f!#-[\]-\x7f]|\\[\x01-\x09\x0b\x0c\x0e-\x7f])*")$/iu;
const EMAIL_DOMAIN = /^(?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+[A-Z0-9-]{2,63}(?<!-)$/i;
const EMAIL_LITERAL = /^\[[A-F0-9:.]+\]$/i;

/** Django's EmailValidator (domain allowlist `localhost`, IDN domains as punycode), Unicode local parts allowed. */
export function isValidEmail(value: string): boolean {
  const at = value.lastIndexOf('@');
  if (at <= 0) return false;
  const [user, domain] = [value.slice(0, at), value.slice(at + 1)];
  if (!EMAIL_USER.test(user)) return false;
  if (domain === 'localhost' || EMAIL_DOMAIN.test(domain) || EMAIL_LITERAL.test(domain)) return true;
  const ascii = domainToASCII(domain);
  return ascii !== '' && EMAIL_DOMAIN.test(ascii);
}

/** PostgreSQL counts varchar(n) in characters (code points), not UTF-16 units. */
const lengthOf = (text: string): number => (/[\uD800-\uDBFF]/.test(text) ? [...text].length : text.length);

/** Most characters of a file's value an error message repeats: a bad value may be megabytes long. */
const ECHO_CHARS = 80;
/** The first ECHO_CHARS characters of `text`, with … when there were more. */
const clip = (text: string): string => {
  if (text.length <= ECHO_CHARS) return text;
  return `${text.slice(0, ECHO_CHARS).replace(/[\uD800-\uDBFF]$/, '')}…`;
};
/** A value as the file gave it, quoted (strings) or as JSON, clipped. */
const show = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(clip(value)) : clip(JSON.stringify(value) ?? String(value));

type Checked = { value: ImportValue } | { problem: string };

/**
 * One cell. `raw` is the CSV text ('' = empty) or the JSON value (null/undefined = empty).
 * Empty means NULL where the field is nullable, '' for other text, and "not given" (the
 * database default) for optional fields such as id and the timestamps.
 */
function checkValue(field: CompiledField, raw: unknown, fromCsv: boolean, restoreFormulas: boolean): Checked {
  const empty = raw === null || raw === undefined || (fromCsv && raw === '');
  if (empty) {
    if (field.nullable) return { value: null };
    if (field.valueType === 'text' && !field.required) return { value: '' };
    return field.required ? { problem: 'missing' } : { value: null };
  }
  if (field.valueType === 'integer') {
    let n: number;
    if (fromCsv) {
      if (!/^-?\d+$/.test(raw as string)) return { problem: `not a whole number (${show(raw)})` };
      n = Number(raw);
    } else {
      if (typeof raw !== 'number' || !Number.isInteger(raw)) return { problem: `expected a whole number, got ${show(raw)}` };
      n = raw;
    }
    const min = Math.max(field.minValue ?? INT4.min, INT4.min);
    const max = Math.min(field.maxValue ?? INT4.max, INT4.max);
    return n < min || n > max ? { problem: `out of range ${min}…${max} (${show(raw)})` } : { value: n };
  }
  if (typeof raw !== 'string') return { problem: `expected a string, got ${show(raw)}` };
  if (field.valueType === 'datetime') {
    const instant = parseDjangoDateTime(raw);
    return instant === null ? { problem: `not a valid date/time (${show(raw)})` } : { value: instant };
  }
  const text = fromCsv && restoreFormulas ? restoreFormula(raw) : raw;
  if (text.includes('\u0000')) return { problem: 'contains a NUL character, which PostgreSQL text cannot hold' };
  const length = lengthOf(text);
  if (field.maxLength !== undefined && length > field.maxLength) {
    return { problem: `too long (${length} characters, at most ${field.maxLength})` };
  }
  if (field.kind === 'email' && !isValidEmail(text)) return { problem: `not a valid email address (${show(text)})` };
  return { value: text };
}

function checkRow(fields: readonly CompiledField[], cells: readonly unknown[], line: number, fromCsv: boolean, restoreFormulas: boolean): ImportLine {
  const values: ImportValue[] = [];
  const problems: string[] = [];
  fields.forEach((field, i) => {
    const checked = checkValue(field, cells[i], fromCsv, restoreFormulas);
    if ('problem' in checked) problems.push(`${field.name}: ${checked.problem}`);
    else values.push(checked.value);
  });
  return problems.length > 0 ? { line, problems } : { line, values };
}

/** Line breaks inside a CSV record's quoted fields: the record spans that many more lines. */
const lineBreaks = (cells: readonly string[]): number =>
  cells.reduce((n, cell) => n + (/[\r\n]/.test(cell) ? (cell.match(/\r\n|\r|\n/g)?.length ?? 0) : 0), 0);

/**
 * The longest CSV record read, in bytes. A valid one is a few kB (every text field is bounded);
 * past this the record is refused rather than held, which bounds memory when a quote never closes.
 */
const MAX_CSV_RECORD_BYTES = 1 << 20;

/** A record the cutter refused, as a line of ours: what went wrong and how the record starts. */
function describeCsvFailure({ problem, record }: CsvRecordFailure): string {
  const starts = `; the record starts ${show(record)}`;
  if (problem === 'unclosed-quote') return `malformed CSV: a quoted field is never closed${starts}`;
  if (problem === 'text-after-quote') {
    return `malformed CSV: text after a closing quote (a quote inside a quoted field is written "")${starts}`;
  }
  return `malformed CSV: record longer than ${MAX_CSV_RECORD_BYTES} bytes (a quoted field that is never closed?)${starts}`;
}

async function* readCsv(input: Readable, fields: readonly CompiledField[], restoreFormulas: boolean): AsyncGenerator<ImportLine> {
  let line = 1;
  let order: number[] | null = null;
  // fast-csv gets whole records only (lib/csv-records.ts), so it never re-parses an unfinished
  // one; the records before a refused one are all parsed and reported before its failure.
  const cutter = new CsvRecordCutter(MAX_CSV_RECORD_BYTES);
  // Its defaults, spelled out: a blank line is a record of no fields (reported, not skipped), `""`
  // is a quote inside quotes, and no header handling (ours checks names and order).
  const parser = parseCsv<string[], string[]>({ headers: false, ignoreEmpty: false, quote: '"', escape: '"' });
  // A read error ends the records normally and is reported after them, on the line it stopped at
  // (an error passed down the pipeline would drop the records still buffered in it).
  const read: { error: Error | null } = { error: null };
  async function* wholeRecords() {
    try {
      yield* cutter.records(input);
    } catch (error) {
      read.error = error as Error;
    }
  }
  // Leaving the loop below early destroys the parser and, through the pipeline, stops the reading.
  pipeline(Readable.from(wholeRecords()), parser, () => {});
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      const start = line;
      line += 1 + lineBreaks(record);
      if (order === null) {
        // fast-csv drops a BOM at the start of its input
        const header = record.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, '') : name));
        const expected = fields.map((f) => f.name);
        const unknown = header.filter((name) => !expected.includes(name));
        const missing = expected.filter((name) => !header.includes(name));
        const repeated = header.filter((name, i) => header.indexOf(name) !== i);
        if (unknown.length || missing.length || repeated.length) {
          yield { line: start, problems: [
            `header must name the columns ${expected.join(',')}` +
            `${missing.length ? `; missing ${missing.join(', ')}` : ''}${unknown.length ? `; unknown ${clip(unknown.join(', '))}` : ''}` +
            `${repeated.length ? `; repeated ${clip(repeated.join(', '))}` : ''}`,
          ] };
          return;
        }
        order = expected.map((name) => header.indexOf(name));
        continue;
      }
      if (record.length !== order.length) {
        // fast-csv reads a blank line (or one of white space only) as a record of no fields.
        yield { line: start, problems: [record.length === 0 ? 'blank line' : `${record.length} fields, expected ${order.length}`] };
        continue;
      }
      yield checkRow(fields, order.map((i) => record[i]), start, true, restoreFormulas);
    }
  } catch (error) {
    // One of fast-csv's own errors, which the cutter should have foreseen.
    yield { line, problems: [`malformed CSV: ${clip((error as Error).message.replace(/\s+/g, ' '))}`] };
    return;
  }
  if (read.error) {
    yield { line, problems: [`cannot read the file: ${clip(read.error.message)}`] };
    return;
  }
  if (cutter.failure) {
    yield { line, problems: [describeCsvFailure(cutter.failure)] };
    return;
  }
  if (order === null) yield { line: 1, problems: ['empty file: expected a header row'] };
}

async function* readJsonLines(input: Readable, fields: readonly CompiledField[]): AsyncGenerator<ImportLine> {
  const names = new Set(fields.map((f) => f.name));
  let line = 0;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    line += 1;
    if (text.trim() === '') continue;
    let object: unknown;
    try {
      object = JSON.parse(text);
    } catch (error) {
      yield { line, problems: [`not valid JSON: ${(error as Error).message}`] };
      continue;
    }
    if (typeof object !== 'object' || object === null || Array.isArray(object)) {
      yield { line, problems: ['expected a JSON object'] };
      continue;
    }
    const unknown = Object.keys(object).filter((key) => !names.has(key));
    if (unknown.length > 0) {
      yield { line, problems: [`unknown keys: ${clip(unknown.join(', '))}`] };
      continue;
    }
    const record = object as Record<string, unknown>;
    yield checkRow(fields, fields.map((f) => record[f.name]), line, false, false);
  }
}

/** Every line of the file, validated, in file order. */
export function readImportLines(input: Readable, fields: readonly CompiledField[], options: ReadImportOptions): AsyncGenerator<ImportLine> {
  return options.format === 'csv' ? readCsv(input, fields, options.restoreFormulas) : readJsonLines(input, fields);
}
