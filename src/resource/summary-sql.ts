/**
 * Counts and deep pages over a range of one ordered column without walking every row: tables kept
 * by triggers hold the number of rows per bucket of that column (a block of ids, a UTC day), so a
 * range count sums the whole buckets inside the range from the summary and counts only its two edge
 * buckets in the index, and a page at offset N finds the bucket holding row N by a running sum and
 * skips only the rows before it within that bucket. The statements are single SELECTs that read the
 * summary and the table in one snapshot, so they give exactly what COUNT(*) and OFFSET give.
 *
 * A summary table has columns `bucket` (the first value of the bucket, the column's type), `slot`
 * and `n`: a bucket's count is sum(n) over its slots (the triggers stripe writers over slots). The
 * buckets are computed here exactly as the triggers compute them (prisma/migrations/…_customer_summaries).
 */
import { empty, join, raw, sql, type Sql } from '@prisma/client-runtime-utils';
import type { Condition, OrderTerm } from './query.js';
import { sqlIdentifier } from '../lib/sql-identifier.js';

export interface ListSummaryOptions {
  /** Rows per block of `size` consecutive values of an integer column (the primary key by default): bucket = floor(v / size) * size. */
  idBlocks?: { table: string; column?: string; size: number };
  /** Rows per UTC day of a timestamptz column: bucket = date_trunc('day', v, 'UTC'). */
  dayCounts?: { table: string; column: string };
  /**
   * Pages before this offset use the plain statement: skipping a few thousand index entries is
   * cheaper than summing the summary. Default DEEP_PAGE_OFFSET.
   */
  deepPageOffset?: number;
}

export const DEEP_PAGE_OFFSET = 10_000;

/** Beyond this, a bucket's bounds could overflow bigint: such ranges take the plain statement. */
const SAFE_INTEGER_BOUND = 2n ** 62n;

interface Bucketing {
  summary: string;
  column: string;
  sqlType: Condition['sqlType'];
  /** The first value of the bucket holding `value`. */
  start(value: Sql): Sql;
  /** The first value of the bucket after the one starting at `bucket`. */
  next(bucket: Sql): Sql;
  accepts(value: string): boolean;
}

interface Range {
  lower?: Condition;
  upper?: Condition;
}

const LOWER_OPS: readonly Condition['op'][] = ['>', '>='];
const UPPER_OPS: readonly Condition['op'][] = ['<', '<='];

export interface SummaryContext {
  /** Quoted table name. */
  table: string;
  /** Qualified, quoted primary key. */
  pk: string;
  /** `column op $n::type`, as the plain statements write it. */
  condition(c: Condition): Sql;
  orderBy(ordering: readonly OrderTerm[]): string;
  /** `SELECT <select list> FROM <table>`. */
  from: Sql;
}

