/**
 * Prometheus metrics as a Fastify plugin: decorates `fastify.metrics` (metrics/service-metrics.ts),
 * counts every response and every `limit=all` export, and serves `GET /metrics` in the text
 * format: on the API's port, or on METRICS_PORT by a small server of its own started and closed
 * with the app. METRICS_TOKEN, when set, is asked for as `Authorization: Bearer <token>`.
 * `/metrics` sits in the root scope: no Host check (scrapers address pods by IP), no throttle.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Transform, pipeline, type Readable } from 'node:stream';
import { METHODS } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { appendRouteOnSend } from '../http/route-hooks.js';
import { namedPools } from '../db/database.js';
import { createServiceMetrics, NO_FORMAT, UNMATCHED_ROUTE, type ServiceMetrics } from '../metrics/service-metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics;
    /** The server of METRICS_PORT, once the app is ready; null when /metrics is on the API's port. */
    metricsServer: FastifyInstance | null;
  }
}

export interface MetricsPluginOptions {
  config: Pick<Config, 'METRICS_PORT' | 'METRICS_TOKEN' | 'HOST'>;
}

const KNOWN_METHODS = new Set(METHODS);

export default fp<MetricsPluginOptions>(
  async (fastify, { config }) => {
    const metrics = createServiceMetrics(namedPools(fastify.db));
    fastify.decorate('metrics', metrics);
    fastify.decorate('metricsServer', null);

    // On 'close', not onResponse: an export cut short by its client never finishes, and still counts.
    fastify.addHook('onRequest', (request, reply, done) => {
      const started = performance.now();
      // `on`, not `once`: a response closes once, and `once` wraps each listener in another closure.
      reply.raw.on('close', () => {
        const labels = {
          route: request.routeOptions.url ?? UNMATCHED_ROUTE,
          // Node's parser takes only its known methods; the guard keeps the label set closed anyway.
          method: KNOWN_METHODS.has(request.method) ? request.method : 'OTHER',
          status: String(reply.statusCode),
          format: request.renderedFormat ?? NO_FORMAT,
        };
        // Counted too: http_requests_total is this histogram's count (service-metrics.ts).
        metrics.requestDuration.observe(labels, (performance.now() - started) / 1000);
      });
      done();
    });

    // Behind compression's route-level hook (this plugin is registered after it), so the bytes
    // counted are the ones that go out.
    appendRouteOnSend(fastify, (request, reply, payload, done) => {
      const count = request.exportCount;
      if (count === null || count === undefined || request.method !== 'GET' || !isStream(payload)) return done(null, payload);
      done(null, countExport(metrics, request.renderedFormat ?? NO_FORMAT, count, reply, payload));
    });

    const serve = async (request: FastifyRequest, reply: FastifyReply) => {
      if (config.METRICS_TOKEN !== undefined && !bearerMatches(request.headers.authorization, config.METRICS_TOKEN)) {
        return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"').send({ detail: 'Invalid or missing metrics token.' });
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    };

    if (config.METRICS_PORT === undefined) {
      fastify.get('/metrics', serve);
      return;
    }
    const server = Fastify({ loggerInstance: fastify.log.child({ server: 'metrics' }) });
    server.get('/metrics', serve);
    fastify.addHook('onReady', async () => {
      await server.listen({ port: config.METRICS_PORT!, host: config.HOST });
      fastify.metricsServer = server;
    });
    fastify.addHook('onClose', async () => {
      await server.close();
    });
  },
  { name: 'metrics', dependencies: ['database'] },
);

function isStream(payload: unknown): payload is Readable {
  return typeof (payload as Readable | null)?.pipe === 'function';
}

/**
 * An export in flight from its first byte to its end: its body bytes are counted as they pass,
 * its rows once the response has been sent whole.
 */
function countExport(metrics: ServiceMetrics, format: string, rows: number, reply: FastifyReply, payload: Readable): Readable {
  const labels = { format };
  metrics.exportsInFlight.inc(labels);
  reply.raw.once('finish', () => metrics.exportRows.inc(labels, rows));
  reply.raw.once('close', () => metrics.exportsInFlight.dec(labels));
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      metrics.exportBytes.inc(labels, chunk.length);
      callback(null, chunk);
    },
  });
  // Errors reach the response through `counter`; a client gone destroys both ends.
  pipeline(payload, counter, () => {});
  return counter;
}

/** Compares digests, so the time taken says nothing about the token. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}
