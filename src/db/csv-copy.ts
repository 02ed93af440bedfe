/**
 * CSV written by PostgreSQL itself, for `limit=all` exports: the same bytes as the CSV renderer
 * (rest/renderers/csv.ts) at COPY's speed, with no per-row work in Node beyond line endings.
 *
 * `COPY (SELECT <cells> …) TO STDOUT WITH (FORMAT csv)` quotes exactly as Python's
 * QUOTE_MINIMAL does (a cell holding the delimiter, `"`, CR or LF is quoted, `"` doubled) and
 * writes NULL as an empty cell. What is left is written in SQL from the declaration: DRF's
 * timestamp text, the formula guard (lib/formula-guard.ts, the same pattern in both engines),
 * and empty text as NULL (COPY quotes an empty string as `""` to tell it from NULL; Python
 * writes nothing). COPY ends rows with LF; CsvRowEndings turns those into CRLF.
 *
 * COPY takes no bind parameters, so the filter values are set first as transaction-local
 * settings (`set_config(name, $1, true)`) and the query reads them back with current_setting():
 * values still never become SQL text.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { escapeLiteral } from 'pg';
import type { CompiledField, CompiledResource, Condition, OrderTerm } from '../rest/declaration.js';
import { drfTimestampSql } from '../lib/timestamp.js';
import { FORMULA_FIRST_CHARACTERS, FORMULA_PATTERN } from '../lib/formula-guard.js';
import { compileListQuery } from './list-query.js';
import type { CopyStatement } from './snapshot-copy.js';

export interface CsvCopyOptions {
  /** Neutralise formulas in text cells, as the CSV renderer's `formulaGuard`. */
  formulaGuard: boolean;
}

/** Transaction-local settings carrying the filter values (a custom setting needs a dotted name). */
const SETTING_PREFIX = 'oms_export.value_';

const quote = (identifier: string) => `"${identifier}"`;

/** A text cell: NULL when empty, `'` + text when a spreadsheet would run it. */
function textCellSql(column: string, formulaGuard: boolean): string {
  if (!formulaGuard) return `NULLIF(${column}, '')`;
  const firstCodes = [...FORMULA_FIRST_CHARACTERS].map((c) => c.codePointAt(0)!);
  const maxFirst = Math.max(...firstCodes);
  // Most text starts with a letter: one comparison, then the short list, and the pattern last.
  return (
    `CASE WHEN ascii(${column}) > ${maxFirst} THEN ${column}` +
    ` WHEN ascii(${column}) NOT IN (${firstCodes.join(', ')}) THEN NULLIF(${column}, '')` +
    ` WHEN ${column} ~ ${escapeLiteral(FORMULA_PATTERN)} THEN '''' || ${column}` +
    ` ELSE ${column} END`
  );
}

function cellSql(field: CompiledField, formulaGuard: boolean): string {
  const column = quote(field.column);
  switch (field.valueType) {
    case 'datetime':
      return drfTimestampSql(column);
    case 'text':
      return textCellSql(column, formulaGuard);
    case 'integer':
      return column;
  }
}

export function compileCsvCopy(resource: CompiledResource, { formulaGuard }: CsvCopyOptions) {
  const sql = compileListQuery(resource);
  const cells = resource.fields.map((f) => cellSql(f, formulaGuard)).join(', ');

  return {
    /**
     * The statement that sets the filter values, and the COPY that reads them: run both in the
     * same transaction, in this order.
     */
    copy(conditions: readonly Condition[], ordering: readonly OrderTerm[]): CopyStatement {
      const where = sql.where(conditions, (i) => `current_setting('${SETTING_PREFIX}${i}')`);
      return {
        settings: where.values.length === 0 ? undefined : {
          text: `SELECT set_config('${SETTING_PREFIX}' || (n - 1), v, true) FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n)`,
          values: [where.values],
        },
        copy: `COPY (SELECT ${cells} FROM ${sql.table}${where.text}${sql.orderBy(ordering)}) TO STDOUT WITH (FORMAT csv)`,
      };
    },
  };
}

export type CsvCopy = ReturnType<typeof compileCsvCopy>;

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * COPY's CSV with each row's LF as CRLF, Python's line terminator. A LF inside a quoted cell is
 * data and stays as it is, so the quote state is tracked across chunks: every `"` toggles it
 * (a doubled `""` inside a cell toggles twice). Both bytes are ASCII and never part of a UTF-8
 * sequence, so chunks may split anywhere.
 */
export class CsvRowEndings extends Transform {
  private quoted = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    // At most one CR per LF is added: room for every LF being a row end.
    let lfs = 0;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) lfs++;
    if (lfs === 0) {
      // Nothing to change, but the quotes still move the state on.
      for (let i = chunk.indexOf(QUOTE); i !== -1; i = chunk.indexOf(QUOTE, i + 1)) this.quoted = !this.quoted;
      return done(null, chunk);
    }
    const out = Buffer.allocUnsafe(chunk.length + lfs);
    let written = 0;
    let from = 0; // first byte not yet copied
    let at = 0; // where scanning goes on
    let nextQuote = chunk.indexOf(QUOTE);
    let nextLf = chunk.indexOf(LF);
    for (;;) {
      if (this.quoted) {
        if (nextQuote === -1) break; // the cell goes on in the next chunk
        this.quoted = false;
        at = nextQuote + 1;
        nextQuote = chunk.indexOf(QUOTE, at);
        continue;
      }
      if (nextLf !== -1 && nextLf < at) nextLf = chunk.indexOf(LF, at);
      if (nextLf !== -1 && (nextQuote === -1 || nextLf < nextQuote)) {
        written += chunk.copy(out, written, from, nextLf);
        out[written++] = CR;
        out[written++] = LF;
        from = at = nextLf + 1;
        nextLf = chunk.indexOf(LF, at);
      } else if (nextQuote !== -1) {
        this.quoted = true;
        at = nextQuote + 1;
        nextQuote = chunk.indexOf(QUOTE, at);
      } else {
        break;
      }
    }
    written += chunk.copy(out, written, from);
    done(null, out.subarray(0, written));
  }
}
