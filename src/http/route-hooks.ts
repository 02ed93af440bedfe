/**
 * A hook appended to a route's own onSend list. Plugins such as @fastify/compress work through
 * route-level onSend hooks, which run after every scope-level one; a hook that must see their
 * result (the compressed body, the final Vary) is appended behind them, from an onRoute hook
 * registered after theirs.
 */
import type { FastifyInstance, onSendHookHandler, RouteOptions } from 'fastify';

export function appendRouteOnSend(fastify: FastifyInstance, hook: onSendHookHandler): void {
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const existing = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend];
    route.onSend = [...existing, hook];
  });
}
