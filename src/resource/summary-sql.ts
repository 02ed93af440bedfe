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
import { limitLiteral } from './limit-sql.js';
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

/**
 * A summary read whole at one data version (`totalsStatements`): each bucket's key (`keyOf`) in
 * ascending order, and prefix[i], the rows in the buckets before keys[i] (prefix has one more
 * entry: the total). While the data is still at that version, a statement takes an interior's sum
 * or a deep page's start from here instead of summing the summary (repository/bucket-totals.ts).
 */
export interface BucketTotals {
  version: string;
  keys: readonly number[];
  prefix: readonly number[];
}

/** What a statement may use in place of summing a summary: the version it reads, and the totals known. */
export interface KnownTotals {
  /** The data version as the statement reads it (a text expression, in the statement's snapshot). */
  version: Sql;
  /** The totals of the summary named `summary`, at whichever version they were read. */
  of(summary: string): BucketTotals | undefined;
}

/** Beyond this, a bucket's bounds could overflow bigint: such ranges take the plain statement. */
const SAFE_INTEGER_BOUND = 2n ** 62n;

/** A condition's instant (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, as the filters write it) as its UTC day, in days since 1970-01-01. */
const UTC_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;
function utcDayNumber(value: string): number | null {
  const m = UTC_INSTANT.exec(value);
  if (!m) return null;
  const day = new Date(0);
  // setUTCFullYear, unlike Date.UTC, keeps years 1–99.
  return day.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000;
}

/** The first index whose key is above `key` (`orEqual`: at or above it), keys ascending. */
function firstIndexAbove(keys: readonly number[], key: number, orEqual = false): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (keys[mid]! > key || (orEqual && keys[mid] === key)) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** The rows in the buckets strictly between the two keys (either may be open), from the totals. */
function interiorRows(totals: BucketTotals, lower: number | undefined, upper: number | undefined): number {
  const from = lower === undefined ? 0 : firstIndexAbove(totals.keys, lower);
  const to = upper === undefined ? totals.keys.length : firstIndexAbove(totals.keys, upper, true);
  return to > from ? totals.prefix[to]! - totals.prefix[from]! : 0;
}

/**
 * The bucket holding row `offset` of the whole summary in the given direction, and the rows before
 * it in that direction; null past the last row.
 */
function startOf(totals: BucketTotals, offset: number, descending: boolean): { key: number; before: number } | null {
  const { keys, prefix } = totals;
  const total = prefix[keys.length]!;
  if (offset >= total) return null;
  if (!descending) {
    // The first bucket whose rows reach past the offset: the first i with prefix[i + 1] > offset.
    const i = firstIndexAbove(prefix, offset) - 1;
    return { key: keys[i]!, before: prefix[i]! };
  }
  // From the end: the last i with prefix[i] < total - offset.
  const i = firstIndexAbove(prefix, total - offset, true) - 1;
  return { key: keys[i]!, before: total - prefix[i + 1]! };
}

/** The totals of a summary as its `totalsStatements` statement returns them; null if they cannot be used exactly. */
export function parseTotals(version: string, pairs: unknown): BucketTotals | null {
  if (!Array.isArray(pairs)) return null;
  const keys: number[] = [];
  const prefix = [0];
  for (const pair of pairs) {
    const [key, n] = Array.isArray(pair) ? (pair as unknown[]) : [];
    // Keys beyond 2^53 (ids near the 2^62 bound) would not be exact here: none is known then.
    if (typeof key !== 'number' || typeof n !== 'number' || !Number.isSafeInteger(key) || !Number.isSafeInteger(n) || n <= 0) return null;
    if (keys.length > 0 && key <= keys.at(-1)!) return null;
    keys.push(key);
    prefix.push(prefix.at(-1)! + n);
  }
  return Number.isSafeInteger(prefix.at(-1)) ? { version, keys, prefix } : null;
}

