/**
 * The customers API, an encapsulated plugin mounted at /api/v1/oms/customers:
 * wires the list-simple declaration to its repository and the DRF policies.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.js';
import { customerResource } from './customer.resource.js';
import { createCustomerRepository } from './customer.repository.js';
import { createPgReads } from '../repository/list-reads.js';
import { createPrismaReads } from '../repository/prisma-reads.js';
import { createTokenStore } from '../auth/token-store.js';
import { createTokenAuthentication } from '../rest/authentication.js';
import { createPageNumberPagination } from '../rest/pagination.js';
import { createMetadata } from '../rest/metadata.js';
import { createRenderers } from '../rest/renderers/index.js';
import { registerListView } from '../rest/list-view.js';
import { createViewThrottling } from '../rest/throttling.js';
import { createExportSlots, defaultExportConcurrency } from '../rest/export-slots.js';

export interface CustomerRoutesOptions {
  config: Pick<
    Config,
    'PAGE_SIZE' | 'MAX_PAGE_SIZE' | 'DB_READ_CLIENT' | 'CSV_FORMULA_GUARD' | 'EXPORT_MAX_ROWS' | 'EXPORT_CONCURRENCY' | 'EXPORT_CONCURRENCY_PER_TOKEN' | 'THROTTLE_RATE'
  >;
}

const customerRoutes: FastifyPluginAsync<CustomerRoutesOptions> = async (scope, { config }) => {
  const renderers = createRenderers({ csvFormulaGuard: config.CSV_FORMULA_GUARD });
  const { throttleStore } = scope;
  // The pool the database really has (embedded: 1), not DB_POOL_MAX as configured.
  const poolSize = scope.db.pool.options.max ?? 1;
  const { db } = scope;
  const reads = config.DB_READ_CLIENT === 'prisma' ? createPrismaReads(() => db.prisma()) : createPgReads(db.pool);
  registerListView(scope, {
    path: '/list-simple/',
    resource: customerResource,
    repository: createCustomerRepository(scope.db.pool, customerResource, reads),
    renderers,
    authentication: createTokenAuthentication(createTokenStore(scope.db)),
    pagination: createPageNumberPagination({
      pageSize: config.PAGE_SIZE,
      maxPageSize: config.MAX_PAGE_SIZE,
      pageQueryParam: 'page',
      pageSizeQueryParam: 'limit',
    }),
    metadata: createMetadata(customerResource, { renders: renderers.map((r) => r.mediaType) }),
    downloadName: 'customers',
    ...(config.EXPORT_MAX_ROWS === undefined ? {} : { exportMaxRows: config.EXPORT_MAX_ROWS }),
    ...(config.THROTTLE_RATE && throttleStore ? { throttling: createViewThrottling({ rate: config.THROTTLE_RATE, store: throttleStore }) } : {}),
    exportSlots: createExportSlots({
      total: config.EXPORT_CONCURRENCY ?? defaultExportConcurrency(poolSize),
      perOwner: config.EXPORT_CONCURRENCY_PER_TOKEN,
    }),
  });
};

export default customerRoutes;
