/**
 * Response compression with @fastify/compress: br or gzip, as Accept-Encoding's q-values choose,
 * for JSON and CSV bodies of at least 1 KB, buffered pages and streamed exports alike (a stream
 * goes through the compressor by pipeline, so backpressure reaches the export's query). XLSX is a
 * zip already and is never compressed. A compressible response to a request with Accept-Encoding
 * says `Vary: Accept-Encoding`, compressed or not, so a cache keeps the variants apart; a request
 * without one gets the original service's headers exactly (`Vary: Accept`), and a cache that keeps
 * that answer can only serve an uncompressed body, which every client reads. Off
 * (COMPRESSION=false) it registers nothing: a proxy in front does the work.
 */
import compress from '@fastify/compress';
import { pipeline, type Readable } from 'node:stream';
import fp from 'fastify-plugin';
import { Coalesce } from '../http/coalesce.js';
import { addVary } from '../http/vary.js';
import { expandWildcard } from '../http/accept-encoding.js';
import { appendRouteOnSend } from '../http/route-hooks.js';

/** Bodies below this many bytes go out as they are: compressing them saves nothing. */
export const COMPRESSION_THRESHOLD = 1024;
/** In preference order when the client weighs them equally. */
export const ENCODINGS = ['br', 'gzip'] as const;

/** JSON and CSV; the plugin adds what mime-db marks compressible (text/*), never the XLSX types. */
export const COMPRESSIBLE = /^(?:application\/json|text\/csv)(?:;|$)/i;

export interface CompressionPluginOptions {
  enabled: boolean;
}

export default fp<CompressionPluginOptions>(
  async (fastify, { enabled }) => {
    if (!enabled) return;
    // The plugin reads `*` as gzip even when gzip itself has q=0 (RFC 9110 §12.5.3: `*` means
    // any encoding not listed); spelling `*` out first keeps an explicit refusal a refusal.
    fastify.addHook('onRequest', (request, _reply, done) => {
      const header = request.headers['accept-encoding'];
      if (header?.includes('*')) request.headers['accept-encoding'] = expandWildcard(header, ENCODINGS);
      done();
    });
    // Scope-level, so before the plugin's route-level hook: a streamed body reaches the compressor
    // in large chunks. Only where it will be compressed; other streams go out as they come.
    fastify.addHook('onSend', (request, reply, payload, done) => {
      // A 304 (or 204) has no body to encode, and must not say it has one; the plugin skips only
      // 206 by status, and a request that says x-no-compression by header.
      if (reply.statusCode === 304 || reply.statusCode === 204) {
        request.headers['x-no-compression'] = '1';
        return done(null, payload);
      }
      const type = reply.getHeader('content-type');
      const willCompress = request.headers['accept-encoding'] !== undefined && typeof type === 'string' && COMPRESSIBLE.test(type);
      if (!willCompress || !isStream(payload)) return done(null, payload);
      const gathered = new Coalesce();
      // Errors and a client gone travel both ways, as through the compressor's own pipeline.
      pipeline(payload, gathered, () => {});
      done(null, gathered);
    });
    await fastify.register(compress, {
      // Responses only. No route reads a request body (http/body-limit.ts), so none is decoded,
      // as Django leaves a GET's body alone; and a request needs no preParsing hook to run.
      globalDecompression: false,
      encodings: [...ENCODINGS],
      threshold: COMPRESSION_THRESHOLD,
      customTypes: COMPRESSIBLE,
    });
    // Behind the plugin's own route-level hook, which writes `accept-encoding` after the view's `Vary: Accept`.
    appendRouteOnSend(fastify, (request, reply, payload, done) => {
      const type = reply.getHeader('content-type');
      const askedForEncoding = request.headers['accept-encoding'] !== undefined;
      if (reply.hasHeader('content-encoding') || (askedForEncoding && typeof type === 'string' && COMPRESSIBLE.test(type))) {
        addVary(reply, 'Accept-Encoding');
      }
      done(null, payload);
    });
  },
  { name: 'compression' },
);

function isStream(payload: unknown): payload is Readable {
  return typeof (payload as Readable | null)?.pipe === 'function';
}