export function compileSummaries(primaryKey: string, context: SummaryContext, options: ListSummaryOptions = {}) {
  const { table, pk, condition, orderBy, from } = context;
  const deepPageOffset = options.deepPageOffset ?? DEEP_PAGE_OFFSET;
  const bucketings: Bucketing[] = [];
  if (options.idBlocks) {
    const { size } = options.idBlocks;
    if (!Number.isSafeInteger(size) || size < 1) throw new Error(`idBlocks.size must be a positive integer, not ${size}`);
    const width = raw(String(size));
    bucketings.push({
      summary: sqlIdentifier('idBlocks.table', options.idBlocks.table),
      column: sqlIdentifier('idBlocks.column', options.idBlocks.column ?? primaryKey),
      sqlType: 'bigint',
      // Floor division, as the trigger's: a negative value's block starts below it.
      start: (v) => sql`(${v} - ((${v} % ${width}) + ${width}) % ${width})`,
      next: (b) => sql`(${b} + ${width})`,
      accepts: (value) => {
        const n = BigInt(value);
        return n < SAFE_INTEGER_BOUND && n > -SAFE_INTEGER_BOUND;
      },
    });
  }
  if (options.dayCounts) {
    bucketings.push({
      summary: sqlIdentifier('dayCounts.table', options.dayCounts.table),
      column: sqlIdentifier('dayCounts.column', options.dayCounts.column),
      sqlType: 'timestamptz',
      start: (v) => sql`date_trunc('day', ${v}, 'UTC')`,
      next: (b) => sql`(${b} + interval '1 day')`,
      // Django's datetimes stop at year 9999; a day more stays within timestamptz.
      accepts: () => true,
    });
  }

  /** The bounds when every condition is a bound on the bucketed column (none: the whole table); else null. */
  function rangeOf(conditions: readonly Condition[], b: Bucketing): Range | null {
    const range: Range = {};
    for (const c of conditions) {
      if (c.column !== b.column || c.sqlType !== b.sqlType || !b.accepts(c.value)) return null;
      const side = LOWER_OPS.includes(c.op) ? 'lower' : UPPER_OPS.includes(c.op) ? 'upper' : null;
      if (side === null || range[side]) return null;
      range[side] = c;
    }
    return range;
  }

  /** The pieces both statements are built of, for one bucketing and one range. */
  function parts(conditions: readonly Condition[], b: Bucketing, range: Range) {
    const column = raw(`${table}."${b.column}"`);
    const bucketOf = (c: Condition) => b.start(sql`${c.value}::${raw(b.sqlType)}`);
    const lowerBucket = range.lower ? bucketOf(range.lower) : null;
    const upperBucket = range.upper ? bucketOf(range.upper) : null;
    const rowsWhere = (...extra: Sql[]) => {
      const terms = [...conditions.map(condition), ...extra];
      return terms.length === 0 ? empty : sql` WHERE ${join(terms, ' AND ')}`;
    };
    const interiorWhere = (() => {
      const terms = [
        ...(lowerBucket ? [sql`"bucket" > ${lowerBucket}`] : []),
        ...(upperBucket ? [sql`"bucket" < ${upperBucket}`] : []),
      ];
      return terms.length === 0 ? empty : sql` WHERE ${join(terms, ' AND ')}`;
    })();
    const summary = raw(`"${b.summary}"`);
    // The edge buckets are counted in the index; the upper one only when it is not the lower one.
    const lowerEdge = lowerBucket ? sql`FROM ${raw(table)}${rowsWhere(sql`${column} < ${b.next(lowerBucket)}`)}` : null;
    const upperEdge = upperBucket
      ? sql`FROM ${raw(table)}${rowsWhere(sql`${column} >= ${upperBucket}`, ...(lowerBucket ? [sql`${upperBucket} > ${lowerBucket}`] : []))}`
      : null;
    return { column, summary, lowerBucket, upperBucket, interiorWhere, lowerEdge, upperEdge, rowsWhere };
  }

  /** The exact count of a range on a bucketed column, or null when the conditions are not one. */
  function count(conditions: readonly Condition[]): Sql | null {
    if (conditions.length === 0) return null;
    for (const b of bucketings) {
      const range = rangeOf(conditions, b);
      if (!range) continue;
      const p = parts(conditions, b, range);
      const terms = [
        ...(p.lowerEdge ? [sql`(SELECT count(*) ${p.lowerEdge})`] : []),
        sql`(SELECT coalesce(sum("n"), 0) FROM ${p.summary}${p.interiorWhere})`,
        ...(p.upperEdge ? [sql`(SELECT count(*) ${p.upperEdge})`] : []),
      ];
      return sql`SELECT (${join(terms, ' + ')})::bigint AS n`;
    }
    return null;
  }

  /**
   * One deep page of a range (or of everything) ordered first by a bucketed column, or null when
   * the page is shallow or the query is not one. The rows are the plain statement's: the same
   * select list, conditions and ordering, with the skipped buckets excluded by a bound on the column.
   */
  function page(conditions: readonly Condition[], ordering: readonly OrderTerm[], offset: number, limit: number): Sql | null {
    const first = ordering[0];
    if (!first || offset < deepPageOffset) return null;
    const b = bucketings.find((candidate) => candidate.column === first.column);
    const range = b ? rangeOf(conditions, b) : null;
    if (!b || !range) return null;
    const p = parts(conditions, b, range);
    const direction = raw(first.descending ? ' DESC' : '');
    const buckets = [
      sql`SELECT "bucket", sum("n")::bigint AS n FROM ${p.summary}${p.interiorWhere} GROUP BY "bucket"`,
      ...(p.lowerEdge && p.lowerBucket ? [sql`SELECT ${p.lowerBucket}, count(*) ${p.lowerEdge}`] : []),
      ...(p.upperEdge && p.upperBucket ? [sql`SELECT ${p.upperBucket}, count(*) ${p.upperEdge}`] : []),
    ];
    // Rows from the start bucket on, in the ordering's direction; the plain statement's own bounds still apply.
    const fromStart = first.descending ? sql`${p.column} < ${b.next(sql`(SELECT "bucket" FROM start)`)}` : sql`${p.column} >= (SELECT "bucket" FROM start)`;
    const order = raw(orderBy(ordering));
    const skip = String(offset);
    return sql`WITH buckets ("bucket", n) AS (${join(buckets, ' UNION ALL ')}),
running AS (SELECT "bucket", n, sum(n) OVER (ORDER BY "bucket"${direction}) - n AS before FROM buckets WHERE n > 0),
start AS (SELECT "bucket", before FROM running WHERE before + n > ${skip}::bigint ORDER BY "bucket"${direction} LIMIT 1)
${from} WHERE ${raw(pk)} IN (SELECT ${raw(pk)} FROM ${raw(table)}${p.rowsWhere(fromStart)}${order} LIMIT ${String(limit)} OFFSET (SELECT (${skip}::bigint - before)::bigint FROM start))${order}`;
  }

  return { count, page };
}
