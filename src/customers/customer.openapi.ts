/**
 * The customers API's OpenAPI document: the list-simple view's own parts (declaration, renderers,
 * pagination, metadata) handed to rest/openapi.ts, with the demo customers as the examples' rows.
 * Needs no database, so `npm run docs:postman` builds it offline.
 */
import { createRequire } from 'node:module';
import type { Config } from '../config.js';
import { createListViewDocument, type OpenApiDocument } from '../rest/openapi.js';
import { createMetadata } from '../rest/metadata.js';
import { listPagination, listRenderers } from '../rest/settings.js';
import { EXPORT_ALL } from '../rest/list-view.js';
import { customerResource } from './customer.resource.js';
import { CUSTOMER_REPOSITORY_OPTIONS, CUSTOMERS_PREFIX, DOWNLOAD_NAME, LIST_SIMPLE_PATH } from './customer.routes.js';
import type { ListRepositoryOptions } from '../repository/list-repository.js';
import { COMPRESSIBLE, COMPRESSION_THRESHOLD, ENCODINGS } from '../plugins/compression.js';
import { demoCustomers } from './demo-data.js';

/** The origin the examples' links use: the default HOST and PORT, as in docs/api.md. */
const EXAMPLE_ORIGIN = 'http://127.0.0.1:8000';

// src/customers and dist/customers are both two levels below the package.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export function createCustomerOpenApi(
  config: Pick<Config, 'PAGE_SIZE' | 'MAX_PAGE_SIZE' | 'CSV_FORMULA_GUARD' | 'COMPRESSION'>,
): Promise<OpenApiDocument> {
  const renderers = listRenderers(config);
  const repository: ListRepositoryOptions = CUSTOMER_REPOSITORY_OPTIONS;
  const mediaTypes = renderers.flatMap((r) => [r.mediaType, ...(r.alsoAccepts ?? [])]);
  return createListViewDocument({
    title: 'OMS Customer Services',
    version,
    description: 'The Akinon OMS customer list, as the original Django REST Framework service answers it: ' +
      'filters, pagination, JSON, CSV and XLSX, and full exports with `limit=all`. ' +
      'Authorize with `Token <key>` (`npm run token:create -- NAME` prints a key). ' +
      'Details: docs/api.md in the repository.',
    path: `${CUSTOMERS_PREFIX}${LIST_SIMPLE_PATH}`,
    resource: customerResource,
    itemName: 'Customer',
    downloadName: DOWNLOAD_NAME,
    renderers,
    pagination: listPagination(config),
    pageSize: config.PAGE_SIZE,
    maxPageSize: config.MAX_PAGE_SIZE,
    exportAll: EXPORT_ALL,
    metadata: createMetadata(customerResource, { renders: renderers.map((r) => r.mediaType) }),
    exampleRows: demoCustomers.map((customer) => ({ ...customer })),
    exampleOrigin: EXAMPLE_ORIGIN,
    // The view answers If-None-Match only when its repository keeps a data version.
    conditionalGet: repository.versionTable !== undefined,
    compression: config.COMPRESSION
      ? { encodings: ENCODINGS, threshold: COMPRESSION_THRESHOLD, mediaTypes: mediaTypes.filter((type) => COMPRESSIBLE.test(type)) }
      : undefined,
  });
}
