/**
 * Customer rows for the list endpoint, as plain objects in the declaration's
 * shape (keys in output order, timestamps as DRF text, never Date). The
 * unfiltered count is read from `customer_count`, which triggers keep exact,
 * so page 1 of millions of customers costs no table scan. streamAll reads every
 * matching row from one snapshot (db/snapshot-cursor.ts) for `limit=all`.
 */
import type pg from 'pg';
import type { CompiledResource, Condition, OrderTerm } from '../rest/declaration.js';
import { compileListQuery } from '../db/list-query.js';
import { toDrfTimestamp } from '../lib/timestamp.js';
import { openSnapshotCursor, type RowBatches, type SnapshotCursorOptions } from '../db/snapshot-cursor.js';

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

  const countQuery = (conditions: readonly Condition[]) =>
    conditions.length === 0 ? { text: 'SELECT n FROM customer_count', values: [] } : sql.count(conditions);

  return {
    async count(conditions: readonly Condition[]): Promise<number> {
      const { rows } = await pool.query<{ n: string }>(countQuery(conditions));
      return Number(rows[0]?.n ?? 0);
    },

    async findPage({ conditions, ordering, offset, limit }: PageQuery): Promise<Row[]> {
      const { rows } = await pool.query<Row>(sql.page(conditions, ordering, offset, limit));
      return rows.map(toRow);
    },

    /** Every matching row, batch by batch, and their count, from one REPEATABLE READ snapshot. */
    streamAll(
      conditions: readonly Condition[],
      ordering: readonly OrderTerm[],
      options: SnapshotCursorOptions = {},
    ): Promise<RowBatches<Row>> {
      return openSnapshotCursor(pool, countQuery(conditions), sql.all(conditions, ordering), toRow, options);
    },
  };
}

export type CustomerRepository = ReturnType<typeof createCustomerRepository>;
