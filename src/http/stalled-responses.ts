/**
 * Ours: a response the client stops reading is cut. Without this, a client that keeps its socket
 * open and reads nothing would hold its response for ever (Fastify's connectionTimeout is 0): for a
 * `limit=all` export an export slot, a pool connection and a snapshot; for a page its socket and
 * its body in memory. Cutting the connection takes the client-gone path every response already has.
 *
 * Node's socket inactivity timeout measures exactly "nothing written to the socket": it restarts
 * whenever the kernel accepts bytes, so a reader that keeps reading is never cut. It is armed when
 * the response starts (onSend), not when the request arrives, so a slow query is bounded by the
 * database timeouts alone; and when it fires with nothing waiting to be written (the server, not
 * the client, is the slow one: a long sort before an export's first row) it is only re-armed. Once
 * the response has ended Node replaces it with the keep-alive timeout, so an idle kept-alive
 * connection still follows KEEP_ALIVE_TIMEOUT_MS.
 */
import type { FastifyInstance } from 'fastify';

export function cutStalledResponses(app: FastifyInstance, stallTimeoutMs: number): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    const onStall = () => {
      // setTimeout adds the listener each time it is given one: one at a time.
      reply.raw.off('timeout', onStall);
      if (reply.raw.writableFinished) return;
      if (!reply.raw.socket?.writableLength) {
        // Re-armed with its listener: an injected response (light-my-request) needs one.
        reply.raw.setTimeout(stallTimeoutMs, onStall);
        return;
      }
      request.log.info({ stallTimeoutMs }, 'client stopped reading the response: connection closed');
      reply.raw.destroy();
    };
    reply.raw.setTimeout(stallTimeoutMs, onStall);
    done(null, payload);
  });
}
