/**
 * An open-loop (paced) HTTP load client: request i is due at start + i / rate and is sent then,
 * whatever the earlier ones are doing, and its latency runs from that due time to the end of its
 * body. A slow server therefore shows up as latency (queueing in this client included), never as
 * fewer requests: no coordinated omission. Written because autocannon's `-R` sends its rate in
 * bursts (issue 14). Run directly (`tsx bench/paced.ts URL --rate R --seconds S [-H k=v]…`) it
 * prints a PacedResult as JSON, so the harness can keep it off its own event loop.
 */
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface PacedOptions {
  url: string;
  headers?: Record<string, string>;
  /** Offered requests per second. */
  rate: number;
  seconds: number;
  /** A request unanswered after this long counts as an error (its latency is still recorded). */
  timeoutMs?: number;
  /**
   * Connections at most (default 512). Beyond it a due request waits for a socket in this client,
   * and that wait counts in its latency; without a cap an overloaded server would see thousands of
   * connections and refuse some (the service's MAX_CONNECTIONS is 1024), turning latency into errors.
   */
  maxSockets?: number;
}

export interface PacedResult {
  offeredRps: number;
  /** Requests sent: always rate × seconds, whatever the server did. */
  requests: number;
  /** Sent requests over the sending window (first due time to last send). */
  achievedRps: number;
  /** Milliseconds from each request's due time to the end of its body. */
  p50: number;
  p99: number;
  max: number;
  mean: number;
  /** Connection errors, timeouts and non-2xx responses. */
  errors: number;
  /** Requests sent more than LATE_MS after their due time: the client itself fell behind. */
  lateSends: number;
  maxSendLagMs: number;
}

/** Timers fire up to about a millisecond late; beyond 2 ms the client (or its machine) is the bottleneck. */
export const LATE_MS = 2;

/** The q-quantile (nearest rank) of ascending values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export async function runPaced(options: PacedOptions): Promise<PacedResult> {
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const timeoutMs = options.timeoutMs ?? 10_000;
  // One socket per request in flight up to the cap: a due request does not wait for an earlier answer.
  const maxSockets = options.maxSockets ?? 512;
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const latencies = new Float64Array(total);
  let errors = 0;
  let lateSends = 0;
  let maxSendLagMs = 0;
  let lastSend = 0;
  const inFlight: Promise<void>[] = [];

  const send = (due: number, index: number) =>
    new Promise<void>((resolve) => {
      let settled = false;
      const done = (ok: boolean) => {
        if (settled) return;
        settled = true;
        latencies[index] = performance.now() - due;
        if (!ok) errors++;
        resolve();
      };
      const req = http.get(options.url, { agent, headers: options.headers ?? {} }, (res) => {
        res.resume();
        res.once('end', () => done(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300));
        res.once('error', () => done(false));
      });
      req.setTimeout(timeoutMs, () => {
        done(false);
        req.destroy();
      });
      req.once('error', () => done(false));
    });

  const start = performance.now() + 5;
  await new Promise<void>((finished) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      // Everything due by now goes out in this tick, each timed from its own due time.
      while (next < total && start + next * interval <= now) {
        const due = start + next * interval;
        const lag = now - due;
        if (lag > LATE_MS) lateSends++;
        maxSendLagMs = Math.max(maxSendLagMs, lag);
        inFlight.push(send(due, next));
        lastSend = now;
        next++;
      }
      if (next >= total) return finished();
      setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  await Promise.all(inFlight);
  agent.destroy();

  const sorted = latencies.slice().sort();
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    offeredRps: options.rate,
    requests: total,
    achievedRps: total / ((lastSend - start + interval) / 1000),
    p50: round(quantile(sorted, 0.5)),
    p99: round(quantile(sorted, 0.99)),
    max: round(quantile(sorted, 1)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, total)),
    errors,
    lateSends,
    maxSendLagMs: round(maxSendLagMs),
  };
}

/** The command line: `paced.ts URL --rate R --seconds S [-H name=value]…`, a PacedResult as JSON on stdout. */
async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { rate: { type: 'string' }, seconds: { type: 'string' }, header: { type: 'string', short: 'H', multiple: true } },
  });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  if (positionals.length !== 1 || !(rate > 0) || !(seconds > 0)) {
    process.stderr.write('usage: paced.ts URL --rate R --seconds S [-H name=value]…\n');
    process.exit(2);
  }
  const headers = Object.fromEntries((values.header ?? []).map((h) => [h.slice(0, h.indexOf('=')), h.slice(h.indexOf('=') + 1)]));
  process.stdout.write(`${JSON.stringify(await runPaced({ url: positionals[0]!, headers, rate, seconds }))}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
