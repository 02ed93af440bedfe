/**
 * A page, its count, the data version and the token's user in one statement: one round trip per page.
 *
 *   SELECT head…, p.*
 *     FROM (the user, the version, and the count only when the user is admitted) h
 *     LEFT JOIN LATERAL (the page, only when h's count reaches its offset) p ON true
 *
 * Every row carries the head; a page of no rows is the one row whose `p` is all NULL, told apart
 * by `ROW_MARK`. Uncorrelated scalar subqueries are InitPlans, which PostgreSQL evaluates when a
 * CASE branch first needs them, so a refused token costs no count and a cached count no scan. The
 * page's gate refers to `h`, which makes it a one-time filter: a page past the end reads nothing.
 * `OFFSET 0` keeps `a`, `h` and `p` subqueries: pulled up, each reference to `v` or `n` would copy its
 * subquery (the version read three times), and the page's gate would become a join filter, run after the page.
 */
import { empty, raw, sql, type Sql } from '@prisma/client-runtime-utils';
import type { Row } from '../resource/rows.js';

/** The head's columns, first in every row (named so that no field of a resource can clash). */
export const HEAD = {
  gate: 'oms$gate',
  version: 'oms$version',
  count: 'oms$count',
  row: 'oms$row',
} as const;
export const HEAD_COLUMNS = [HEAD.gate, HEAD.version, HEAD.count, HEAD.row] as const;

export interface PageReadParts {
  /** At most one row with a boolean `admitted` (auth/token-store.ts userByKey); null admits. */
  gate: Sql | null;
  /** One row, one text column: the data version; null when the resource keeps none. */
  version: Sql | null;
  /** One row with `n`: the exact count. */
  count: Sql;
  /** A count already taken at a version: used instead of `count` when the version read now is that one. */
  known?: { version: string; count: number } | undefined;
  /** The page's rows in order, and the rows it skips; null reads no rows (the count alone). */
  page: { statement: Sql; offset: number } | null;
}

// The head's names as SQL, made once: the statement is built on every page read.
const QUOTED_HEAD = {
  gate: raw(`"${HEAD.gate}"`),
  version: raw(`"${HEAD.version}"`),
  count: raw(`"${HEAD.count}"`),
  row: raw(`"${HEAD.row}"`),
};

export function pageReadStatement({ gate, version, count, known, page }: PageReadParts): Sql {
  const gateRow = gate ? sql`(SELECT 1) one LEFT JOIN LATERAL (${gate}) g ON true` : raw('(SELECT 1) one');
  const gateJson = gate ? raw('row_to_json(g)') : raw('NULL::json');
  const admitted = gate ? raw('coalesce(g.admitted, false)') : raw('true');
  const versionValue = version ? sql`(${version})` : raw('NULL::text');
  const counted = known && version
    ? sql`CASE WHEN a.v = ${known.version}::text THEN ${String(known.count)}::int8 ELSE (${count}) END`
    : sql`(${count})`;
  const pageJoin = page
    ? sql` LEFT JOIN LATERAL (SELECT 1 AS ${QUOTED_HEAD.row}, q.* FROM (${page.statement}) q WHERE h.n > ${String(page.offset)}::int8 OFFSET 0) p ON true`
    : empty;
  const pageColumns = page ? raw('p.*') : raw(`NULL::int4 AS "${HEAD.row}"`);
  return sql`SELECT h.gate AS ${QUOTED_HEAD.gate}, h.v AS ${QUOTED_HEAD.version}, h.n AS ${QUOTED_HEAD.count}, ${pageColumns}
    FROM (SELECT a.gate, a.v, CASE WHEN a.admitted THEN ${counted} END AS n
            FROM (SELECT ${gateJson} AS gate, ${admitted} AS admitted, ${versionValue} AS v FROM ${gateRow} OFFSET 0) a OFFSET 0) h${pageJoin}`;
}

/** What the statement's head said, and the page's rows without it. */
export interface PageReadResult {
  /** The gate's row (row_to_json), or null when it found none or there was no gate. */
  gate: Record<string, unknown> | null;
  version: string | null;
  /** Null when the gate refused (nothing was counted). */
  count: number | null;
  rows: Row[];
}

/** The result from rows as a client gives them: each a list of values in select order, under `names`. */
export function splitPageRead(names: readonly string[], rows: readonly (readonly unknown[])[]): PageReadResult {
  const first = rows[0];
  if (!first) throw new Error('A page read returns at least one row');
  const heads = HEAD_COLUMNS.length;
  const page: Row[] = [];
  for (const values of rows) {
    if (values[heads - 1] === null) continue;
    const row: Record<string, unknown> = {};
    for (let i = heads; i < names.length; i++) row[names[i] as string] = values[i];
    page.push(row);
  }
  const [gate, version, count] = first;
  return {
    gate: gate === null ? null : (gate as Record<string, unknown>),
    version: version === null ? null : String(version),
    // int8: text from pg, a BigInt from Prisma.
    count: count === null ? null : Number(count),
    rows: page,
  };
}
