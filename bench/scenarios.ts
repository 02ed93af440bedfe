/**
 * The scenarios of issue 5, with their parameters taken from the data (an email that exists, an
 * id and a modified_date that cut off a known share of rows), and the SQL the service runs for
 * each, built from the same declaration and list-query compiler, for EXPLAIN.
 */
import type pg from 'pg';
import { customerResource } from '../src/customers/customer.resource.js';
import { CUSTOMER_REPOSITORY_OPTIONS } from '../src/customers/customer.routes.js';
import { compileListQuery, type Sql } from '../src/resource/list-sql.js';
import { parseQuery } from '../src/lib/querystring.js';

export const LIST_PATH = '/api/v1/oms/customers/list-simple/';
const PAGE_SIZE = 10;
const DEEP_OFFSET = 500_000;

export interface Scenario {
  id: string;
  title: string;
  kind: 'requests' | 'export';
  /** Query string (no `?`). */
  query: string;
  /** The unfiltered page-1 scenario, also run on the small dataset. */
  scaling?: boolean;
  /** The response is CSV/XLSX: available only once the renderers exist. */
  format?: 'csv' | 'xlsx';
  /** Run the same request against the Node floor. */
  floor: boolean;
  /** Show EXPLAIN of its page (and filtered count) query. */
  explain: boolean;
  /** What the parameters select, for the report. */
  note?: string;
  /** Overrides the run's connection count. */
  connections?: number;
  /** Request headers besides the token. */
  headers?: Record<string, string>;
}

export async function buildScenarios(pool: pg.Pool, rows: number): Promise<Scenario[]> {
  const pick = async (sql: string, values: unknown[]) => (await pool.query<{ v: string }>(sql, values)).rows[0]!.v;
  const email = await pick('SELECT email AS v FROM customer WHERE id >= $1 ORDER BY id LIMIT 1', [Math.floor(rows / 2)]);
  const idCut = Math.floor(rows * 0.9);
  const sinceOffset = Math.floor(rows * 0.99);
  const since = await pick(
    `SELECT to_char(modified_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS v
       FROM customer ORDER BY modified_date, id OFFSET $1 LIMIT 1`,
    [sinceOffset],
  );
  const sinceCount = Number(await pick('SELECT count(*) AS v FROM customer WHERE modified_date >= $1', [since]));
  const deepOffset = Math.min(DEEP_OFFSET, Math.floor(rows / 2 / PAGE_SIZE) * PAGE_SIZE);
  const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
  return [
    { id: 'page1', title: 'Page 1, unfiltered', kind: 'requests', query: '', scaling: true, floor: true, explain: true },
    {
      // The page path before issue 14: an If-None-Match that matches nothing sends the request step by
      // step (token, then version, then page; the count cached), the three round trips every page took.
      id: 'page1-stepwise', title: 'Page 1, step by step (3 round trips)', kind: 'requests', query: '', floor: false, explain: false,
      headers: { 'if-none-match': '"matches-nothing"' }, note: 'If-None-Match that matches nothing: the path before one-statement reads',
    },
    { id: 'page1-limit100', title: 'Page 1, limit=100', kind: 'requests', query: q({ limit: '100' }), floor: true, explain: false },
    { id: 'email', title: 'Exact email', kind: 'requests', query: q({ email }), floor: true, explain: true, note: '1 match' },
    {
      id: 'id-range', title: 'id__gt range, sort=-id', kind: 'requests', query: q({ id__gt: String(idCut), sort: '-id' }),
      floor: true, explain: true, note: `${rows - idCut} matches (last 10% of ids)`,
    },
    {
      id: 'modified-since', title: 'modified_date__gte, sort=modified_date (incremental sync)', kind: 'requests',
      query: q({ modified_date__gte: since, sort: 'modified_date' }), floor: true, explain: true,
      note: `${sinceCount} matches (last ~1% by modified_date)`,
    },
    {
      // One client paging deep, as a BI tool walks pages: the target is one request's latency. At
      // 32 at once, 2 cores queue them behind each other whatever the SQL (see RESULTS.md).
      id: 'deep-page', title: `Deep page (offset ${deepOffset.toLocaleString('en')})`, kind: 'requests',
      query: q({ page: String(deepOffset / PAGE_SIZE + 1) }), floor: true, explain: true, connections: 1,
      note: '1 connection',
    },
    { id: 'csv-page', title: 'CSV page of 1,000', kind: 'requests', query: q({ format: 'csv', limit: '1000' }), format: 'csv', floor: true, explain: false },
    { id: 'export-csv', title: 'Full CSV export (limit=all)', kind: 'export', query: q({ format: 'csv', limit: 'all' }), format: 'csv', floor: false, explain: false },
    // `xls` is the original's format name for its (xlsx) workbook.
    { id: 'export-xlsx', title: 'Full XLSX export (limit=all)', kind: 'export', query: q({ format: 'xls', limit: 'all' }), format: 'xlsx', floor: false, explain: false },
  ];
}

// As the repository compiles it: range counts and deep pages through the summaries.
const listQuery = compileListQuery(customerResource, { summaries: CUSTOMER_REPOSITORY_OPTIONS.summaries });

/** The page and count statements the repository runs for this query string (src/resource/list-sql.ts). */
export function statementsFor(query: string, pageSize = PAGE_SIZE): { page: Sql; count: Sql | null } {
  const params = parseQuery(query);
  const { conditions, ordering } = customerResource.parseQuery(params);
  const limit = Number(params.get('limit') ?? pageSize);
  const offset = (Number(params.get('page') ?? 1) - 1) * limit;
  return {
    page: listQuery.page(conditions, ordering, offset, limit),
    count: conditions.length > 0 ? listQuery.count(conditions) : null,
  };
}

/** The whole unfiltered list in API order: what a full export selects. */
export function exportStatement(): string {
  const { conditions, ordering } = customerResource.parseQuery(new Map());
  return listQuery.all(conditions, ordering).text;
}
