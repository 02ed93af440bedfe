/**
 * CSV renderer: the port of djangorestframework-csv's `CSVRenderer` as the original service
 * configured it (Python's `csv.writer`, QUOTE_MINIMAL, `\r\n`): a header row of field names in
 * declaration order, then one row per result; NULL as an empty cell; UTF-8 without BOM; an empty
 * page is the header line alone. Ours: formula neutralisation (lib/formula-guard.ts) and a
 * streamed body for `limit=all`, whose lines PostgreSQL writes where it can (resource/csv-sql.ts
 * writes the same bytes as csvLine).
 *
 * Written by hand rather than with fast-csv's formatter (fast-csv parses the imports): its quoting
 * also quotes any field holding `|` (its pattern `[,\r\n|\r|\n]` is a character class), which
 * Python's does not, so it could not give the original's bytes; and with its quoting off it only
 * joins cells, at about a third of a full export's time (a stream and a Buffer per row).
 */
import { Readable } from 'node:stream';
import type { CompiledField } from '../../resource/declaration.js';
import type { Renderer, Row } from './renderer.js';
import { collect, oneBatch } from './tabular.js';
import { yieldingBatches } from './yielding.js';
import { neutraliseFormula } from '../../lib/formula-guard.js';

const NEEDS_QUOTES = /[",\r\n]/;

/** RFC 4180 as Python's QUOTE_MINIMAL writes it: quoted only when needed, `"` doubled. */
export function quoteCsvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One row as a CSV line, cells in field order. Datetimes are already DRF text. */
function csvLine(row: Row, fields: readonly CompiledField[], formulaGuard: boolean): string {
  let line = '';
  let separator = '';
  for (const field of fields) {
    line += separator;
    separator = ',';
    const value = row[field.name];
    if (value === null || value === undefined) continue;
    const text = String(value);
    line += quoteCsvField(formulaGuard && field.valueType === 'text' ? neutraliseFormula(text) : text);
  }
  return `${line}\r\n`;
}

const headerLine = (fields: readonly CompiledField[]) => Buffer.from(`${fields.map((f) => quoteCsvField(f.name)).join(',')}\r\n`);

/** One chunk of lines per batch of rows (a batch is one database fetch). */
async function* csvLines(
  fields: readonly CompiledField[],
  batches: AsyncIterable<readonly Row[]>,
  formulaGuard: boolean,
): AsyncGenerator<Buffer> {
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    let text = '';
    for (const row of batch) text += csvLine(row, fields, formulaGuard);
    yield Buffer.from(text);
  }
}

/** The body: the header line, then the lines, whoever wrote them. */
async function* withHeader(fields: readonly CompiledField[], lines: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer | string> {
  yield headerLine(fields);
  yield* lines;
}

export function createCsvRenderer({ formulaGuard }: { formulaGuard: boolean }): Renderer {
  return {
    mediaType: 'text/csv',
    format: 'csv',
    charset: 'utf-8',
    download: { extension: 'csv' },
    variant: formulaGuard ? 'formula-guard' : 'plain',
    render: (page, { fields }) => collect(Readable.from(withHeader(fields, csvLines(fields, oneBatch(page.results), formulaGuard)))),
    // The lines PostgreSQL writes (resource/csv-sql.ts) where it can, else written here from the
    // rows; either way yielding to other requests between chunks or batches: PostgreSQL writes a
    // full export's CSV at ~1 core, which passed through unchecked took the cores from the pages
    // beside it (bench/RESULTS.md, "Ninth look"). One chunk buffered ahead at most: the next is
    // fetched when the socket has taken this one.
    stream: async (_envelope, source, { fields, yieldTo }) => {
      const copied = await source.csvLines({ formulaGuard });
      const lines = copied ? yieldingBatches(copied, yieldTo) : csvLines(fields, yieldingBatches(source.rows(), yieldTo), formulaGuard);
      return Readable.from(withHeader(fields, lines), { highWaterMark: 1 });
    },
  };
}
