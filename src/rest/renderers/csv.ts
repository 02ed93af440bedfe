/**
 * CSV renderer: the port of djangorestframework-csv's `CSVRenderer` as the original service
 * configured it (Python's `csv.writer`, QUOTE_MINIMAL, `\r\n`), written with fast-csv: a header
 * row of field names in declaration order, then one row per result; NULL as an empty cell; UTF-8
 * without BOM; an empty page is the header line alone. Ours: formula neutralisation
 * (lib/formula-guard.ts) and a streamed body for `limit=all`.
 */
import { Readable } from 'node:stream';
import { writeToString, type FormatterOptionsArgs } from 'fast-csv';
import type { CompiledField } from '../declaration.js';
import type { Renderer, Row } from './index.js';
import { collect, columnsOf, oneBatch, pageRows } from './tabular.js';
import { neutraliseFormula } from '../../lib/formula-guard.js';

type Cells = string[];

// fast-csv's own quoting also quotes any field containing `|` (its pattern `[,\r\n|\r|\n]` is a
// character class), which Python's csv does not; so fields arrive quoted and fast-csv only joins.
const FORMAT: FormatterOptionsArgs<Cells, Cells> = {
  quote: false,
  delimiter: ',',
  rowDelimiter: '\r\n',
  includeEndRowDelimiter: true,
};

const NEEDS_QUOTES = /[",\r\n]/;

/** RFC 4180 as Python's QUOTE_MINIMAL writes it: quoted only when needed, `"` doubled. */
export function quoteCsvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One row's cells, in field order. Datetimes are already DRF text; integers print as integers. */
function toCells(row: Row, fields: readonly CompiledField[], formulaGuard: boolean): Cells {
  const cells: Cells = new Array<string>(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const value = row[field.name];
    if (value === null || value === undefined) cells[i] = '';
    else if (field.valueType === 'text') {
      const text = String(value);
      cells[i] = quoteCsvField(formulaGuard ? neutraliseFormula(text) : text);
    } else cells[i] = quoteCsvField(String(value));
  }
  return cells;
}

/** The header line, then one chunk per batch of rows (a batch is one database fetch). */
async function* csvChunks(
  fields: readonly CompiledField[],
  batches: AsyncIterable<readonly Row[]>,
  formulaGuard: boolean,
): AsyncGenerator<Buffer> {
  const headers = fields.map((f) => quoteCsvField(f.name));
  yield Buffer.from(await writeToString([headers], FORMAT));
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    yield Buffer.from(await writeToString(batch.map((row) => toCells(row, fields, formulaGuard)), FORMAT));
  }
}

export function createCsvRenderer({ formulaGuard }: { formulaGuard: boolean }): Renderer {
  return {
    mediaType: 'text/csv',
    format: 'csv',
    charset: 'utf-8',
    download: { extension: 'csv' },
    render: (data, ctx) => collect(Readable.from(csvChunks(columnsOf(ctx), oneBatch(pageRows(data)), formulaGuard))),
    // One batch buffered ahead at most: the next is fetched when the socket has taken this one.
    stream: (_envelope, rows, ctx) => Readable.from(csvChunks(columnsOf(ctx), rows, formulaGuard), { highWaterMark: 1 }),
  };
}
