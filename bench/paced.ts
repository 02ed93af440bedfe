/**
 * An open-loop (paced) HTTP load client: request i is due at start + i / rate and is sent then,
 * whatever the earlier ones are doing, and its latency runs from that due time to the end of its
 * body. A slow server therefore shows up as latency (queueing in this client included), never as
 * fewer requests: no coordinated omission. Written because autocannon's `-R` sends its rate in
 * bursts (issue 14). Run directly (`tsx bench/paced.ts URL --rate R --seconds S [-H k=v]…`) it
 * prints a PacedResult as JSON, so the harness can keep it off its own event loop.
 */
import net from 'node:net';
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
  /**
   * Connections opened before the first due time, each answering one request that is not measured
   * (default 0): a steady client already has its connections. Without them the first due requests
   * each open one, and the server's accepts (~0.5 ms of CPU per connection and request here, for
   * node:http as for the service) can start a backlog that the rate never lets drain.
   */
  warmConnections?: number;
  /**
   * Seconds paced at the same rate before the measured ones, in this process and on the same
   * connections, answered but not counted (default 0). A fresh process's first seconds are cold
   * code, the client's as much as the server's, and their backlog is a start-up cost, not the
   * latency at that rate: as wrk2 calibrates for 10 s before it measures. The schedule runs on
   * without a gap into the measured seconds.
   */
  settleSeconds?: number;
  /** Called once, when the first measured request is due (after the settling ones). */
  onMeasuring?: () => void;
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
  /** p99 of the requests due in each second of the run, in order (ms): where in the run the tail is. */
  p99BySecond: number[];
  /**
   * Connections opened during the run, beyond the warm ones: a due request that finds none idle
   * opens one, so a server that falls behind is sent a storm of new connections as well.
   */
  connectionsOpened: number;
  /**
   * This process's CPU (user + system) per request over the run, in µs: run as its own process
   * (the harness does), what the client itself took from the cores it shares with the server.
   */
  clientCpuPerRequestUs: number;
}

/** Timers fire up to about a millisecond late; beyond 2 ms the client (or its machine) is the bottleneck. */
export const LATE_MS = 2;

/** The q-quantile (nearest rank) of ascending values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * One keep-alive HTTP/1.1 connection that sends a prepared request and reads the answer with as
 * little work as it can (the status line, Content-Length or chunked framing, nothing else): the
 * client shares the cores with the server it measures, and node:http's client cost ~0.3 ms of CPU
 * per request here, enough to make it fall behind its own schedule (issue 14).
 */
class RawConnection {
  private readonly socket: net.Socket;
  private pending: Buffer | null = null;
  /** Bytes of body still to come (Content-Length), or -1 while reading chunked framing. */
  private remaining = 0;
  private inBody = false;
  private chunked = false;
  private status = 0;
  private close = false;
  private onDone: ((ok: boolean, reusable: boolean) => void) | null = null;
  broken = false;

  constructor(host: string, port: number) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (data: Buffer) => this.read(data));
    const fail = () => {
      this.broken = true;
      this.finish(false, false);
    };
    this.socket.on('error', fail);
    this.socket.on('close', fail);
  }

  send(request: Buffer, onDone: (ok: boolean, reusable: boolean) => void): void {
    this.onDone = onDone;
    this.pending = null;
    this.inBody = false;
    this.socket.write(request);
  }

  destroy(): void {
    this.broken = true;
    this.socket.destroy();
  }

  private finish(ok: boolean, reusable: boolean): void {
    const done = this.onDone;
    this.onDone = null;
    done?.(ok, reusable);
  }

  private read(data: Buffer): void {
    let buffer = this.pending ? Buffer.concat([this.pending, data]) : data;
    this.pending = null;
    if (!this.inBody) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) {
        this.pending = buffer;
        return;
      }
      const head = buffer.toString('latin1', 0, end).toLowerCase();
      this.status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length: *(\d+)/.exec(head);
      this.chunked = !length && /\r\ntransfer-encoding: *chunked/.test(head);
      this.close = /\r\nconnection: *close/.test(head);
      this.remaining = length ? Number(length[1]) : 0;
      this.inBody = true;
      buffer = buffer.subarray(end + 4);
    }
    if (!this.chunked) {
      this.remaining -= buffer.length;
      if (this.remaining <= 0) this.complete();
      return;
    }
    // Chunked: skip each chunk by its size line; the zero-size chunk and its empty trailer end it.
    let at = 0;
    while (at < buffer.length) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, buffer.length - at);
        this.remaining -= skip;
        at += skip;
        continue;
      }
      const lineEnd = buffer.indexOf('\r\n', at);
      if (lineEnd === -1) break;
      const size = parseInt(buffer.toString('latin1', at, lineEnd), 16);
      if (size === 0) {
        if (buffer.indexOf('\r\n', lineEnd + 2) === -1) break;
        return this.complete();
      }
      at = lineEnd + 2;
      this.remaining = size + 2; // the chunk and its CRLF
    }
    this.pending = at < buffer.length ? buffer.subarray(at) : null;
  }

  private complete(): void {
    this.inBody = false;
    this.finish(this.status >= 200 && this.status < 300, !this.close);
    if (this.close) this.destroy();
  }
}

