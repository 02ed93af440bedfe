/**
 * The errors Node and Fastify answer themselves, before any route runs, in DRF's
 * `{"detail": …}` shape like every other error: a request Node's parser refuses
 * (400, or 431 for headers over Node's limit), one not received within
 * HEADERS_TIMEOUT_MS/REQUEST_TIMEOUT_MS (408), and a URL Fastify cannot decode (400).
 * They are the client's doing, so they are logged at debug, never as errors.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { detailJson } from './errors.js';

const DETAILS = {
  400: 'Malformed request.',
  408: 'The request was not received in time.',
  431: 'Request header fields too large.',
} as const;

type AnsweredStatus = keyof typeof DETAILS;

const isAnswered = (status: number): status is AnsweredStatus => Object.hasOwn(DETAILS, status);

/** The status Node's own handler would have chosen for this parser or timeout error. */
function statusOf(error: Error & { code?: string }): AnsweredStatus {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  if (error.code === 'HPE_HEADER_OVERFLOW') return 431;
  return 400;
}

/** A complete response written straight to the socket (there is no request object yet). */
export function rawErrorResponse(status: number, detail: string): string {
  const body = detailJson(detail);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** Fastify's `clientErrorHandler`: answer (when the socket can still take it) and close. */
export function createClientErrorHandler(log: () => FastifyBaseLogger) {
  return function onClientError(error: Error & { code?: string }, socket: Socket): void {
    // A reset socket has nothing left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) {
      log().debug({ err: error }, 'client connection reset');
      return;
    }
    const status = statusOf(error);
    log().debug({ err: error, status }, 'client error answered by the server');
    // Node's own rule (`socketOnError`): answer only if no response has started on this socket.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) socket.write(rawErrorResponse(status, DETAILS[status]));
    socket.destroy();
  };
}

/** Fastify's `frameworkErrors`: a URL it cannot decode (`/%zz`), answered before routing. */
export function frameworkErrors(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
  request.log.debug({ err: error }, 'request refused before routing');
  const status = (error as { statusCode?: number }).statusCode ?? 400;
  const detail = error.code === 'FST_ERR_BAD_URL' ? 'Malformed request URL.' : (isAnswered(status) ? DETAILS[status] : DETAILS[400]);
  void reply.code(status).type('application/json').send(Buffer.from(detailJson(detail)));
}
