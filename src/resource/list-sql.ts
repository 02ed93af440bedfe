/**
 * The SQL of a list endpoint, compiled once from its declaration: the select
 * list (timestamps as DRF's text, columns aliased to output names, in output
 * order) and builders for WHERE and ORDER BY from parsed filters. Identifiers
 * come only from the declaration, which admits `[a-z_][a-z0-9_]*` names; every
 * value is a bind parameter (or, for COPY, which takes none, a setting read
 * back with current_setting(): see `where`).
 */
import type { CompiledResource, Condition, OrderTerm } from './declaration.js';
import { drfTimestampSql } from '../lib/timestamp.js';

export interface SqlFragment {
  text: string;
  values: string[];
}

const quote = (identifier: string) => `"${identifier}"`;

export function compileListQuery(resource: CompiledResource) {
  const table = quote(resource.table);
  const selectList = resource.fields
    .map((f) => `${f.valueType === 'datetime' ? drfTimestampSql(quote(f.column)) : quote(f.column)} AS ${quote(f.name)}`)
    .join(', ');

  /**
   * ` WHERE a > $1::bigint AND ...` (empty when unfiltered). `placeholder(i)` writes the i-th
   * value's reference (0-based): `$i+1` by default.
   */
  function where(conditions: readonly Condition[], placeholder: (index: number) => string = (i) => `$${i + 1}`): SqlFragment {
    if (conditions.length === 0) return { text: '', values: [] };
    const text = conditions
      .map((c, i) => `${quote(c.column)} ${c.op} ${placeholder(i)}::${c.sqlType}`)
      .join(' AND ');
    return { text: ` WHERE ${text}`, values: conditions.map((c) => c.value) };
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
  function page(conditions: readonly Condition[], ordering: readonly OrderTerm[], offset: number, limit: number): SqlFragment {
    const w = where(conditions);
    const n = w.values.length;
    const pk = `${table}.${quote(resource.primaryKey)}`;
    const order = orderBy(ordering);
    return {
      text:
        `SELECT ${selectList} FROM ${table} WHERE ${pk} IN ` +
        `(SELECT ${pk} FROM ${table}${w.text}${order} LIMIT $${n + 1} OFFSET $${n + 2})${order}`,
      values: [...w.values, String(limit), String(offset)],
    };
  }

  function all(conditions: readonly Condition[], ordering: readonly OrderTerm[]): SqlFragment {
    const w = where(conditions);
    return { text: `SELECT ${selectList} FROM ${table}${w.text}${orderBy(ordering)}`, values: w.values };
  }

  function count(conditions: readonly Condition[]): SqlFragment {
    const w = where(conditions);
    return { text: `SELECT count(*) AS n FROM ${table}${w.text}`, values: w.values };
  }

  return { table, selectList, where, orderBy, page, all, count };
}

export type ListQuery = ReturnType<typeof compileListQuery>;
