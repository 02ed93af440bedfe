/**
 * Compares a resource declaration with the migrated table it reads: what OPTIONS promises
 * (max_length, nullability, min_value/max_value) and how renderers write a cell must match what
 * each column holds. One line per disagreement.
 */
import type pg from 'pg';
import type { CompiledField, ValueType } from '../../../src/resource/declaration.js';

export interface ColumnFacts { type: string; maxLength: number | null; nullable: boolean }

/** information_schema's facts on each column of a table in the current schema. */
export async function describeColumns(pool: pg.Pool, table: string): Promise<Map<string, ColumnFacts>> {
  const { rows } = await pool.query<{ column_name: string; data_type: string; character_maximum_length: number | null; is_nullable: 'YES' | 'NO' }>(
    `SELECT column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1`,
    [table],
  );
  return new Map(rows.map((r) => [r.column_name, { type: r.data_type, maxLength: r.character_maximum_length, nullable: r.is_nullable === 'YES' }]));
}

// PostgreSQL's integer types and their ranges (bigint's exceed a double, hence BigInt).
const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

const COLUMN_TYPES: Record<ValueType, readonly string[]> = {
  integer: Object.keys(INTEGER_RANGES),
  datetime: ['timestamp with time zone'],
  text: ['character varying', 'character', 'text'],
};

/** One line per way a declared field disagrees with its column; empty when they agree. */
export function declarationDrift(table: string, fields: readonly CompiledField[], columns: Map<string, ColumnFacts>): string[] {
  const lines: string[] = [];
  for (const field of fields) {
    const column = columns.get(field.column);
    const where = `column ${table}.${field.column}`;
    if (!column) {
      lines.push(`${field.name}: no ${where}`);
      continue;
    }
    if (!COLUMN_TYPES[field.valueType].includes(column.type)) {
      lines.push(`${field.name}: ${field.valueType} cells, ${where} is ${column.type}`);
    }
    if ((field.maxLength ?? null) !== column.maxLength) {
      lines.push(`${field.name}: maxLength ${field.maxLength ?? 'none'}, ${where} holds ${column.maxLength ?? 'any length'}`);
    }
    if (field.nullable !== column.nullable) {
      lines.push(`${field.name}: nullable ${field.nullable}, ${where} is ${column.nullable ? 'NULL' : 'NOT NULL'}`);
    }
    lines.push(...boundsDrift(field, where, column.type));
  }
  return lines;
}

/** A declared minValue/maxValue must be a whole number the column's integer type can store. */
function boundsDrift(field: CompiledField, where: string, type: string): string[] {
  const bounds = ([['minValue', field.minValue], ['maxValue', field.maxValue]] as const).filter(([, value]) => value !== undefined);
  if (!bounds.length) return [];
  const range = INTEGER_RANGES[type];
  if (!range) return [`${field.name}: integer bounds on ${where}, which is ${type}`];
  return bounds
    .filter(([, value]) => !Number.isInteger(value) || BigInt(value!) < range[0] || BigInt(value!) > range[1])
    .map(([bound, value]) => `${field.name}: ${bound} ${value} does not fit ${where} ${type} (${range[0]} to ${range[1]})`);
}
