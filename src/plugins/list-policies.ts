/**
 * The policies every list view shares, built once from the configuration (DRF's `api_settings`
 * defaults): renderers, token authentication, page-number pagination, throttles and the export
 * caps. One set per process, so a second resource shares the export caps and the throttle budget,
 * as DRF's throttle scopes are shared across views. Decorated as `fastify.listPolicies`.
 */
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { createTokenStore } from '../auth/token-store.js';
import { createTokenAuthentication } from '../rest/authentication.js';
import { listPagination, listRenderers } from '../rest/settings.js';
import { createViewThrottling } from '../rest/throttling.js';
import { createExportSlots, defaultExportConcurrency } from '../rest/export-slots.js';
import type { ListPolicies } from '../rest/list-view.js';

declare module 'fastify' {
  interface FastifyInstance {
    listPolicies: ListPolicies;
  }
}

export interface ListPoliciesOptions {
  config: Pick<
    Config,
    'PAGE_SIZE' | 'MAX_PAGE_SIZE' | 'CSV_FORMULA_GUARD' | 'EXPORT_MAX_ROWS' | 'EXPORT_CONCURRENCY' | 'EXPORT_CONCURRENCY_PER_TOKEN' | 'THROTTLE_RATE'
  >;
}

export default fp<ListPoliciesOptions>(
  async (fastify, { config }) => {
    const { throttleStore } = fastify;
    // The pool the database really has (embedded: 1), not DB_POOL_MAX as configured.
    const poolSize = fastify.db.pool.options.max ?? 1;
    const renderers = listRenderers(config);
    // Before the process exits: an export's worker thread stopped by the exit itself could be
    // stopped mid-deflate (rest/renderers/xlsx-worker-pool.ts).
    fastify.addHook('onClose', async () => {
      await Promise.all(renderers.map((renderer) => renderer.close?.()));
    });
    fastify.decorate('listPolicies', {
      renderers,
      authentication: createTokenAuthentication(createTokenStore(fastify.db)),
      pagination: listPagination(config),
      ...(config.EXPORT_MAX_ROWS === undefined ? {} : { exportMaxRows: config.EXPORT_MAX_ROWS }),
      ...(config.THROTTLE_RATE && throttleStore ? { throttling: createViewThrottling({ rate: config.THROTTLE_RATE, store: throttleStore }) } : {}),
      ...(fastify.hasDecorator('metrics') ? { timeQuery: fastify.metrics.timeQuery } : {}),
      foreground: fastify.foreground,
      exportSlots: createExportSlots({
        total: config.EXPORT_CONCURRENCY ?? defaultExportConcurrency(poolSize),
        perOwner: config.EXPORT_CONCURRENCY_PER_TOKEN,
      }),
    } satisfies ListPolicies);
  },
  { name: 'list-policies', dependencies: ['database', 'throttle', 'foreground'] },
);
