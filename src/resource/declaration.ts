/**
 * One declaration per resource, compiled once at start-up: the serializer's fields (DRF
 * `ModelSerializer`) and the filterset (django-filter `FilterSet` + `OrderingFilter`) as one
 * frozen value that every policy reads: `filters.ts` parses the query into SQL conditions,
 * `metadata.ts` builds OPTIONS, the renderers take column order and cell types, the
 * repository its `select`.
 */
import { createQueryParser } from './filters.js';
import { sqlIdentifier } from '../lib/sql-identifier.js';
import type { CompiledFilter, CompiledLookup, CompiledOrderingFilter, CompiledValueFilter, Condition, FilterValueKind, Lookup, OrderTerm, ParsedQuery, SqlType } from './query.js';

export { InvalidQuery } from './query.js';
export type { CompiledFilter, CompiledLookup, CompiledOrderingFilter, CompiledValueFilter, Condition, FilterValueKind, Lookup, OrderTerm, ParsedQuery, SqlType } from './query.js';

// ---- Fields (DRF serializer fields) ----

export type FieldKind = 'integer' | 'datetime' | 'email' | 'string' | 'pk';
/** How a renderer writes a cell: a JSON number, a timestamp string, or text. */
export type ValueType = 'integer' | 'datetime' | 'text';

/** DRF's `label_lookup` name for each kind, as `get_field_info` reports it in OPTIONS. */
const FIELD_KINDS = {
  integer: { type: 'integer', valueType: 'integer' },
  datetime: { type: 'datetime', valueType: 'datetime' },
  email: { type: 'email', valueType: 'text' },
  string: { type: 'string', valueType: 'text' },
  // PrimaryKeyRelatedField: rendered as the related row's id.
  pk: { type: 'pk field', valueType: 'integer' },
} as const satisfies Record<FieldKind, { type: string; valueType: ValueType }>;

interface BaseFieldOptions {
  /** Defaults as Django derives it: `capfirst(name.replace('_', ' '))`. */
  label?: string;
  /** Defaults to the field name. */
  column?: string;
  required?: boolean;
  readOnly?: boolean;
  nullable?: boolean;
  helpText?: string;
}
export interface IntegerFieldOptions extends BaseFieldOptions { minValue?: number; maxValue?: number }
export interface TextFieldOptions extends BaseFieldOptions { minLength?: number; maxLength?: number }
type FieldOptions = IntegerFieldOptions & TextFieldOptions;

export interface FieldSpec { readonly kind: FieldKind; readonly options: FieldOptions }

export const integer = (options: IntegerFieldOptions = {}): FieldSpec => ({ kind: 'integer', options });
export const datetime = (options: BaseFieldOptions = {}): FieldSpec => ({ kind: 'datetime', options });
export const email = (options: TextFieldOptions = {}): FieldSpec => ({ kind: 'email', options });
export const string = (options: TextFieldOptions = {}): FieldSpec => ({ kind: 'string', options });
export const pk = (options: BaseFieldOptions = {}): FieldSpec => ({ kind: 'pk', options });

export interface CompiledField {
  /** Output name: the JSON key, CSV/XLSX header and OPTIONS `actions.GET` key. */
  readonly name: string;
  readonly column: string;
  readonly kind: FieldKind;
  /** OPTIONS `type`. */
  readonly type: string;
  readonly valueType: ValueType;
  readonly label: string;
  readonly required: boolean;
  readonly readOnly: boolean;
  readonly nullable: boolean;
  readonly helpText?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minValue?: number;
  readonly maxValue?: number;
}

// ---- Filters (django-filter) ----


