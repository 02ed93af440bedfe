/**
 * The API's description, without auth: `GET /openapi.json` and `/openapi.yaml` (the document
 * given, served by @fastify/swagger in static mode) and the Swagger UI page at `/docs`, whose
 * assets come from node_modules (no CDN: it works offline and behind a firewall).
 */
import type { FastifyPluginAsync } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { OpenAPIV3 } from 'openapi-types';
import type { OpenApiDocument } from '../rest/openapi.js';

export interface OpenApiPluginOptions {
  document: OpenApiDocument;
}

export const DOCS_PREFIX = '/docs';

/**
 * The page's Content-Security-Policy: everything from the service itself. Not the plugin's own
 * (`staticCSP: true`): its `upgrade-insecure-requests` turns the assets and "Try it out" of a
 * plain-HTTP deployment (127.0.0.1, a service behind a firewall) into HTTPS requests that fail,
 * and its style hashes miss a style attribute the UI sets (Chromium blocks it). Inline styles
 * are allowed; scripts only from the service's own files.
 */
export const DOCS_CSP = [
  "default-src 'self'", "base-uri 'self'", "connect-src 'self'", "font-src 'self' data:", "form-action 'self'",
  "frame-ancestors 'none'", "img-src 'self' data:", "object-src 'none'", "script-src 'self'", "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
].join('; ');

const openapiPlugin: FastifyPluginAsync<OpenApiPluginOptions> = async (scope, { document }) => {
  // Its types know OpenAPI 2 and 3.0 only; the document is 3.1, which it serves as it is.
  await scope.register(swagger, { mode: 'static', specification: { document: document as unknown as OpenAPIV3.Document } });
  await scope.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    staticCSP: DOCS_CSP,
    uiConfig: { displayRequestDuration: true, defaultModelsExpandDepth: 1 },
  });
  const json = JSON.stringify(scope.swagger());
  const yaml = scope.swagger({ yaml: true });
  scope.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(json));
  scope.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml').send(yaml));
};

export default openapiPlugin;