export async function runPaced(options: PacedOptions): Promise<PacedResult> {
  const total = Math.round(options.rate * options.seconds);
  /** Requests due before the measured ones: sent and answered, not counted. */
  const settling = Math.round(options.rate * (options.settleSeconds ?? 0));
  const interval = 1000 / options.rate;
  const timeoutMs = options.timeoutMs ?? 10_000;
  // One connection per request in flight up to the cap: a due request does not wait for an earlier answer.
  const maxSockets = options.maxSockets ?? 512;
  const url = new URL(options.url);
  const port = Number(url.port || 80);
  const headerLines = Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const request = Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n${headerLines}\r\n`, 'latin1');
  const idle: RawConnection[] = [];
  const all = new Set<RawConnection>();
  /** Due requests waiting for a connection (past the cap), oldest first. */
  const waiting: (() => void)[] = [];
  const latencies = new Float64Array(total);
  let errors = 0;
  let lateSends = 0;
  let maxSendLagMs = 0;
  let lastSend = 0;
  let answered = 0;
  let connectionsOpened = 0;

  const release = (connection: RawConnection, reusable: boolean) => {
    if (!reusable || connection.broken) {
      all.delete(connection);
      connection.destroy();
    } else idle.push(connection);
    waiting.shift()?.();
  };

  /** Request `index` of the whole schedule (settling ones first), due at `due`; measured from `settling` on. */
  const send = (due: number, index: number, whenAllAnswered: () => void): void => {
    const measured = index >= settling;
    let connection = idle.pop();
    if (!connection) {
      if (all.size >= maxSockets) {
        waiting.push(() => send(due, index, whenAllAnswered));
        return;
      }
      connection = new RawConnection(url.hostname, port);
      all.add(connection);
      if (measured) connectionsOpened++;
    }
    const used = connection;
    const timer = setTimeout(() => {
      done(false, false);
    }, timeoutMs - (performance.now() - due));
    let finished = false;
    const done = (ok: boolean, reusable: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (measured) {
        latencies[index - settling] = performance.now() - due;
        if (!ok) errors++;
      }
      release(used, reusable);
      if (++answered === settling + total) whenAllAnswered();
    };
    used.send(request, done);
  };

  // Warm connections: each answers one unmeasured request, then waits idle for the first due one.
  await Promise.all(Array.from({ length: options.warmConnections ?? 0 }, () => new Promise<void>((warmed) => {
    const connection = new RawConnection(url.hostname, port);
    all.add(connection);
    connection.send(request, (ok, reusable) => {
      if (ok && reusable && !connection.broken) idle.push(connection);
      else {
        all.delete(connection);
        connection.destroy();
      }
      warmed();
    });
  })));

  const start = performance.now() + 5;
  /** The first measured request's due time. */
  const measuredStart = start + settling * interval;
  let cpuBefore = process.cpuUsage();
  await new Promise<void>((allAnswered) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      // Everything due by now goes out in this tick, each timed from its own due time.
      while (next < settling + total && start + next * interval <= now) {
        const due = start + next * interval;
        if (next === settling) {
          cpuBefore = process.cpuUsage();
          options.onMeasuring?.();
        }
        if (next >= settling) {
          const lag = now - due;
          if (lag > LATE_MS) lateSends++;
          maxSendLagMs = Math.max(maxSendLagMs, lag);
          lastSend = now;
        }
        send(due, next, allAnswered);
        next++;
      }
      if (next < settling + total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  const cpu = process.cpuUsage(cpuBefore);
  for (const connection of all) connection.destroy();

  const p99BySecond: number[] = [];
  for (let from = 0; from < total; from += options.rate) {
    p99BySecond.push(Math.round(quantile(latencies.slice(from, Math.min(total, from + options.rate)).sort(), 0.99)));
  }
  const sorted = latencies.slice().sort();
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    offeredRps: options.rate,
    requests: total,
    achievedRps: total / ((lastSend - measuredStart + interval) / 1000),
    p50: round(quantile(sorted, 0.5)),
    p99: round(quantile(sorted, 0.99)),
    max: round(quantile(sorted, 1)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, total)),
    errors,
    lateSends,
    maxSendLagMs: round(maxSendLagMs),
    p99BySecond,
    connectionsOpened,
    clientCpuPerRequestUs: Math.round((cpu.user + cpu.system) / Math.max(1, total)),
  };
}

/**
 * The command line: `paced.ts URL --rate R --seconds S [--settle S] [--warm N] [--max-sockets N] [-H name=value]…`,
 * a PacedResult as JSON on stdout; `measuring` on a line of stderr when the measured seconds begin.
 */
async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { rate: { type: 'string' }, seconds: { type: 'string' }, settle: { type: 'string', default: '0' }, warm: { type: 'string', default: '0' }, 'max-sockets': { type: 'string', default: '512' }, header: { type: 'string', short: 'H', multiple: true } },
  });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const settleSeconds = Number(values.settle);
  const warmConnections = Number(values.warm);
  const maxSockets = Number(values['max-sockets']);
  if (positionals.length !== 1 || !(rate > 0) || !(seconds > 0) || !(settleSeconds >= 0) || !Number.isInteger(warmConnections) || warmConnections < 0 || !Number.isInteger(maxSockets) || maxSockets < 1) {
    process.stderr.write('usage: paced.ts URL --rate R --seconds S [--settle S] [--warm N] [--max-sockets N] [-H name=value]…\n');
    process.exit(2);
  }
  const headers = Object.fromEntries((values.header ?? []).map((h) => [h.slice(0, h.indexOf('=')), h.slice(h.indexOf('=') + 1)]));
  process.stdout.write(`${JSON.stringify(await runPaced({
    url: positionals[0]!, headers, rate, seconds, settleSeconds, warmConnections, maxSockets,
    onMeasuring: () => process.stderr.write('measuring\n'),
  }))}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
