/**
 * What a parsed query is made of, shared by the declaration that compiles filters and the filter
 * parser that reads them (kept apart so neither imports the other): the compiled filters, and the
 * conditions and ordering the repository turns into parameterised SQL.
 */

export type Lookup = 'exact' | 'gt' | 'gte' | 'lt' | 'lte';
export type FilterValueKind = 'number' | 'text' | 'datetime';
export type SqlType = 'bigint' | 'text' | 'timestamptz';

/** One query parameter of a value filter, e.g. `id__gt`. */
export interface CompiledLookup { readonly param: string; readonly lookup: Lookup; readonly op: Condition['op'] }

export interface CompiledValueFilter {
  readonly kind: 'value';
  readonly fieldName: string;
  readonly column: string;
  readonly valueKind: FilterValueKind;
  readonly sqlType: SqlType;
  readonly label: string;
  readonly type: string;
  readonly listing: 'grouped' | 'per-lookup';
  readonly lookups: readonly CompiledLookup[];
}

export interface CompiledOrderingFilter {
  readonly kind: 'ordering';
  readonly param: string;
  readonly label: string;
  readonly type: 'dropdown';
  /** `[value, label]` pairs, ascending and descending interleaved as django-filter builds them. */
  readonly choices: readonly (readonly [string, string])[];
  readonly terms: ReadonlyMap<string, OrderTerm>;
}

export type CompiledFilter = CompiledValueFilter | CompiledOrderingFilter;

// ---- What the repository turns into parameterised SQL ----

export interface Condition {
  column: string;
  op: '=' | '>' | '>=' | '<' | '<=';
  /** Canonical text for `$n::sqlType`: a decimal integer, the stripped text, or a timestamptz. */
  value: string;
  sqlType: SqlType;
}

export interface OrderTerm { column: string; descending: boolean }

/**
 * A query the filterset rejects: every failing parameter with django-filter's messages, keys in
 * declaration order. The HTTP layer turns it into DRF's ValidationError (rest/filters.ts).
 */
export class InvalidQuery extends Error {
  constructor(readonly errors: Readonly<Record<string, string[]>>) {
    super(`Invalid query: ${Object.keys(errors).join(', ')}`);
    this.name = 'InvalidQuery';
  }
}

export interface ParsedQuery {
  conditions: Condition[];
  /** Never empty, and always includes the primary key, so the order is total. */
  ordering: OrderTerm[];
}
