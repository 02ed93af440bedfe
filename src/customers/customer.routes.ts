/**
 * The customers API, an encapsulated plugin mounted at /api/v1/oms/customers: the list-simple
 * declaration, its repository, and the service's shared list policies.
 */
import type { FastifyPluginAsync } from 'fastify';
import { customerResource } from './customer.resource.js';
import { createListRepository, type ListRepositoryOptions } from '../repository/list-repository.js';
import { registerListView } from '../rest/list-view.js';

/** Where the customers API is mounted (app.ts), its one view inside it, and what its downloads are called. */
export const CUSTOMERS_PREFIX = '/api/v1/oms/customers';
export const LIST_SIMPLE_PATH = '/list-simple/';
export const DOWNLOAD_NAME = 'customers';

/**
 * All kept by triggers (prisma/migrations): page 1 counts nothing, a 304 reads only the version, and
 * id or modified_date ranges and deep pages sum blocks of 1000 ids or days (…_customer_summaries).
 * The OpenAPI document reads the version table's presence too: it describes conditional GET only then.
 */
export const CUSTOMER_REPOSITORY_OPTIONS = {
  unfilteredCountTable: 'customer_count',
  versionTable: 'customer_version',
  summaries: {
    idBlocks: { table: 'customer_id_block', column: 'id', size: 1000 },
    dayCounts: { table: 'customer_day', column: 'modified_date' },
  },
} as const satisfies ListRepositoryOptions;

const customerRoutes: FastifyPluginAsync = async (scope) => {
  registerListView(scope, {
    ...scope.listPolicies,
    path: LIST_SIMPLE_PATH,
    resource: customerResource,
    repository: createListRepository(scope.readSource, customerResource, CUSTOMER_REPOSITORY_OPTIONS),
    downloadName: DOWNLOAD_NAME,
  });
};

export default customerRoutes;
