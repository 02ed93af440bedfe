/**
 * CSV written by PostgreSQL itself, for `limit=all` exports: the same bytes as the CSV renderer
 * (rest/renderers/csv.ts) at COPY's speed, with no per-row work in Node beyond line endings.
 *
 * `COPY (SELECT <cells> …) TO STDOUT WITH (FORMAT csv)` quotes exactly as Python's
 * QUOTE_MINIMAL does (a cell holding the delimiter, `"`, CR or LF is quoted, `"` doubled) and
 * writes NULL as an empty cell. What is left is written in SQL from the declaration: DRF's
 * timestamp text, the formula guard (lib/formula-guard.ts, the same pattern in both engines),
 * and empty text as NULL (COPY quotes an empty string as `""` to tell it from NULL; Python
 * writes nothing). COPY ends rows with LF; repository/csv-row-endings.ts turns those into CRLF.
 *
 * COPY takes no bind parameters, so the filter values are set first as transaction-local
 * settings (`set_config(name, $1, true)`) and the query reads them back with current_setting():
 * values still never become SQL text.
 */
import { escapeLiteral } from 'pg';
import type { CompiledField, CompiledResource, Condition, OrderTerm } from './declaration.js';
import { drfTimestampSql } from '../lib/timestamp.js';
import { FORMULA_FIRST_CHARACTERS, FORMULA_PATTERN } from '../lib/formula-guard.js';
import { compileListQuery } from './list-sql.js';

export interface CopyStatement {
  /** Run first in the snapshot, e.g. to set what the COPY reads with current_setting(). */
  settings?: { text: string; values: readonly unknown[] };
  /** `COPY (…) TO STDOUT …`. */
  copy: string;
}

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
  // Spreading a string gives whole code points, none empty: codePointAt(0) is never undefined.
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
