/**
 * The least Fastify does for bench/canned-page.ts's page: one route, no logger, no hooks, the page
 * stringified with its `next` link and sent (and /ready for bench/processes.ts). Beside
 * bench/canned-service.ts it shows what the service's own path costs per request.
 */
import Fastify from 'fastify';
import { CUSTOMERS_PREFIX, LIST_SIMPLE_PATH } from '../src/customers/customer.routes.js';
import { cannedPageRead } from './canned-page.js';

const PATH = `${CUSTOMERS_PREFIX}${LIST_SIMPLE_PATH}`;
const app = Fastify({ logger: false });
app.get(PATH, async (request, reply) => {
  const { count, rows } = await cannedPageRead();
  const next = `http://${request.headers.host}${PATH}?page=2`;
  return reply.type('application/json').send(JSON.stringify({ count, next, previous: null, results: rows }));
});
app.get('/ready', async () => ({ status: 'ready' }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
// Exit on a signal rather than die by it, so that --cpu-prof writes its profile.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
