/**
 * Connection-level limits, as Node's http.Server options: how long a client may take to send
 * its headers and its whole request, how long an idle kept-alive socket stays open, and how
 * many sockets are open at once. Passed to Fastify by buildApp, so tests run the same limits.
 */
import { readFileSync } from 'node:fs';
import type { Server, ServerOptions } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';

type Limits = Pick<Config, 'HEADERS_TIMEOUT_MS' | 'REQUEST_TIMEOUT_MS' | 'KEEP_ALIVE_TIMEOUT_MS'>;

/**
 * Node checks the two request timeouts on a timer (`connectionsCheckingInterval`, 30 s by
 * default), so a timeout fires up to one interval late: check four times per shortest timeout,
 * at most once a second.
 */
export function checkingInterval(limits: Limits): number {
  return Math.max(25, Math.min(1000, Math.floor(Math.min(limits.HEADERS_TIMEOUT_MS, limits.REQUEST_TIMEOUT_MS) / 4)));
}

/**
 * requestTimeout bounds receiving the request only (Node stops timing it once the request is
 * complete), never the time a long export takes to download. A fresh socket that sends nothing is
 * timed by headersTimeout from the moment it connects; an idle kept-alive socket only by
 * keepAliveTimeout (since Node 18 headersTimeout starts at a request's first byte, so it need not
 * exceed keepAliveTimeout as it once had to).
 */
export function serverTimeouts(limits: Limits): { requestTimeout: number; keepAliveTimeout: number; http: ServerOptions } {
  return {
    requestTimeout: limits.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: limits.KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: limits.HEADERS_TIMEOUT_MS,
      requestTimeout: limits.REQUEST_TIMEOUT_MS,
      keepAliveTimeout: limits.KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: checkingInterval(limits),
      // A missing Host is ours to answer (in the `{"detail": …}` shape), not Node's empty 400.
      requireHostHeader: false,
    },
  };
}

const DROP_LOG_INTERVAL_MS = 10_000;
// Descriptors the process needs besides client sockets: the pool, files, DNS, stdio.
const OTHER_DESCRIPTORS = 64;

/** The soft open-files limit (Linux `/proc/self/limits`), or null where it cannot be read. */
export function openFilesLimit(limits = '/proc/self/limits'): number | null {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync(limits, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Beyond `max` open sockets Node closes each new connection as soon as it is accepted, so a flood
 * cannot take the file descriptors the connections being served need. Drops are logged as a
 * warning at most every 10 s, with their count, so a flood does not flood the log too.
 */
export function limitConnections(server: Server, max: number, log: FastifyBaseLogger): void {
  server.maxConnections = max;
  const files = openFilesLimit();
  if (files !== null && max + OTHER_DESCRIPTORS > files) {
    log.warn({ maxConnections: max, openFilesLimit: files }, 'MAX_CONNECTIONS is too close to the open-files limit (ulimit -n): a flood can exhaust descriptors first');
  }
  let dropped = 0;
  let lastLog = 0;
  server.on('drop', () => {
    dropped += 1;
    const now = Date.now();
    if (now - lastLog < DROP_LOG_INTERVAL_MS) return;
    log.warn({ dropped, maxConnections: max }, 'connections refused: MAX_CONNECTIONS reached');
    lastLog = now;
    dropped = 0;
  });
}
