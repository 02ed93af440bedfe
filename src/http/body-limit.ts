/**
 * Request bodies: no route reads one, so none is waited for and none may be large. A declared
 * Content-Length over the limit is answered 413 at once, before the body is read (and before
 * authentication); a chunked body is counted as it arrives and, past the limit, reading stops and
 * the answer becomes 413. Either way the connection is closed after, so the client cannot keep
 * streaming. A client that goes away mid-body is an ordinary event, logged at debug.
 */
import { Readable } from 'node:stream';
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, detailJson } from './errors.js';

/** The most body bytes accepted (and ignored); more is a 413. */
export const BODY_LIMIT_BYTES = 1024;

/** 413 with DRF's body shape; Node closes the connection after it. */
export class PayloadTooLarge extends HttpError {
  constructor() {
    super(413, `Request body too large: this API reads no request body and accepts at most ${BODY_LIMIT_BYTES} bytes of one.`, {
      connection: 'close',
    });
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when a chunked body passed the limit before the answer was sent. */
    bodyOverLimit: boolean;
  }
}

export default fp(
  async (fastify) => {
    fastify.decorateRequest('bodyOverLimit', false);

    // Every content type "parses" at once to nothing, so the pipeline never waits for a body.
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('*', (_request, _payload, done) => done(null));

    // Every request runs these two: they take `done` rather than being async (no promise each).
    fastify.addHook('onRequest', (request, reply, done) => {
      const declared = request.headers['content-length'];
      if (declared !== undefined && Number(declared) > BODY_LIMIT_BYTES) return done(new PayloadTooLarge());
      if (hasBody(request)) countBody(request, reply);
      done();
    });

    fastify.addHook('onSend', (request, reply, payload, done) => {
      // Answered before the body is all in (authentication does not wait for it): close after the answer
      // rather than keep reading a body nobody needs, however slowly it comes.
      if (hasBody(request) && !request.raw.complete) reply.header('connection', 'close');
      // A body that passed the limit while the request was being handled: the answer becomes the 413.
      if (!request.bodyOverLimit || reply.statusCode === 413) return done(null, payload);
      if (payload instanceof Readable) payload.destroy();
      const error = new PayloadTooLarge();
      reply.code(error.statusCode).headers(error.headers).type('application/json');
      done(null, detailJson(error.message));
    });

  },
  { name: 'body-limit' },
);

function hasBody(request: FastifyRequest): boolean {
  return request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length']) > 0;
}

/** Reads and drops the body as it comes, counting; past the limit stops reading it. */
function countBody(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  let received = 0;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= BODY_LIMIT_BYTES) return;
    raw.off('data', onData);
    raw.pause();
    request.bodyOverLimit = true;
    // Too late for a 413 once the answer has started: cut the connection instead.
    if (reply.raw.headersSent) raw.socket.destroy();
  };
  raw.on('data', onData);
  raw.on('error', (error) => request.log.debug({ err: error }, 'client went away while sending the request body'));
  // It passed the limit after onSend but before the headers went out: the connection still goes.
  // A listener of this request's own rather than an onResponse hook that every request would run.
  reply.raw.on('finish', () => {
    if (request.bodyOverLimit) raw.socket?.destroy();
  });
}
