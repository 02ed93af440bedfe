/**
 * Reading a response over real HTTP the way a download client does, to see what the socket
 * shows: whether a chunked body ended cleanly (`complete`) or was cut short; and waiting for a
 * pool to have every connection back.
 */
import http from 'node:http';
import type pg from 'pg';

export interface Downloaded {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** True when the body ended as HTTP framed it; false when the connection was cut first. */
  complete: boolean;
}

/** GETs `url`; `onFirstChunk` decides what happens once the body has begun. */
export function download(
  url: string,
  headers: Record<string, string>,
  onFirstChunk: (res: http.IncomingMessage) => void | Promise<void> = () => undefined,
): Promise<Downloaded> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      let first = true;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (first) {
          first = false;
          void Promise.resolve(onFirstChunk(res)).catch(reject);
        }
      });
      // A cut connection errors the response ('aborted'); what was received is the answer.
      res.on('error', () => undefined);
      res.on('close', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete }));
    });
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
  });
}

/** Resolves once every pooled connection is back and idle, nobody waits (or fails after `ms`). */
export async function poolSettles(pool: pg.Pool, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (pool.idleCount !== pool.totalCount || pool.waitingCount > 0) {
    if (Date.now() > until) throw new Error(`pool busy: total ${pool.totalCount}, idle ${pool.idleCount}, waiting ${pool.waitingCount}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Makes `res` read like a client on a slow link: a pause of `ms` on every chunk. The server then
 * keeps waiting for its socket to drain, which is where a fault used to go unheard.
 */
export function readSlowly(res: http.IncomingMessage, ms = 5): void {
  res.on('data', () => {
    res.pause();
    setTimeout(() => res.resume(), ms);
  });
  res.resume();
}
