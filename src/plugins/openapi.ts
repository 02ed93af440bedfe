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
 * The UI's own CSP without `upgrade-insecure-requests`: on a plain-HTTP deployment (a service
 * behind a firewall, 127.0.0.1) that directive turns the page's assets and "Try it out" into
 * HTTPS requests that fail.
 */
export function docsCsp(policy: string): string {
  return policy.split(';').map((d) => d.trim()).filter((d) => d !== '' && d !== 'upgrade-insecure-requests').join('; ');
}

const openapiPlugin: FastifyPluginAsync<OpenApiPluginOptions> = async (scope, { document }) => {
  // Its types know OpenAPI 2 and 3.0 only; the document is 3.1, which it serves as it is.
  await scope.register(swagger, { mode: 'static', specification: { document: document as unknown as OpenAPIV3.Document } });
  await scope.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    staticCSP: true,
    transformStaticCSP: docsCsp,
    uiConfig: { displayRequestDuration: true, defaultModelsExpandDepth: 1 },
  });
  const json = JSON.stringify(scope.swagger());
  const yaml = scope.swagger({ yaml: true });
  scope.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(json));
  scope.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml').send(yaml));
};

export default openapiPlugin;
