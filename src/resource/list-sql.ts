/**
 * The SQL of a list endpoint, compiled once from its declaration: the select
 * list (timestamps as DRF's text, columns aliased to output names, in output
 * order) and builders for WHERE and ORDER BY from parsed filters. Identifiers
 * come only from the declaration, which admits `[a-z_][a-z0-9_]*` names, and
 * enter as `raw`; every value is a bind parameter (or, for COPY, which takes
 * none, a setting read back with current_setting(): see `where`).
 *
 * Statements are Prisma's `Sql` values (sql-template-tag, which the generated
 * client re-exports as `Prisma.sql`/`raw`/`join`/`empty`): `$queryRaw` takes
 * one as it is, and its `.text` (`$n` placeholders) and `.values` make it a
 * `pg` query config too, so the same value serves both clients. They come
 * from @prisma/client-runtime-utils, where the generated client gets them,
 * so that building SQL does not load the client itself.
 */
import { empty, join, raw, sql, type Sql } from '@prisma/client-runtime-utils';
import type { CompiledResource, Condition, OrderTerm } from './declaration.js';
import { drfTimestampSql } from '../lib/timestamp.js';
import { limitLiteral } from './limit-sql.js';
import { compileSummaries, type KnownTotals, type ListSummaryOptions } from './summary-sql.js';

export type { Sql };
export type { KnownTotals, ListSummaryOptions };

export interface ListQueryOptions {
  /** Trigger-kept row counts per bucket of a column, for range counts and deep pages (summary-sql.ts). */
  summaries?: ListSummaryOptions;
}

/** Statement text and its values for a client that binds them itself (COPY's settings). */
export interface SqlText {
  text: string;
  values: string[];
}

const quote = (identifier: string) => `"${identifier}"`;

export function compileListQuery(resource: CompiledResource, options: ListQueryOptions = {}) {
  const table = quote(resource.table);
  const selectList = resource.fields
    .map((f) => `${f.valueType === 'datetime' ? drfTimestampSql(quote(f.column)) : quote(f.column)} AS ${quote(f.name)}`)
    .join(', ');
  const from = raw(`SELECT ${selectList} FROM ${table}`);
  const pk = raw(`${table}.${quote(resource.primaryKey)}`);

  const condition = (c: Condition, value: Sql | string) => sql`${raw(`${quote(c.column)} ${c.op} `)}${value}${raw(`::${c.sqlType}`)}`;

  /**
   * ` WHERE a > $1::bigint AND ...` (empty when unfiltered), every value a parameter. With
   * `placeholder(i)`, the i-th value's reference (0-based) is written in its place instead, and the
   * values are returned beside the text for the caller to deliver (COPY takes no parameters).
   */
  function where(conditions: readonly Condition[]): Sql;
  function where(conditions: readonly Condition[], placeholder: (index: number) => string): SqlText;
  function where(conditions: readonly Condition[], placeholder?: (index: number) => string): Sql | SqlText {
    const terms = conditions.map((c, i) => condition(c, placeholder ? raw(placeholder(i)) : c.value));
    const clause = terms.length === 0 ? empty : sql` WHERE ${join(terms, ' AND ')}`;
    return placeholder ? { text: clause.text, values: conditions.map((c) => c.value) } : clause;
  }

  function orderBy(ordering: readonly OrderTerm[]): string {
    // Qualified: a bare name in ORDER BY means the output column first, and `modified_date` there is
    // the to_char() text, which no index orders (a sort of every match instead of an index scan).
    return ` ORDER BY ${ordering.map((t) => `${table}.${quote(t.column)}${t.descending ? ' DESC' : ''}`).join(', ')}`;
  }

  /**
   * One page: filtered, ordered, `LIMIT`/`OFFSET` as parameters. The offset is skipped in a
   * subquery that needs only primary keys (an index-only scan on the sort's index), and only
   * the page's rows are then read and formatted: a deep page no longer walks the heap.
   */
  const summaries = compileSummaries(resource.primaryKey, { table, pk: pk.text, condition: (c) => condition(c, c.value), orderBy, from }, options.summaries);

  function page(conditions: readonly Condition[], ordering: readonly OrderTerm[], offset: number, limit: number, known?: KnownTotals): Sql {
    const deep = summaries.page(conditions, ordering, offset, limit, known);
    if (deep) return deep;
    const order = raw(orderBy(ordering));
    // The offset as text, as pg has always sent it (PostgreSQL types the untyped parameter from
    // OFFSET); none on a first page, so that its statement's generic plan is as good as a custom one.
    const skip = offset === 0 ? empty : sql` OFFSET ${String(offset)}`;
    return sql`${from} WHERE ${pk} IN (SELECT ${pk} FROM ${raw(table)}${where(conditions)}${order}${limitLiteral(limit)}${skip})${order}`;
  }

  function all(conditions: readonly Condition[], ordering: readonly OrderTerm[]): Sql {
    return sql`${from}${where(conditions)}${raw(orderBy(ordering))}`;
  }

  /** The exact count; `known` totals may stand in for summing a summary (summary-sql.ts). */
  function count(conditions: readonly Condition[], known?: KnownTotals): Sql {
    const summed = summaries.count(conditions, known);
    if (summed) return summed;
    return sql`SELECT count(*) AS n FROM ${raw(table)}${where(conditions)}`;
  }

  return { table, selectList, where, orderBy, page, all, count, totalsStatements: summaries.totalsStatements };
}

export type ListQuery = ReturnType<typeof compileListQuery>;
