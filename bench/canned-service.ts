/**
 * The service (src/app.ts, every plugin and hook, the list view) with the customers' list read
 * from bench/canned-page.ts instead of PostgreSQL; the database is opened for the rest (/ready,
 * the token store). For `bench/cpu-per-request.ts --service canned=bench/canned-service.ts
 * --service bare=bench/canned-bare.ts`: the difference is the service's own path on page 1.
 */
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { buildApp } from '../src/app.js';
import { customerResource } from '../src/customers/customer.resource.js';
import { CUSTOMERS_PREFIX, DOWNLOAD_NAME, LIST_SIMPLE_PATH } from '../src/customers/customer.routes.js';
import { registerListView } from '../src/rest/list-view.js';
import { cannedRepository } from './canned-page.js';

const config = loadConfig();
const database = await openDatabase(config, { role: 'server' });
const app = await buildApp(config, {
  database,
  routes: [{
    prefix: CUSTOMERS_PREFIX,
    plugin: async (scope) => registerListView(scope, {
      ...scope.listPolicies, path: LIST_SIMPLE_PATH, resource: customerResource, repository: cannedRepository, downloadName: DOWNLOAD_NAME,
    }),
  }],
});
await app.listen({ port: config.PORT, host: '127.0.0.1' });
// Exit on a signal rather than die by it, so that --cpu-prof writes its profile.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