const LOOKUP_OPS = { exact: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
const SQL_TYPES = { number: 'bigint', text: 'text', datetime: 'timestamptz' } as const;

export interface ValueFilterOptions {
  /** Defaults to `['exact']`. Query names: `field` for exact, `field__lookup` otherwise. */
  lookups?: readonly Lookup[];
  /** Defaults to the column of the field named `fieldName`, else `fieldName` itself. */
  column?: string;
  /** Defaults as Akinon's metadata titles it: `Modified Date`, or `Id Gt` per lookup. */
  label?: string;
  /** OPTIONS `type`; Akinon's metadata says "string" unless told otherwise. */
  type?: string;
  /** One OPTIONS entry listing every lookup (`grouped`, the default) or one entry per lookup. */
  listing?: 'grouped' | 'per-lookup';
}

export interface ValueFilterSpec {
  readonly kind: 'value';
  readonly fieldName: string;
  readonly valueKind: FilterValueKind;
  readonly options: ValueFilterOptions;
}

export interface OrderingFilterOptions {
  /** Defaults to `sort`. */
  param?: string;
  /** Defaults to `Sort`. */
  label?: string;
  /** Field name → label, in choice order; each gives `name` and `-name` (django-filter's `fields`/`field_labels`). */
  fields: Readonly<Record<string, string>>;
}

export interface OrderingFilterSpec { readonly kind: 'ordering'; readonly options: OrderingFilterOptions }

export type FilterSpec = ValueFilterSpec | OrderingFilterSpec;

/** django-filter `NumberFilter` (a DecimalField, applied to an integer column). */
export const numberFilter = (fieldName: string, options: ValueFilterOptions = {}): ValueFilterSpec =>
  ({ kind: 'value', fieldName, valueKind: 'number', options });
/** django-filter `CharFilter`. */
export const charFilter = (fieldName: string, options: ValueFilterOptions = {}): ValueFilterSpec =>
  ({ kind: 'value', fieldName, valueKind: 'text', options });
/** django-filter `DateTimeFilter`. */
export const dateTimeFilter = (fieldName: string, options: ValueFilterOptions = {}): ValueFilterSpec =>
  ({ kind: 'value', fieldName, valueKind: 'datetime', options });
/** django-filter `OrderingFilter`: a comma-separated list of choices. */
export const orderingFilter = (options: OrderingFilterOptions): OrderingFilterSpec => ({ kind: 'ordering', options });

// ---- The resource ----

export interface ResourceSpec {
  /** OPTIONS `name`. */
  name: string;
  table: string;
  /** Field names, `-` for descending; used when no ordering is asked for. */
  defaultOrdering: readonly string[];
  /** Field whose column breaks ties in every ordering; defaults to `id`. */
  primaryKey?: string;
  /** In output order. */
  fields: Readonly<Record<string, FieldSpec>>;
  /** In declaration order: OPTIONS order and the key order of the 400 body. */
  filters: readonly FilterSpec[];
}

export interface CompiledResource {
  readonly name: string;
  readonly table: string;
  readonly fields: readonly CompiledField[];
  readonly filters: readonly CompiledFilter[];
  /** Every filter query parameter, in declaration order. */
  readonly filterParams: readonly string[];
  /** Columns in field order; `fields[i].column === select[i]`. */
  readonly select: readonly string[];
  readonly defaultOrdering: readonly OrderTerm[];
  /** Column of the primary key, the last tie-breaker of every ordering. */
  readonly primaryKey: string;
  /** @throws InvalidQuery with every failing filter, keys in declaration order. */
  parseQuery(query: ReadonlyMap<string, string>): ParsedQuery;
}


const capfirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
// Python's str.title() on the words of a snake_case name.
const titleCase = (s: string) => s.split(/[_\s]+/).filter(Boolean)
  .map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join(' ');

function compileField(name: string, spec: FieldSpec): CompiledField {
  const { label, column, required, readOnly, nullable, ...bounds } = spec.options;
  return {
    name: sqlIdentifier('Field', name),
    column: sqlIdentifier('Column', column ?? name),
    kind: spec.kind,
    ...FIELD_KINDS[spec.kind],
    label: label ?? capfirst(name.replaceAll('_', ' ')),
    required: required ?? false,
    readOnly: readOnly ?? false,
    nullable: nullable ?? false,
    ...bounds,
  };
}

function compileValueFilter(spec: ValueFilterSpec, fields: readonly CompiledField[]): CompiledValueFilter {
  const { fieldName, valueKind, options } = spec;
  const column = options.column ?? fields.find((f) => f.name === fieldName)?.column ?? fieldName;
  if (!fields.some((f) => f.column === column)) {
    throw new Error(`Filter "${fieldName}": column "${column}" is not a column of any declared field`);
  }
  const lookups = options.lookups ?? ['exact'];
  if (lookups.length === 0) throw new Error(`Filter "${fieldName}" has no lookups`);
  return {
    kind: 'value',
    fieldName: sqlIdentifier('Filter', fieldName),
    column,
    valueKind,
    sqlType: SQL_TYPES[valueKind],
    label: options.label ?? titleCase(fieldName),
    type: options.type ?? 'string',
    listing: options.listing ?? 'grouped',
    lookups: lookups.map((lookup) => ({
      param: lookup === 'exact' ? fieldName : `${fieldName}__${lookup}`,
      lookup,
      op: LOOKUP_OPS[lookup],
    })),
  };
}

function orderTerm(fields: readonly CompiledField[], value: string, context: string): OrderTerm {
  const descending = value.startsWith('-');
  const name = descending ? value.slice(1) : value;
  const field = fields.find((f) => f.name === name);
  if (!field) throw new Error(`${context}: "${name}" is not a declared field`);
  return { column: field.column, descending };
}

function compileOrderingFilter(spec: OrderingFilterSpec, fields: readonly CompiledField[]): CompiledOrderingFilter {
  const { param = 'sort', label = 'Sort' } = spec.options;
  const choices: (readonly [string, string])[] = [];
  const terms = new Map<string, OrderTerm>();
  for (const [name, fieldLabel] of Object.entries(spec.options.fields)) {
    for (const [value, choiceLabel] of [[name, fieldLabel], [`-${name}`, `${fieldLabel} (descending)`]] as const) {
      choices.push([value, choiceLabel]);
      terms.set(value, Object.freeze(orderTerm(fields, value, `Ordering filter "${param}"`)));
    }
  }
  return { kind: 'ordering', param: sqlIdentifier('Filter', param), label, type: 'dropdown', choices, terms };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Map)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Compiles a declaration once; throws at start-up on any inconsistency (unknown field, duplicate parameter…). */
export function defineResource(spec: ResourceSpec): CompiledResource {
  const fields = Object.entries(spec.fields).map(([name, field]) => compileField(name, field));
  const duplicate = (names: string[]) => names.find((n, i) => names.indexOf(n) !== i);
  const dupColumn = duplicate(fields.map((f) => f.column));
  if (dupColumn) throw new Error(`Column "${dupColumn}" is declared by two fields`);

  const filters = spec.filters.map((f) =>
    f.kind === 'ordering' ? compileOrderingFilter(f, fields) : compileValueFilter(f, fields));
  if (filters.filter((f) => f.kind === 'ordering').length > 1) throw new Error('Only one ordering filter is supported');
  const filterParams = filters.flatMap((f) => (f.kind === 'ordering' ? [f.param] : f.lookups.map((l) => l.param)));
  const dupParam = duplicate(filterParams);
  if (dupParam) throw new Error(`Query parameter "${dupParam}" is declared twice`);

  const primaryKey = orderTerm(fields, spec.primaryKey ?? 'id', 'primaryKey').column;
  const defaultOrdering = spec.defaultOrdering.map((v) => orderTerm(fields, v, 'defaultOrdering'));
  if (defaultOrdering.length === 0) throw new Error('defaultOrdering must not be empty');

  const parseQuery = createQueryParser(filters, defaultOrdering, primaryKey);
  return deepFreeze({
    name: spec.name,
    table: sqlIdentifier('Table', spec.table),
    fields,
    filters,
    filterParams,
    select: fields.map((f) => f.column),
    defaultOrdering,
    primaryKey,
    parseQuery,
  });
}
