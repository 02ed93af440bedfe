/**
 * The Node floor: the least a Node process can do to answer the benchmark's list requests.
 * `node:http` + `pg`, no framework, no validation, no negotiation: it runs the same statement as the
 * service, one round trip with the token's user, the count and the page (src/repository/page-read.ts
 * over src/resource/list-sql.ts on the same declaration; no data version, so no count is kept),
 * prepared under the same name as the service's (so parsed, and maybe planned, once per connection), and
 * writes the same JSON (or a plain CSV page for `format=csv`). Started by bench/run.ts with
 * DATABASE_URL, PORT, POOL_MAX.
 */
import http from 'node:http';
import pg from 'pg';
import { customerResource } from '../src/customers/customer.resource.js';
import { compileListQuery } from '../src/resource/list-sql.js';
import type { Condition, OrderTerm } from '../src/resource/declaration.js';
import { pageReadStatement, splitPageRead } from '../src/repository/page-read.js';
import { userByKey } from '../src/auth/token-store.js';
import { statementName } from '../src/db/prepared-statements.js';
import { raw } from '@prisma/client-runtime-utils';

const PATH = '/api/v1/oms/customers/list-simple/';
const PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 1000;

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 10) });
pool.on('error', () => undefined);
const sql = compileListQuery(customerResource);

/** `id__gt` → column, operator and cast, straight from the declaration; values go to PostgreSQL unchecked. */
const lookups = new Map<string, Omit<Condition, 'value'>>();
let orderingParam = 'sort';
let orderTerms: ReadonlyMap<string, OrderTerm> = new Map();
for (const filter of customerResource.filters) {
  if (filter.kind === 'ordering') {
    orderingParam = filter.param;
    orderTerms = filter.terms;
  } else {
    for (const l of filter.lookups) lookups.set(l.param, { column: filter.column, op: l.op, sqlType: filter.sqlType });
  }
}
const ID: OrderTerm = { column: 'id', descending: false };
const UNFILTERED_COUNT = raw('SELECT n FROM customer_count');

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** DRF's links: the other parameters sorted, `page` replaced (removed for page 1). */
function link(host: string, params: URLSearchParams, page: number): string {
  const entries = [...params].filter(([k]) => k !== 'page');
  if (page > 1) entries.push(['page', String(page)]);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const query = new URLSearchParams(entries).toString();
  return `http://${host}${PATH}${query ? `?${query}` : ''}`;
}

const csvCell = (v: unknown) => {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

async function list(req: http.IncomingMessage, res: http.ServerResponse, params: URLSearchParams): Promise<void> {
  const auth = /^Token (\S+)$/.exec(req.headers.authorization ?? '');

  const conditions: Condition[] = [];
  for (const [name, value] of params) {
    const lookup = lookups.get(name);
    if (lookup) conditions.push({ ...lookup, value });
  }
  const sort = params.get(orderingParam);
  const ordering = sort && orderTerms.has(sort) ? [orderTerms.get(sort)!] : [];
  if (!ordering.some((t) => t.column === 'id')) ordering.push(ID);
  const limit = Math.min(Number(params.get('limit')) || PAGE_SIZE, MAX_PAGE_SIZE);
  const page = Number(params.get('page') ?? 1);
  const offset = (page - 1) * limit;

  const statement = pageReadStatement({
    gate: userByKey(auth?.[1] ?? '').statement,
    version: null,
    count: conditions.length === 0 ? UNFILTERED_COUNT : sql.count(conditions),
    page: { statement: sql.page(conditions, ordering, offset, limit), offset },
  });
  // Named, as the service's pool names its list reads (src/db/prepared-statements.ts).
  const result = await pool.query<unknown[]>({ name: statementName(statement.text), text: statement.text, values: statement.values, rowMode: 'array' });
  const { gate, count: counted, rows } = splitPageRead(result.fields.map((f) => f.name), result.rows);
  if (!gate?.admitted || counted === null) return send(res, 401, 'application/json', '{"detail":"Invalid token."}');
  const count = counted;
  if (params.get('format') === 'csv') {
    const names = customerResource.fields.map((f) => f.name);
    const lines = [names.join(','), ...rows.map((row) => names.map((n) => csvCell(row[n])).join(','))];
    return send(res, 200, 'text/csv; charset=utf-8', `${lines.join('\r\n')}\r\n`);
  }
  const host = req.headers.host ?? 'localhost';
  const next = page * limit < count ? link(host, params, page + 1) : null;
  const previous = page > 1 ? link(host, params, page - 1) : null;
  send(res, 200, 'application/json', JSON.stringify({ count, next, previous, results: rows }));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://floor');
  if (url.pathname === '/ready') return send(res, 200, 'application/json', '{"status":"ready"}');
  if (url.pathname !== PATH) return send(res, 404, 'application/json', '{"detail":"Not found."}');
  list(req, res, url.searchParams).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    if (!res.headersSent) send(res, 500, 'application/json', '{"detail":"A server error occurred."}');
  });
});
server.keepAliveTimeout = 72_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
const stop = () => server.close(() => void pool.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
