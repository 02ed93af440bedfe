/**
 * CORS for browser-based BI tools (@fastify/cors), registered only when
 * CORS_ORIGINS names some. Only a real preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) is answered here, before authentication; a
 * plain OPTIONS goes on to the endpoint's metadata handler, which needs a token.
 */
import fp from 'fastify-plugin';
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyRequest } from 'fastify';

export interface CorsPluginOptions {
  origins: readonly string[];
}

const isPreflight = (req: FastifyRequest) =>
  req.method === 'OPTIONS' && Boolean(req.headers.origin) && Boolean(req.headers['access-control-request-method']);

export default fp<CorsPluginOptions>(
  async (fastify, { origins }) => {
    if (origins.length === 0) return;
    const base: FastifyCorsOptions = {
      origin: origins.includes('*') ? '*' : [...origins],
      methods: ['GET', 'HEAD', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Accept', 'Content-Type', 'X-Request-Id', 'If-None-Match'],
      exposedHeaders: ['Link', 'X-Total-Count', 'Content-Disposition', 'X-Request-Id', 'ETag'],
      maxAge: 600,
    };
    const preflight = { ...base, preflight: true };
    const simple = { ...base, preflight: false };
    await fastify.register(cors, {
      delegator: (req, callback) => callback(null, isPreflight(req) ? preflight : simple),
    });
  },
  { name: 'cors' },
);
