/**
 * Which database errors mean "the database cannot serve this request right now" (as opposed to a
 * bug in a query): the pool could not hand out a connection in time, the connection was refused,
 * reset, cut or terminated, the server is shutting down, or a statement ran out of time (the
 * server's statement_timeout or our client-side bound). The API answers these with 503 and
 * Retry-After instead of 500 (app.ts).
 */

/** Raised by our own client-side bounds (a COPY that stalls, a readiness check that hangs). */
export class DatabaseTimeout extends Error {
  override name = 'DatabaseTimeout';
}

/**
 * `work`'s outcome, or a DatabaseTimeout saying `message` once `ms` have passed. The work is not
 * stopped (its own timeouts or its caller's clean-up do that); when it loses the race it settles
 * unheard, never as an unhandled rejection.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DatabaseTimeout(message)), ms);
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * SQLSTATEs: class 08 (connection exception), 57014 (query_canceled: statement_timeout),
 * 57P01–57P03 (admin/crash shutdown, cannot connect now), 53300 (too_many_connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57014|57P0[123]|53300)$/;

/** Socket errors of a connection that could not be made or was lost. */
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
]);

/** pg's own messages for the same conditions (these errors carry no code). */
const UNAVAILABLE_MESSAGE = [
  'timeout exceeded when trying to connect', // pool checkout waited DB_CONNECT_TIMEOUT_MS
  'Connection terminated', // socket closed under a query, or the connect timed out
  'Query read timeout', // client-side query_timeout
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof DatabaseTimeout) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  if (UNAVAILABLE_MESSAGE.some((message) => error.message.startsWith(message))) return true;
  // Node reports a refused dual-stack connect as an AggregateError of one error per address.
  if (error instanceof AggregateError) return error.errors.some(isDatabaseUnavailable);
  return false;
}
