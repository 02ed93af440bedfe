/**
 * Customer rows for the list endpoint, as plain objects in the declaration's
 * shape (keys in output order, timestamps as DRF text, never Date). The
 * unfiltered count is read from `customer_count`, which triggers keep exact,
 * so page 1 of millions of customers costs no table scan.
 */
import type pg from 'pg';
import type { CompiledResource, Condition, OrderTerm } from '../rest/declaration.js';
import { compileListQuery } from '../db/list-query.js';
import { toDrfTimestamp } from '../lib/timestamp.js';

export type Row = Record<string, unknown>;

export interface PageQuery {
  conditions: readonly Condition[];
  ordering: readonly OrderTerm[];
  offset: number;
  limit: number;
}

export function createCustomerRepository(pool: pg.Pool, resource: CompiledResource) {
  const sql = compileListQuery(resource);
  const toRow = (raw: Row): Row => {
    for (const name of sql.datetimeNames) {
      const value = raw[name];
      if (typeof value === 'string') raw[name] = toDrfTimestamp(value);
    }
    return raw;
  };

  return {
    async count(conditions: readonly Condition[]): Promise<number> {
      const query = conditions.length === 0 ? { text: 'SELECT n FROM customer_count', values: [] } : sql.count(conditions);
      const { rows } = await pool.query<{ n: string }>(query);
      return Number(rows[0]?.n ?? 0);
    },

    async findPage({ conditions, ordering, offset, limit }: PageQuery): Promise<Row[]> {
      const { rows } = await pool.query<Row>(sql.page(conditions, ordering, offset, limit));
      return rows.map(toRow);
    },
  };
}

export type CustomerRepository = ReturnType<typeof createCustomerRepository>;
