/**
 * The pool's pg.Client (db/pool.ts): pg's own client, whose client-side query_timeout is armed here
 * for the queries the pool runs (a callback, no submittable) instead of inside pg, with the same
 * outcome: the caller gets 'Query read timeout' at once, a query still queued leaves the queue, and
 * pg-pool then discards the connection (db/pool.ts).
 *
 * Why not pg's: pg arms it by replacing the built query's callback with a closure over the query. Under
 * load, every finished page read (its query, text and rows, ~8 KB) then outlived two scavenges and
 * was promoted, and the old generation filled and was marked and compacted over and over: about
 * 40 µs of CPU a request. Here the callback the query gets holds only the caller's callback and
 * the timer, and the timer lets go of the query once cleared.
 */
import pg from 'pg';

export type Callback = (error: Error | null, result?: unknown) => void;

/** A query's callback as pg's Query reads its arguments: one given after values wins over values that are a function. */
export function callbackOf(values: unknown, callback: unknown): unknown {
  return callback !== undefined ? callback : typeof values === 'function' ? values : undefined;
}

/** The parts of pg.Client's internals its own read timeout uses (pg/lib/client.js, Client#query). */
interface ClientInternals {
  connectionParameters: { query_timeout?: number | false };
  connection: { stream: { destroy(): void } };
  pipeline?: boolean;
  _queryQueue: pg.Query[];
  _pulseQueryQueue(): void;
}

interface QueryInternals {
  callback: Callback;
  handleError(error: Error, connection: unknown): void;
}

/** One query's bound: answers its caller once, from the query or from the timer. */
class ReadTimeout {
  timer: NodeJS.Timeout | undefined;
  private answered = false;
  constructor(private readonly callback: Callback) {}

  /** What the query calls back. An arrow made here, so that it closes over this object only, never the query. */
  readonly settle = (error: Error | null, result?: unknown): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.answered) return;
    this.answered = true;
    this.callback(error, result);
  };
}

/** pg's read timeout (Client#query), step for step. */
function timeOut(client: ClientInternals, query: pg.Query, bound: ReadTimeout): void {
  bound.timer = undefined;
  const error = new Error('Query read timeout');
  const internals = query as unknown as QueryInternals;
  process.nextTick(() => internals.handleError(error, client.connection));
  bound.settle(error);
  internals.callback = () => {};
  const index = client._queryQueue.indexOf(query);
  if (index > -1) {
    client._queryQueue.splice(index, 1);
  } else if (client.pipeline) {
    // Already sent on a pipelined connection: the queries behind it wait for it, so the connection goes.
    client.connection.stream.destroy();
    return;
  }
  client._pulseQueryQueue();
}

function armTimeout(client: ClientInternals, query: pg.Query, bound: ReadTimeout, ms: number): void {
  bound.timer = setTimeout(() => timeOut(client, query, bound), ms);
}

type QueryMethod = (this: pg.Client, ...args: unknown[]) => unknown;
// Looked up at each call, not kept: whatever wraps pg's own (a test's statement spy) sees every query.
const pgQuery = (): QueryMethod => pg.Client.prototype.query as QueryMethod;

/** pg's overloads all come here; everything but a callback query with a read timeout goes to pg as it came. */
function query(this: pg.Client, config: unknown, values?: unknown, callback?: unknown): unknown {
  const internals = this as unknown as ClientInternals;
  const done = callbackOf(values, callback);
  const given = config !== null && typeof config === 'object' ? (config as { query_timeout?: number; submit?: unknown }) : null;
  const ms = given?.query_timeout || internals.connectionParameters.query_timeout;
  if (!ms || config == null || typeof done !== 'function' || typeof given?.submit === 'function') {
    return pgQuery().call(this, config, values, callback);
  }

  const bound = new ReadTimeout(done as Callback);
  const build = pg.Query as unknown as new (config: unknown, values: unknown, callback: Callback) => pg.Query;
  const submitted = new build(config, typeof values === 'function' ? undefined : values, bound.settle);
  armTimeout(internals, submitted, bound, ms);
  try {
    // pg would arm its own as well: not for this one.
    return withoutQueryTimeout(this, () => pgQuery().call(this, submitted));
  } catch (error) {
    clearTimeout(bound.timer);
    throw error;
  }
}

/**
 * Runs `submit` with the client's default query_timeout off: pg reads it from the client's
 * connection parameters as it submits each query, and arms its timer then.
 */
export function withoutQueryTimeout<T>(client: pg.Client, submit: () => T): T {
  const parameters = (client as unknown as ClientInternals).connectionParameters;
  const saved = parameters.query_timeout;
  parameters.query_timeout = false;
  try {
    return submit();
  } finally {
    parameters.query_timeout = saved;
  }
}

export class ReadTimeoutClient extends pg.Client {}
ReadTimeoutClient.prototype.query = query as pg.Client['query'];