interface Bucketing {
  summary: string;
  column: string;
  sqlType: Condition['sqlType'];
  /** The first value of the bucket holding `value`. */
  start(value: Sql): Sql;
  /** The first value of the bucket after the one starting at `bucket`. */
  next(bucket: Sql): Sql;
  accepts(value: string): boolean;
  /** The bucket of a condition value as a number (BucketTotals' keys), or null where it cannot be told exactly here. */
  keyOf(value: string): number | null;
  /** A summary row's key, in SQL (the same number). */
  keySql: string;
  /** The bucket whose key is `key`, in SQL. */
  bucketOfKey(key: number): Sql;
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
      keyOf: (value) => {
        const n = BigInt(value);
        const key = Number(n - (((n % BigInt(size)) + BigInt(size)) % BigInt(size)));
        return Number.isSafeInteger(key) ? key : null;
      },
      keySql: '"bucket"',
      bucketOfKey: (key) => sql`${String(key)}::bigint`,
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
      keyOf: utcDayNumber,
      keySql: `(("bucket" AT TIME ZONE 'UTC')::date - date '1970-01-01')`,
      bucketOfKey: (key) => sql`((date '1970-01-01' + ${String(key)}::int)::timestamp AT TIME ZONE 'UTC')`,
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

  /** The bucket keys of a range's bounds, or null when one cannot be told here (its statement then sums the summary). */
  function keysOf(b: Bucketing, range: Range): { lower?: number; upper?: number } | null {
    const lower = range.lower ? b.keyOf(range.lower.value) : undefined;
    const upper = range.upper ? b.keyOf(range.upper.value) : undefined;
    return lower === null || upper === null ? null : { lower, upper };
  }

  /**
   * The exact count of a range on a bucketed column, or null when the conditions are not one. With
   * `known` totals, the interior is their sum while the data is at their version, and the summary's
   * sum otherwise (decided in the statement, which reads the version in its own snapshot).
   */
  function count(conditions: readonly Condition[], known?: KnownTotals): Sql | null {
    if (conditions.length === 0) return null;
    for (const b of bucketings) {
      const range = rangeOf(conditions, b);
      if (!range) continue;
      const p = parts(conditions, b, range);
      const summed = sql`(SELECT coalesce(sum("n"), 0) FROM ${p.summary}${p.interiorWhere})`;
      const totals = known?.of(b.summary);
      const keys = totals ? keysOf(b, range) : null;
      const interior = known && totals && keys
        ? sql`CASE WHEN (${known.version}) = ${totals.version}::text THEN ${String(interiorRows(totals, keys.lower, keys.upper))}::numeric ELSE ${summed} END`
        : summed;
      const terms = [
        ...(p.lowerEdge ? [sql`(SELECT count(*) ${p.lowerEdge})`] : []),
        interior,
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
  function page(conditions: readonly Condition[], ordering: readonly OrderTerm[], offset: number, limit: number, known?: KnownTotals): Sql | null {
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
    let start = sql`SELECT "bucket", before FROM (${join(candidates, ' UNION ALL ')}) candidates ORDER BY ord LIMIT 1`;
    // The whole table in the bucketed order: with totals known, the start bucket is found here, and
    // taken while the data is still at their version (the first branch; else the running sum).
    const totals = !range.lower && !range.upper ? known?.of(b.summary) : undefined;
    const found = totals ? startOf(totals, offset, first.descending) : null;
    if (known && totals && found) {
      start = sql`SELECT "bucket", before FROM ((SELECT ${b.bucketOfKey(found.key)} AS "bucket", ${String(found.before)}::bigint AS before
          WHERE (${known.version}) = ${totals.version}::text) UNION ALL (${start})) known LIMIT 1`;
    }
    return sql`WITH ${head}start AS (${start})
${from} WHERE ${raw(pk)} IN (SELECT ${raw(pk)} FROM ${raw(table)}${p.rowsWhere(fromStart)}${order}${limitLiteral(limit)} OFFSET (SELECT (${skip} - before)::bigint FROM start))${order}`;
  }

  /**
   * Each summary's statement reading its totals and the data version in one snapshot, as
   * `{ v, t }`: `t` is a JSON array of [key, rows] per bucket, ascending (parseTotals).
   */
  function totalsStatements(version: Sql): { summary: string; statement: Sql }[] {
    return bucketings.map((b) => ({
      summary: b.summary,
      statement: sql`SELECT (${version}) AS v, coalesce((SELECT json_agg(json_build_array(k, n) ORDER BY k)
        FROM (SELECT ${raw(b.keySql)} AS k, sum("n") AS n FROM ${raw(`"${b.summary}"`)} GROUP BY "bucket" HAVING sum("n") > 0) s), '[]') AS t`,
    }));
  }

  return { count, page, totalsStatements };
}
