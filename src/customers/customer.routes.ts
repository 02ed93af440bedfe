/**
 * The customers API, an encapsulated plugin mounted at /api/v1/oms/customers: the list-simple
 * declaration, its repository, and the service's shared list policies.
 */
import type { FastifyPluginAsync } from 'fastify';
import { customerResource } from './customer.resource.js';
import { createListRepository } from '../repository/list-repository.js';
import { registerListView } from '../rest/list-view.js';

const customerRoutes: FastifyPluginAsync = async (scope) => {
  registerListView(scope, {
    ...scope.listPolicies,
    path: '/list-simple/',
    resource: customerResource,
    // Both kept by triggers (prisma/migrations): page 1 counts nothing, and a 304 reads only the version.
    repository: createListRepository(scope.db.pool, customerResource, {
      unfilteredCountTable: 'customer_count',
      versionTable: 'customer_version',
    }),
    downloadName: 'customers',
  });
};

export default customerRoutes;
