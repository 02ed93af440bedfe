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
    // A scalar subquery, so PostgreSQL computes a bound's bucket once per statement (an InitPlan) and
    // can scan the summary's index from it, instead of computing it again for every summary row (a
    // day's date_trunc with a time zone is the costly part of a day range's count otherwise).
    const bucketOf = (c: Condition) => sql`(SELECT ${b.start(sql`${c.value}::${raw(b.sqlType)}`)})`;
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
    const skip = sql`${String(offset)}::bigint`;
    // In the ordering's direction: the edge bucket met first (counted in the index), the interior
    // buckets (summed from the summary, in the summary's index order, so the running sum stops at
    // the bucket it needs), and the edge bucket met last.
    const [headBucket, tailBucket] = first.descending ? [p.upperBucket, p.lowerBucket] : [p.lowerBucket, p.upperBucket];
    const headWhere = headBucket
      ? p.rowsWhere(first.descending ? sql`${p.column} >= ${headBucket}` : sql`${p.column} < ${b.next(headBucket)}`)
      : null;
    const headCount = headWhere ? sql`(SELECT n FROM head)` : sql`0::bigint`;
    // The tail is a bucket of its own only when it is not the head's (both bounds in one bucket).
    const tailIsOwn = tailBucket ? (headBucket ? sql`${tailBucket} <> ${headBucket}` : sql`true`) : null;
    const tail = tailBucket ?? sql`NULL`;
    const candidates = [
      ...(headWhere && headBucket ? [sql`SELECT 0 AS ord, ${headBucket} AS "bucket", 0::bigint AS before FROM head WHERE n > ${skip}`] : []),
      // The first interior bucket holding row `offset`, or, when the interior ends before it, the tail
      // (NULL without one: the offset is past the last row, and the page is empty). An interior only
      // exists when the two edges are different buckets.
      sql`(SELECT 1 AS ord, CASE WHEN before + n > ${skip} THEN "bucket" ELSE ${tail} END AS "bucket",
              CASE WHEN before + n > ${skip} THEN before ELSE before + n END AS before
        FROM (SELECT "bucket", ${headCount} + (sum(sum("n")) OVER w)::bigint - sum("n")::bigint AS before, sum("n")::bigint AS n,
                     lead("bucket") OVER w IS NULL AS last
                FROM ${p.summary}${p.interiorWhere} GROUP BY "bucket" WINDOW w AS (ORDER BY "bucket"${direction}) ORDER BY "bucket"${direction}) interior
       WHERE before + n > ${skip} OR last LIMIT 1)`,
      ...(tailBucket && tailIsOwn
        ? [sql`SELECT 2, ${tailBucket}, ${headCount} WHERE ${tailIsOwn} AND NOT EXISTS (SELECT FROM ${p.summary}${p.interiorWhere})`]
        : []),
    ];
    // Rows from the start bucket on, in the ordering's direction; the plain statement's own bounds still apply.
    const fromStart = first.descending ? sql`${p.column} < ${b.next(sql`(SELECT "bucket" FROM start)`)}` : sql`${p.column} >= (SELECT "bucket" FROM start)`;
    const order = raw(orderBy(ordering));
    const head = headWhere ? sql`head AS (SELECT count(*) AS n FROM ${raw(table)}${headWhere}),\n` : empty;
    return sql`WITH ${head}start AS (SELECT "bucket", before FROM (${join(candidates, ' UNION ALL ')}) candidates ORDER BY ord LIMIT 1)
${from} WHERE ${raw(pk)} IN (SELECT ${raw(pk)} FROM ${raw(table)}${p.rowsWhere(fromStart)}${order} LIMIT ${String(limit)} OFFSET (SELECT (${skip} - before)::bigint FROM start))${order}`;
  }

  return { count, page };
}
