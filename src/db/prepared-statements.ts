/**
 * Named prepared statements for the list reads: the pool's client (db/pool.ts) gives a read that asks
 * for it (`prepared(statement)`) a name made from its text, so that each connection parses a list
 * statement once, and PostgreSQL may keep one generic plan for it instead of planning every
 * execution. Planning was most of PostgreSQL's time on page 1 (about 0.4 of 0.6 ms; its generic
 * plan, chosen by PostgreSQL itself after five executions, doubled page 1's rate in a probe).
 *
 * Bounded: a connection names at most `perConnection` statements (the first it meets; the rest run
 * unnamed, as before), so neither pg's per-connection record nor the server's plan cache grows with
 * every new combination of filters.
 *
 * A pooler that does not keep a session's statements (PgBouncer before 1.21 in transaction
 * pooling) answers a named statement with "prepared statement … does not exist" or "… already
 * exists". Such a read is run again unnamed, and the pool names nothing from then on. A name is the
 * hash of its text, so two connections that share a name share the statement, and a read can never
 * run another statement's text.
 */
import { hash } from 'node:crypto';
import pg from 'pg';
import { callbackOf, ReadTimeoutClient, type Callback } from './read-timeout-client.js';

/**
 * The query configs marked as reads that may be prepared under a name. A set beside them rather
 * than a property on them: the config then goes to pg as it is, with no copy to carry a mark.
 */
const preparable = new WeakSet<pg.QueryConfig>();

/** Marks the query config (itself, unchanged) for the pool's client to name if it can. Any other client ignores the mark. */
export function prepared<T extends pg.QueryConfig>(query: T): T {
  preparable.add(query);
  return query;
}

/** Texts named lately, by length; at most NAMES_PER_LENGTH each, and NAMED_TEXTS_MAX in all. */
const namedByLength = new Map<number, { text: string; name: string }[]>();
const NAMES_PER_LENGTH = 8;
const NAMED_TEXTS_MAX = 512;
let namedTexts = 0;

/**
 * The statement's name: its text's hash (63 bytes at most, PostgreSQL's limit). A list statement's
 * text is built anew for each read, so a text named before is found by its length and an equality
 * check (a memory compare), not by hashing it again: SHA-1 of a ~1.6 KB page read costs 2–5 µs, and
 * a Map keyed by the text would hash all of it too (V8's string hash cost more than SHA-1, measured).
 */
export function statementName(text: string): string {
  const sameLength = namedByLength.get(text.length);
  if (sameLength) for (const seen of sameLength) if (seen.text === text) return seen.name;
  const name = `oms_${hash('sha1', text, 'hex')}`;
  if (namedTexts >= NAMED_TEXTS_MAX) {
    namedByLength.clear();
    namedTexts = 0;
  }
  const list = namedByLength.get(text.length) ?? [];
  if (list.length >= NAMES_PER_LENGTH) list.pop();
  else namedTexts++;
  list.unshift({ text, name });
  namedByLength.set(text.length, list);
  return name;
}

/** One pool's setting, shared by its connections: switched off for all of them at the first sign of a pooler in the way. */
export interface PreparedStatementsState {
  /** Most statements one connection names; 0 = none. */
  perConnection: number;
  enabled: boolean;
  /** Told once, when naming is switched off. */
  onDisabled?: (error: Error) => void;
}

/** The pool option that carries the state to each client pg-pool creates (it passes its options to the Client). */
export interface PreparedStatementsOption {
  preparedStatements?: PreparedStatementsState;
}

/** SQLSTATEs of a named statement the server does not have (26000) or has already (42P05). */
const LOST_STATEMENT = new Set(['26000', '42P05']);

type QueryMethod = (this: pg.Client, config: unknown, values?: unknown, callback?: unknown) => unknown;

export class PreparingClient extends ReadTimeoutClient {
  /** Its pool's setting (db/pool.ts); none on a client made outside such a pool. */
  readonly preparation: PreparedStatementsState | undefined;
  /** Statements this connection has named. */
  readonly named = new Set<string>();

  constructor(config?: pg.ClientConfig & PreparedStatementsOption) {
    super(config);
    this.preparation = config?.preparedStatements;
  }
}

const readTimeoutQuery = ReadTimeoutClient.prototype.query as QueryMethod;

function query(this: PreparingClient, config: unknown, values?: unknown, callback?: unknown): unknown {
  const { preparation: state, named } = this;
  const done = callbackOf(values, callback);
  const read = config as pg.QueryConfig | null;
  if (!state?.enabled || read === null || typeof read !== 'object' || !preparable.has(read) || read.name || typeof read.text !== 'string') {
    return readTimeoutQuery.call(this, config, values, callback);
  }
  if (typeof done !== 'function') {
    // A promise wanted (a checked-out client's own query): the same path, with a callback.
    return new Promise((resolve, reject) => {
      query.call(this, config, values, (error: Error | null, result?: unknown) => (error ? reject(error) : resolve(result)));
    });
  }
  const name = statementName(read.text);
  if (!named.has(name)) {
    if (named.size >= state.perConnection) return readTimeoutQuery.call(this, config, values, callback);
    named.add(name);
  }
  const givenValues = typeof values === 'function' ? undefined : values;
  const answer = done as Callback;
  const retryUnnamed: Callback = (error, result) => {
    const code = (error as { code?: unknown } | null)?.code;
    if (!error || typeof code !== 'string' || !LOST_STATEMENT.has(code)) return answer(error, result);
    if (state.enabled) {
      state.enabled = false;
      state.onDisabled?.(error);
    }
    readTimeoutQuery.call(this, config, givenValues, answer);
  };
  return readTimeoutQuery.call(this, { ...read, name }, givenValues, retryUnnamed);
}
PreparingClient.prototype.query = query as pg.Client['query'];
