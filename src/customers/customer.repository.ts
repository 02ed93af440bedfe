/**
 * Customer rows for the list endpoint, as plain objects in the declaration's
 * shape (keys in output order, timestamps as DRF text written by PostgreSQL).
 * The unfiltered count is read from `customer_count`, which triggers keep
 * exact, so page 1 of millions of customers costs no table scan. For
 * `limit=all`, streamAll reads every matching row from one snapshot through a
 * cursor (repository/snapshot-cursor.ts), and copyAll lets PostgreSQL write them as CSV
 * (resource/csv-sql.ts) where the server can COPY.
 */
import type pg from 'pg';
import { raw } from '@prisma/client-runtime-utils';
import type { CompiledResource, Condition, OrderTerm } from '../resource/declaration.js';
import type { DatabaseRowFormat } from '../rest/renderers/index.js';
import { compileListQuery } from '../resource/list-sql.js';
import { compileCsvCopy } from '../resource/csv-sql.js';
import { CsvRowEndings } from '../repository/csv-row-endings.js';
import { copySupported } from '../db/copy-support.js';
import { openSnapshotCursor, type RowBatches, type SnapshotReadOptions } from '../repository/snapshot-cursor.js';
import { openSnapshotCopy, type CopiedBytes } from '../repository/snapshot-copy.js';
import { createPgReads, type ListReads } from '../repository/list-reads.js';

export type Row = Record<string, unknown>;

export interface PageQuery {
  conditions: readonly Condition[];
  ordering: readonly OrderTerm[];
  offset: number;
  limit: number;
}

/** `reads` runs count and findPage (repository/list-reads.ts); cursors and COPY run on `pool`'s `pg` (Prisma has neither). */
export function createCustomerRepository(pool: pg.Pool, resource: CompiledResource, reads: ListReads = createPgReads(pool)) {
  const sql = compileListQuery(resource);
  const csv = { guarded: compileCsvCopy(resource, { formulaGuard: true }), plain: compileCsvCopy(resource, { formulaGuard: false }) };
  // Asked once; a failed check (database down) is asked again next time.
  let canCopy: Promise<boolean> | null = null;
  const copyAvailable = () =>
    (canCopy ??= copySupported(pool).catch((error: unknown) => {
      canCopy = null;
      throw error;
    }));

  const countQuery = (conditions: readonly Condition[]) =>
    conditions.length === 0 ? raw('SELECT n FROM customer_count') : sql.count(conditions);

  return {
    count(conditions: readonly Condition[]): Promise<number> {
      return reads.count(countQuery(conditions));
    },

    findPage({ conditions, ordering, offset, limit }: PageQuery): Promise<Row[]> {
      return reads.page(sql.page(conditions, ordering, offset, limit));
    },

    /** Every matching row, batch by batch, and their count, from one REPEATABLE READ snapshot. */
    streamAll(
      conditions: readonly Condition[],
      ordering: readonly OrderTerm[],
      options: SnapshotReadOptions = {},
    ): Promise<RowBatches<Row>> {
      return openSnapshotCursor<Row>(pool, countQuery(conditions), sql.all(conditions, ordering), options);
    },

    /** Every matching row as CSV lines PostgreSQL writes, and their count; null where it cannot COPY. */
    async copyAll(
      conditions: readonly Condition[],
      ordering: readonly OrderTerm[],
      format: DatabaseRowFormat,
      { signal }: { signal?: AbortSignal } = {},
    ): Promise<CopiedBytes | null> {
      if (format.kind !== 'csv' || !(await copyAvailable())) return null;
      const statement = (format.formulaGuard ? csv.guarded : csv.plain).copy(conditions, ordering);
      return openSnapshotCopy(pool, countQuery(conditions), statement, { signal, transform: () => new CsvRowEndings() });
    },
  };
}

export type CustomerRepository = ReturnType<typeof createCustomerRepository>;
