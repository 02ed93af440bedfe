/**
 * The paced load client (bench/paced.ts) against a local server with a known delay: it offers its
 * rate evenly whatever the server does, and a slow or stalled server shows up as latency measured
 * from each request's due time, not as fewer requests. It speaks HTTP/1.1 over raw sockets, so
 * the framing cases (Content-Length, chunked, bodies over many reads) are tested here too.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { quantile, runPaced } from '../../bench/paced.js';

interface DelayServer {
  url: string;
  /** performance.now() at each request's arrival (delayServer). */
  arrivals: number[];
  /** Requests in progress at most (delayServer). */
  maxConcurrent: number;
  close(): Promise<void>;
}

let server: DelayServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A loopback server answering with `handler`; `arrivals` and `maxConcurrent` are what the handler records in them. */
async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, state: DelayServer) => void): Promise<DelayServer> {
  const s = http.createServer((req, res) => handler(req, res, state));
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const state: DelayServer = {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/`,
    arrivals: [],
    maxConcurrent: 0,
    close: () => new Promise((resolve) => { s.closeAllConnections(); s.close(() => resolve()); }),
  };
  return state;
}

/** Answers every request after `delayMs(arrivalIndex)`; counts arrivals and requests in progress. */
function delayServer(delayMs: (index: number) => number, status = 200): Promise<DelayServer> {
  let open = 0;
  return serve((_req, res, state) => {
    const index = state.arrivals.push(performance.now()) - 1;
    state.maxConcurrent = Math.max(state.maxConcurrent, ++open);
    setTimeout(() => {
      open--;
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    }, delayMs(index));
  });
}

describe('paced client', () => {
  it('with a 20 ms server at 100 req/s measures ~20 ms and achieves the offered rate, sent evenly', async () => {
    server = await delayServer(() => 20);
    const r = await runPaced({ url: server.url, rate: 100, seconds: 1 });
    expect(r.requests).toBe(100);
    expect(server.arrivals).toHaveLength(100);
    expect(r.errors).toBe(0);
    expect(r.p50).toBeGreaterThanOrEqual(19);
    // Upper bounds here are ones only a wrong measurement crosses: on two shared, loaded cores the
    // test's own event loop adds tens of ms to an answer (57 and 106 ms seen for this 20 ms server).
    expect(r.p50).toBeLessThan(200);
    expect(r.achievedRps).toBeGreaterThan(90);
    expect(r.achievedRps).toBeLessThan(110);
    // Evenly: the typical gap between arrivals is the 10 ms interval, not 0 (a burst) and a wait.
    const gaps = server.arrivals.slice(1).map((t, i) => t - server!.arrivals[i]!).sort((a, b) => a - b);
    expect(quantile(gaps, 0.5)).toBeGreaterThan(8);
    expect(quantile(gaps, 0.5)).toBeLessThan(12);
    // Its own CPU per request (here the test server's too: one process), measured over the run.
    expect(r.clientCpuPerRequestUs).toBeGreaterThan(0);
    expect(r.clientCpuPerRequestUs).toBeLessThan(20_000);
  });

  it('sends a due request while earlier ones are still in flight (open loop)', async () => {
    server = await delayServer(() => 200);
    const r = await runPaced({ url: server.url, rate: 100, seconds: 1 });
    expect(server.arrivals).toHaveLength(100);
    // 200 ms at 100 req/s keeps ~20 requests open: a closed loop would have kept one.
    expect(server.maxConcurrent).toBeGreaterThanOrEqual(15);
    expect(r.achievedRps).toBeGreaterThan(90);
    expect(r.p50).toBeGreaterThanOrEqual(199);
    expect(r.p50).toBeLessThan(300);
  });

  it('shows a stalled server as growing latency, not fewer requests', async () => {
    // Requests 30 to 59 (due 300–590 ms) are all answered at 600 ms: a 300 ms stall.
    let stallEnds = 0;
    server = await delayServer((i) => {
      if (i === 30) stallEnds = performance.now() + 300;
      return i >= 30 && i < 60 ? Math.max(0, stallEnds - performance.now()) : 5;
    });
    const r = await runPaced({ url: server.url, rate: 100, seconds: 1 });
    expect(r.requests).toBe(100);
    expect(server.arrivals).toHaveLength(100);
    expect(r.errors).toBe(0);
    expect(r.achievedRps).toBeGreaterThan(90);
    // The first request of the stall waited it out; the median request never saw it (a client that
    // held every request behind the stall would put the median near 300 ms; 156 ms seen under load).
    expect(r.max).toBeGreaterThanOrEqual(290);
    expect(r.p99).toBeGreaterThan(250);
    expect(r.p50).toBeLessThan(250);
  });

  it('past its socket cap queues due requests in the client and counts that wait as latency', async () => {
    server = await delayServer(() => 100);
    const r = await runPaced({ url: server.url, rate: 100, seconds: 0.5, maxSockets: 5 });
    expect(server.arrivals).toHaveLength(50);
    expect(server.maxConcurrent).toBeLessThanOrEqual(5);
    expect(r.errors).toBe(0);
    // 5 sockets × 10 answers/s each = 50 req/s against 100 offered: the last request waits ~500 ms for a socket.
    expect(r.max).toBeGreaterThan(450);
  });

  it('reads chunked and large bodies to their end on kept-alive connections', async () => {
    const sockets = new Set<unknown>();
    const big = 'x'.repeat(200_000);
    server = await serve((req, res) => {
      sockets.add(req.socket);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(big);
      // The last chunk 30 ms later: the latency runs to the end of the body, not its first bytes.
      setTimeout(() => res.end('end'), 30);
    });
    const r = await runPaced({ url: server.url, rate: 20, seconds: 1 });
    expect(r.requests).toBe(20);
    expect(r.errors).toBe(0);
    expect(r.p50).toBeGreaterThanOrEqual(29);
    // 30 ms answers every 50 ms: one or two connections, reused, not one per request.
    expect(sockets.size).toBeLessThanOrEqual(3);
  });

  it('counts non-2xx answers and timeouts as errors', async () => {
    server = await delayServer(() => 1, 503);
    expect((await runPaced({ url: server.url, rate: 50, seconds: 0.2 })).errors).toBe(10);
    await server.close();
    server = await delayServer(() => 500);
    const r = await runPaced({ url: server.url, rate: 50, seconds: 0.2, timeoutMs: 50 });
    expect(r.errors).toBe(10);
    expect(r.max).toBeLessThan(400);
  });

  it('opens its warm connections before the first due request and counts only the ones it opens later', async () => {
    const sockets = new Set<unknown>();
    let firstMeasuredAt = 0;
    let warmAnswered = 0;
    server = await serve((req, res) => {
      sockets.add(req.socket);
      // The 8 warm requests first, then the run's: a fast server needs no connection beyond them.
      if (warmAnswered < 8) warmAnswered++;
      else if (firstMeasuredAt === 0) firstMeasuredAt = sockets.size;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    const r = await runPaced({ url: server.url, rate: 50, seconds: 0.4, warmConnections: 8 });
    expect(r.requests).toBe(20);
    expect(r.errors).toBe(0);
    // All 8 were open before the first measured request arrived, and served the whole run.
    expect(firstMeasuredAt).toBe(8);
    expect(sockets.size).toBe(8);
    expect(r.connectionsOpened).toBe(0);
  });

  it('opens a connection for each due request that finds none idle, and says how many', async () => {
    server = await delayServer(() => 200);
    const r = await runPaced({ url: server.url, rate: 100, seconds: 0.5, warmConnections: 2 });
    // 200 ms answers at 100 req/s: ~20 in flight, of which 2 on the warm connections.
    expect(r.connectionsOpened).toBeGreaterThanOrEqual(15);
    expect(r.connectionsOpened).toBeLessThanOrEqual(48);
    expect(server.arrivals).toHaveLength(52);
  });

  it('settles at the rate first, on the same schedule, and measures only the seconds after', async () => {
    // The first 50 answers (the settling half second) are slow, the rest fast.
    server = await delayServer((index) => (index < 50 ? 300 : 5));
    let arrivedWhenMeasuring = -1;
    const r = await runPaced({
      url: server.url, rate: 100, seconds: 1, settleSeconds: 0.5,
      onMeasuring: () => (arrivedWhenMeasuring = server!.arrivals.length),
    });
    expect(server.arrivals).toHaveLength(150);
    expect(r.requests).toBe(100);
    expect(r.errors).toBe(0);
    // Called once the 50 settling requests had gone out, as the first measured one was due.
    expect(arrivedWhenMeasuring).toBeGreaterThanOrEqual(48);
    expect(arrivedWhenMeasuring).toBeLessThanOrEqual(50);
    // No gap at the boundary: the schedule runs on at the rate.
    const gap = server.arrivals[50]! - server.arrivals[49]!;
    expect(gap).toBeLessThan(50);
    // The slow settling answers are not in the result: every measured one took ~5 ms.
    expect(r.max).toBeLessThan(250);
    expect(r.achievedRps).toBeGreaterThan(80);
    expect(r.achievedRps).toBeLessThan(120);
  });
});
