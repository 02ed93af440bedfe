/**
 * The rows of one list resource, built from its declaration: a page and its count, and for
 * `limit=all` every matching row from one snapshot. Pages and counts are single statements on
 * the pool; an export counts and reads inside one REPEATABLE READ transaction (snapshot.ts), by a
 * cursor (snapshot-cursor.ts) or, for CSV where the server can, a COPY (snapshot-copy.ts). COPY
 * and cursors need a connection of their own, so they stay on `pg`.
 */
import type pg from 'pg';
import type { CompiledResource, Condition, OrderTerm } from '../resource/declaration.js';
import type { ExportSource, Row } from '../resource/rows.js';
import { compileListQuery, type SqlFragment } from '../resource/list-sql.js';
import { compileCsvCopy } from '../resource/csv-sql.js';
import { copySupported } from '../db/copy-support.js';
import { openSnapshot } from './snapshot.js';
import { readRows } from './snapshot-cursor.js';
import { copyRows } from './snapshot-copy.js';
import { CsvRowEndings } from './csv-row-endings.js';

export interface PageQuery {
  conditions: readonly Condition[];
  ordering: readonly OrderTerm[];
  offset: number;
  limit: number;
}

/** A `limit=all` export: its rows, counted first in the same snapshot. */
export interface ExportRows extends ExportSource {
  readonly count: number;
  /** Ends the snapshot and frees its connection; idempotent, and done anyway when the rows end. */
  close(): Promise<void>;
}

export interface ListRepository {
  /**
   * The data version: changes whenever a write to the rows commits, equal means the same rows.
   * Null when the resource has no `versionTable`.
   */
  version(): Promise<string | null>;
  count(conditions: readonly Condition[]): Promise<number>;
  findPage(query: PageQuery): Promise<readonly Row[]>;
  /** Opens the snapshot and counts; aborting `signal` (the client went away) ends it at once. */
  openExport(conditions: readonly Condition[], ordering: readonly OrderTerm[], options: { signal: AbortSignal }): Promise<ExportRows>;
}

export interface ListRepositoryOptions {
  /**
   * A table whose one row holds the exact number of rows in a column `n`, kept by triggers: the
   * unfiltered count reads it instead of counting (page 1 of millions of rows, no scan).
   */
  unfilteredCountTable?: string;
  /**
   * A table whose rows' column `n` sum to the data version, kept by triggers that bump it on
   * every write (customer_version in prisma/migrations): what ETags and count caches key on.
   */
  versionTable?: string;
}

// As the declaration's own names: it ends up quoted in SQL.
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export function createListRepository(
  pool: pg.Pool,
  resource: CompiledResource,
  { unfilteredCountTable, versionTable }: ListRepositoryOptions = {},
): ListRepository {
  if (unfilteredCountTable !== undefined && !IDENTIFIER.test(unfilteredCountTable)) {
    throw new Error(`unfilteredCountTable "${unfilteredCountTable}" must match ${IDENTIFIER}`);
  }
  if (versionTable !== undefined && !IDENTIFIER.test(versionTable)) {
    throw new Error(`versionTable "${versionTable}" must match ${IDENTIFIER}`);
  }
  const sql = compileListQuery(resource);
  const csv = { guarded: compileCsvCopy(resource, { formulaGuard: true }), plain: compileCsvCopy(resource, { formulaGuard: false }) };
  const unfilteredCount: SqlFragment | null = unfilteredCountTable
    ? { text: `SELECT n FROM "${unfilteredCountTable}"`, values: [] }
    : null;
  const countQuery = (conditions: readonly Condition[]): SqlFragment =>
    conditions.length === 0 && unfilteredCount ? unfilteredCount : sql.count(conditions);

  // Asked once; a failed check (database down) is asked again next time.
  let canCopy: Promise<boolean> | null = null;
  const copyAvailable = () =>
    (canCopy ??= copySupported(pool).catch((error: unknown) => {
      canCopy = null;
      throw error;
    }));

  // One statement, so the slots are summed in one snapshot.
  const versionQuery = versionTable ? `SELECT sum(n)::text AS v FROM "${versionTable}"` : null;

  return {
    async version() {
      if (!versionQuery) return null;
      const { rows } = await pool.query<{ v: string | null }>(versionQuery);
      return rows[0]?.v ?? '0';
    },

    async count(conditions) {
      const { rows } = await pool.query<{ n: string }>(countQuery(conditions));
      return Number(rows[0]?.n ?? 0);
    },

    async findPage({ conditions, ordering, offset, limit }) {
      const { rows } = await pool.query<Row>(sql.page(conditions, ordering, offset, limit));
      return rows;
    },

    async openExport(conditions, ordering, { signal }) {
      // Asked before the snapshot holds a connection: the embedded database has only one.
      const copies = await copyAvailable();
      const snapshot = await openSnapshot(pool, countQuery(conditions), { signal });
      return {
        count: snapshot.count,
        close: () => snapshot.close(),
        rows: () => readRows<Row>(snapshot, sql.all(conditions, ordering)),
        async csvLines({ formulaGuard }) {
          if (!copies) return null;
          const statement = (formulaGuard ? csv.guarded : csv.plain).copy(conditions, ordering);
          // The client-side query timeout, which a COPY lifts, bounds the waits for its next bytes instead.
          return copyRows(snapshot, statement, { transform: () => new CsvRowEndings(), stallTimeoutMs: pool.options.query_timeout ?? 0 });
        },
      };
    },
  };
}
