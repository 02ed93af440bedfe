/**
 * The rows of one list resource, built from its declaration: a page and its count, and for
 * `limit=all` every matching row from one snapshot. Pages and counts are single statements on
 * the pool; an export counts and reads inside one REPEATABLE READ transaction (snapshot.ts), by a
 * cursor (snapshot-cursor.ts) or, for CSV where the server can, a COPY (snapshot-copy.ts). Counts
 * and pages run on `pg` or through Prisma's raw queries (list-reads.ts); COPY and cursors need a
 * connection of their own, which Prisma does not give, so they stay on `pg`. With streaming replicas, every
 * read goes to one of them (db/replicas.ts), falling back to the primary. With a data version, a page's
 * count is kept per filter and version (count-cache.ts), so later pages of one set are not recounted,
 * and with summaries too, their totals (bucket-totals.ts), so a range's interior is not summed again.
 */
import type pg from 'pg';
import type { CompiledResource, Condition, OrderTerm } from '../resource/declaration.js';
import type { ExportSource, Row } from '../resource/rows.js';
import { raw, sql as sqlTemplate } from '@prisma/client-runtime-utils';
import { compileListQuery, type ListSummaryOptions, type Sql } from '../resource/list-sql.js';
import { compileCsvCopy } from '../resource/csv-sql.js';
import { copySupported } from '../db/copy-support.js';
import { sqlIdentifier } from '../lib/sql-identifier.js';
import type { ReplicaSet } from '../db/replicas.js';
import { openSnapshot } from './snapshot.js';
import { readRows } from './snapshot-cursor.js';
import { copyRows } from './snapshot-copy.js';
import { CsvRowEndings } from './csv-row-endings.js';
import { createPgReads, type ListReads } from './list-reads.js';
import { COUNT_CACHE_ENTRIES, createCountCache } from './count-cache.js';
import { pageReadStatement, type PageReadResult } from './page-read.js';
import { createBucketTotalsCache } from './bucket-totals.js';

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

/** A page as `readPage` reads it: which page, and who asks. */
export interface PageRead {
  conditions: readonly Condition[];
  ordering: readonly OrderTerm[];
  limit: number;
  /** The page asked for (1-based) or `last`; null reads no rows (the request is a 404 whatever the count). */
  page: bigint | 'last' | null;
  /**
   * A one-row statement with a boolean `admitted` (the token's user: auth/token-store.ts userByKey),
   * read first: nothing is counted or read unless it admits. Its row comes back as `gate`.
   */
  gate?: Sql | undefined;
}

type PageAt = { statement: Sql; offset: number };

export interface ListRepository {
  /**
   * The page, its count, the data version and the gate's row, in one statement where it can
   * (page-read.ts): one round trip for a page. `page=last` needs the count first, and with replicas
   * the gate runs on the primary first (a revoked token is refused at once, not after the replica's lag).
   */
  readPage(read: PageRead): Promise<PageReadResult>;
  /**
   * The data version: changes whenever a write to the rows commits, equal means the same rows.
   * Null when the resource has no `versionTable`.
   */
  version(): Promise<string | null>;
  /**
   * The exact count. With a `versionTable`, counts are cached per (conditions, version): a count
   * already taken at `options.version` (the version this request read) costs no query; otherwise
   * the count is read with the version in one statement, and cached under that version.
   */
  count(conditions: readonly Condition[], options?: CountOptions): Promise<number>;
  findPage(query: PageQuery): Promise<readonly Row[]>;
  /** Opens the snapshot and counts; aborting `signal` (the client went away) ends it at once. */
  openExport(conditions: readonly Condition[], ordering: readonly OrderTerm[], options: { signal: AbortSignal }): Promise<ExportRows>;
}

export interface CountOptions {
  /** The data version the caller read for this request (`version()`), if it did. */
  version?: string | null;
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
  /** Most counts cached (count-cache.ts; only with a versionTable); 0 = none. */
  countCacheEntries?: number;
  /**
   * Tables of row counts per block of ids and per day, kept by triggers: range counts and deep
   * pages sum whole buckets instead of walking every row (resource/summary-sql.ts).
   */
  summaries?: ListSummaryOptions;
}

