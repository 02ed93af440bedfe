/**
 * buildApp(config): the whole service as a Fastify instance that is never
 * listening by itself (server.ts listens; tests `inject`). Every Fastify
 * option lives here, so tests run exactly the configuration production runs.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import databasePlugin from './plugins/database.js';
import healthPlugin from './plugins/health.js';
import corsPlugin from './plugins/cors.js';
import throttlePlugin from './plugins/throttle.js';
import listPoliciesPlugin from './plugins/list-policies.js';
import customerRoutes, { CUSTOMERS_PREFIX } from './customers/customer.routes.js';
import { createCustomerOpenApi } from './customers/customer.openapi.js';
import openapiPlugin from './plugins/openapi.js';
import compressionPlugin from './plugins/compression.js';
import metricsPlugin from './plugins/metrics.js';
import foregroundPlugin from './plugins/foreground.js';
import bodyLimitPlugin from './http/body-limit.js';
import { createClientErrorHandler, frameworkErrors } from './http/client-errors.js';
import { createHostCheck } from './http/host.js';
import { limitConnections, serverTimeouts } from './http/limits.js';
import { cutStalledResponses } from './http/stalled-responses.js';
import { HttpError } from './http/errors.js';
import { ApiError, NotFound, ServerError, ServiceUnavailable } from './rest/exceptions.js';
import { isDatabaseUnavailable } from './db/unavailable.js';
import { renderJson } from './rest/renderers/json.js';

/** An API's routes, mounted under `prefix` behind the Host check (Django's urlpatterns). */
export interface ApiRoutes {
  prefix: string;
  plugin: FastifyPluginAsync;
}

/** The service's APIs. */
export const API_ROUTES: readonly ApiRoutes[] = [{ prefix: CUSTOMERS_PREFIX, plugin: customerRoutes }];

export interface AppOptions {
  /** An open database to use instead of opening one from config (closed with the app). */
  database?: Database;
  /** The APIs to serve instead of API_ROUTES (tests mount more, as Django's ROOT_URLCONF is overridden). */
  routes?: readonly ApiRoutes[];
  /** Where logs go (tests capture them); default stdout. */
  logStream?: DestinationStream;
}

/** Headers Django's security middleware puts on every response of the original. */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const loggerOptions = {
    level: config.LOG_LEVEL,
    // Credentials never reach the log, whichever serializer prints headers.
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization'], censor: '[redacted]' },
  };
  const fastifyOptions: FastifyServerOptions = {
    // A hop count becomes proxy-addr's "trust the first n hops" function (Fastify's types omit numbers).
    trustProxy:
      typeof config.TRUST_PROXY === 'number'
        ? ((hops: number) => (_address: string, hop: number) => hop < hops)(config.TRUST_PROXY)
        : config.TRUST_PROXY,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ...serverTimeouts(config),
    clientErrorHandler: createClientErrorHandler(() => app.log),
    frameworkErrors,
    return503OnClosing: true,
  };
  const app = Fastify({
    ...fastifyOptions,
    ...(options.logStream ? { loggerInstance: (await import('pino')).pino(loggerOptions, options.logStream) } : { logger: loggerOptions }),
  });

  limitConnections(app.server, config.MAX_CONNECTIONS, app.log);
  cutStalledResponses(app, config.EXPORT_STALL_TIMEOUT_MS);

  // Once closing, answer in-flight requests with `Connection: close`: a kept-alive
  // socket would otherwise hold server.close() (and the shutdown) open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Every response's own headers, in the one hook (every request runs it: `done`, not async, so no promise).
  app.addHook('onSend', (request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    reply.header('x-request-id', request.id);
    reply.headers(SECURITY_HEADERS);
    // Django's XFrameOptionsMiddleware runs after CommonMiddleware's slash redirect, so 301s lack it.
    if (reply.statusCode !== 301) reply.header('x-frame-options', 'DENY');
    done(null, payload);
  });

  app.setErrorHandler(async (error, request, reply) => {
    let apiError: HttpError;
    if (error instanceof HttpError) {
      apiError = error;
    } else if (typeof (error as { statusCode?: unknown }).statusCode === 'number' && (error as { statusCode: number }).statusCode < 500) {
      // Fastify's own client errors (body too large, bad content length, ...): keep the status, DRF's body shape.
      apiError = new ApiError((error as { statusCode: number }).statusCode, (error as Error).message);
    } else if (isDatabaseUnavailable(error)) {
      // The database is down, cut off, saturated or too slow: not the request's fault, and not a bug.
      request.log.warn({ err: error }, 'database unavailable');
      apiError = new ServiceUnavailable();
    } else {
      request.log.error({ err: error }, 'unhandled error');
      apiError = new ServerError();
    }
    // DRF's handle_exception answers a Response that finalize_response renders with the accepted
    // renderer and media type (views.py, 3.14): indent=N applies to errors of the view too.
    const body = renderJson(apiError.body(), request.acceptedJson ?? undefined);
    return reply.code(apiError.statusCode).headers(apiError.headers).type('application/json').send(Buffer.from(body));
  });

  await app.register(bodyLimitPlugin);
  // First of the hooks: every request, whatever answers it, counts while exports yield to it.
  await app.register(foregroundPlugin, { config });
  await app.register(databasePlugin, { config, ...(options.database ? { database: options.database } : {}) });
  await app.register(corsPlugin, { origins: config.CORS_ORIGINS });
  // Outside the Host check: orchestrators probe /health and /ready by pod IP, which ALLOWED_HOSTS need not list.
  await app.register(healthPlugin, { config });
  // Compression, then the metrics that count the compressed bytes, before any route they apply to.
  await app.register(compressionPlugin, { enabled: config.COMPRESSION });
  await app.register(metricsPlugin, { config });
  await app.register(throttlePlugin, { config });
  await app.register(listPoliciesPlugin, { config });
  // Everything else, unknown paths included, answers only to an allowed Host, as Django's CommonMiddleware does.
  await app.register(async (site) => {
    site.decorateRequest('validatedHost', '');
    site.addHook('onRequest', createHostCheck(config.ALLOWED_HOSTS));
    site.setNotFoundHandler(async () => {
      throw new NotFound();
    });
    for (const { prefix, plugin } of options.routes ?? API_ROUTES) await site.register(plugin, { prefix });
    await site.register(openapiPlugin, { document: await createCustomerOpenApi(config) });
  });
  return app;
}
