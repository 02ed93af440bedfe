/**
 * The Node floor: the least a Node process can do to answer the benchmark's list requests.
 * `node:http` + `pg`, no framework, no validation, no negotiation: it looks the token up, runs the
 * same SQL as the service (src/resource/list-sql.ts on the same declaration) and writes the same JSON
 * (or a plain CSV page for `format=csv`). Started by bench/run.ts with DATABASE_URL, PORT, POOL_MAX.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import { customerResource } from '../src/customers/customer.resource.js';
import { compileListQuery } from '../src/resource/list-sql.js';
import type { Condition, OrderTerm } from '../src/resource/declaration.js';

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
  const hash = auth ? createHash('sha256').update(auth[1]!).digest('hex') : '';
  const user = await pool.query(
    'SELECT u.is_active FROM api_token t JOIN api_user u ON u.id = t.user_id WHERE t.key_hash = $1',
    [hash],
  );
  if (!user.rows[0]?.is_active) return send(res, 401, 'application/json', '{"detail":"Invalid token."}');

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

  const countQuery = conditions.length === 0 ? { text: 'SELECT n FROM customer_count', values: [] } : sql.count(conditions);
  const count = Number((await pool.query(countQuery)).rows[0].n);
  const { rows } = await pool.query(sql.page(conditions, ordering, (page - 1) * limit, limit));
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