/** Where a list reads: the primary's pool, the streaming replicas that take reads off it, and what runs a count or a page. */
export interface ReadSource {
  pool: pg.Pool;
  replicas?: ReplicaSet | null;
  /** The client running counts and pages on a pool (list-reads.ts; DB_READ_CLIENT); `pg` when unset. */
  readsOn?: (pool: pg.Pool) => ListReads;
}

export function createListRepository(
  { pool, replicas, readsOn = createPgReads }: ReadSource,
  resource: CompiledResource,
  { unfilteredCountTable, versionTable, countCacheEntries = COUNT_CACHE_ENTRIES, summaries }: ListRepositoryOptions = {},
): ListRepository {
  // Quoted into SQL below, as the declaration's own names are.
  if (unfilteredCountTable !== undefined) sqlIdentifier('unfilteredCountTable', unfilteredCountTable);
  if (versionTable !== undefined) sqlIdentifier('versionTable', versionTable);
  const sql = compileListQuery(resource, { summaries });
  const csv = { guarded: compileCsvCopy(resource, { formulaGuard: true }), plain: compileCsvCopy(resource, { formulaGuard: false }) };
  const unfilteredCount: Sql | null = unfilteredCountTable ? raw(`SELECT n FROM "${unfilteredCountTable}"`) : null;
  const countQuery = (conditions: readonly Condition[]): Sql =>
    conditions.length === 0 && unfilteredCount ? unfilteredCount : sql.count(conditions);

  // Asked once; a failed check (database down) is asked again next time.
  let canCopy: Promise<boolean> | null = null;
  const copyAvailable = () =>
    (canCopy ??= copySupported(pool).catch((error: unknown) => {
      canCopy = null;
      throw error;
    }));

  // On the next usable replica, the one after it if that fails, and last on the primary (db/replicas.ts).
  const onReadPool = <T>(work: (readPool: pg.Pool) => Promise<T>): Promise<T> => (replicas ? replicas.read(pool, work) : work(pool));
  // One statement, so the slots are summed in one snapshot (no slot rows at all reads as 0).
  const versionSum = versionTable ? raw(`SELECT coalesce(sum(n), 0)::text AS v FROM "${versionTable}"`) : null;
  const counts = versionTable && countCacheEntries > 0 ? createCountCache(countCacheEntries) : null;
  // The summaries' totals, which the version tells current (bucket-totals.ts): only with both.
  const totals = versionSum && summaries
    ? createBucketTotalsCache({
        statements: sql.totalsStatements(versionSum),
        read: (statement) => onReadPool(async (readPool) => (await readPool.query<{ v: string; t: unknown }>(statement)).rows[0]),
      })
    : null;
  const known = versionSum && totals ? { version: versionSum, of: totals.of } : undefined;

  /** The rows of `page` at `offset`, or null where none can be read: past any count, or no page asked for. */
  const pageAt = (read: PageRead, offset: number): PageAt | null =>
    Number.isSafeInteger(offset) && offset >= 0 ? { statement: sql.page(read.conditions, read.ordering, offset, read.limit, known), offset } : null;

  /** One page-read statement; a count it took is kept under the version it read. */
  async function readOn(readPool: pg.Pool, read: PageRead, gate: Sql | null, page: PageAt | null): Promise<PageReadResult> {
    // Counts are cached under the statement without totals: the same filter, whatever totals it ran with.
    const statement = countQuery(read.conditions);
    const cached = counts?.latest(statement);
    const counting = read.conditions.length > 0 && known ? sql.count(read.conditions, known) : statement;
    const result = await readsOn(readPool).pageRead(pageReadStatement({ gate, version: versionSum, count: counting, known: cached, page }));
    if (counts && result.version !== null && result.count !== null && result.version !== cached?.version) counts.set(statement, result.version, result.count);
    totals?.seen(result.version);
    return result;
  }

  /** A page read with replicas (the gate first, on the primary) or of `page=last` (the count first). */
  async function readPageInSteps(read: PageRead, requested: number | 'last' | null): Promise<PageReadResult> {
    let gateRow: Record<string, unknown> | null | undefined;
    if (read.gate && replicas) {
      const { rows } = await pool.query<{ admitted: boolean } & Record<string, unknown>>(read.gate);
      gateRow = rows[0] ?? null;
      if (!gateRow?.admitted) return { gate: gateRow, version: null, count: null, rows: [] };
    }
    const gate = gateRow === undefined ? (read.gate ?? null) : null;
    const result = await onReadPool(async (readPool) => {
      if (requested !== 'last') return readOn(readPool, read, gate, requested === null ? null : pageAt(read, requested));
      // The last page's offset follows from the count: read that first, then the page, on the same server.
      const counted = await readOn(readPool, read, gate, null);
      if (counted.count === null || counted.count === 0) return counted;
      const offset = (Math.ceil(counted.count / read.limit) - 1) * read.limit;
      // As DRF's count and page are, two statements: the page is the last one of the count returned.
      const last = await readOn(readPool, read, null, pageAt(read, offset));
      return { ...counted, rows: last.rows };
    });
    return gateRow === undefined ? result : { ...result, gate: gateRow };
  }

  return {
    readPage(read) {
      const requested = read.page === null ? null : read.page === 'last' ? 'last' : Number(read.page - 1n) * read.limit;
      if (replicas || requested === 'last') return readPageInSteps(read, requested);
      // The usual page: one statement on the primary, with no layers of promises around it (and a
      // statement that cannot be built fails the promise, as it would inside an async function).
      try {
        return readOn(pool, read, read.gate ?? null, requested === null ? null : pageAt(read, requested));
      } catch (error) {
        return Promise.reject(error);
      }
    },

    async version() {
      if (!versionSum) return null;
      // Where the rows are read, so that an ETag names data a reader could have been given (docs/scaling.md).
      const { rows } = await onReadPool((readPool) => readPool.query<{ v: string }>(versionSum));
      return rows[0]?.v ?? '0';
    },

    async count(conditions, options = {}) {
      const statement = countQuery(conditions);
      if (!counts || !versionSum) return onReadPool((readPool) => readsOn(readPool).count(statement));
      if (options.version != null) {
        const cached = counts.get(statement, options.version);
        if (cached !== undefined) return cached;
      }
      // The version and the count in one statement, so one snapshot on one server: what the count is
      // cached under is exactly the writes it saw, wherever the replica set sent it.
      const counted = await onReadPool((readPool) => readsOn(readPool).versionedCount(sqlTemplate`SELECT (${versionSum}) AS v, (${statement}) AS n`));
      counts.set(statement, counted.version, counted.count);
      return counted.count;
    },

    findPage({ conditions, ordering, offset, limit }) {
      return onReadPool((readPool) => readsOn(readPool).page(sql.page(conditions, ordering, offset, limit)));
    },

    async openExport(conditions, ordering, { signal }) {
      // Asked before the snapshot holds a connection: the embedded database has only one.
      const copies = await copyAvailable();
      // The whole export then reads from the one server, and the one snapshot, it opened on.
      const snapshot = await onReadPool((readPool) => openSnapshot(readPool, countQuery(conditions), { signal }));
      return {
        count: snapshot.count,
        close: () => snapshot.close(),
        rows: () => readRows<Row>(snapshot, sql.all(conditions, ordering)),
        async csvLines({ formulaGuard, lineEnding = 'crlf' }) {
          if (!copies) return null;
          const statement = (formulaGuard ? csv.guarded : csv.plain).copy(conditions, ordering);
          // The client-side query timeout, which a COPY lifts, bounds the waits for its next bytes instead.
          return copyRows(snapshot, statement, {
            transform: lineEnding === 'crlf' ? () => new CsvRowEndings() : undefined,
            stallTimeoutMs: pool.options.query_timeout ?? 0,
          });
        },
      };
    },
  };
}
