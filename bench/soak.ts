/**
 * `npm run bench -- --soak [--minutes N]`: the service under everything at once for N minutes
 * (default 10) on a real PostgreSQL with 200,000 customers and default settings: pages, full
 * exports, exports the client aborts, slow readers (2 KB/s) and bad or hostile requests. It
 * counts every answer by status, restarts the service if it dies (and counts that), samples its
 * resident memory every second, and writes bench/results/soak.json and a "## Soak run" section
 * at the end of bench/RESULTS.md. Not part of CI (it runs for minutes); it never fails on a number.
 *
 * Passes when: no 5xx other than the documented 503 (429 is a 4xx), no restart, and resident
 * memory at the end less than 10% above what it was once warmed up.
 */
import http from 'node:http';
import net from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshToken, type BenchDatabase } from './databases.js';
import type { Started } from './processes.js';
import { LIST_PATH } from './scenarios.js';
import { median } from './load.js';

export const SOAK_ROWS = 200_000;

export interface SoakOptions {
  minutes: number;
  db: BenchDatabase;
  /** Starts a fresh service process on `db` (the harness's startService). */
  start(): Promise<Started>;
  log(line: string): void;
}

interface WorkloadCounts {
  requests: number;
  byStatus: Record<string, number>;
  /** Requests that ended without an HTTP answer when they should have had one. */
  transportErrors: number;
  latencyMs: number[];
}

export interface SoakResult {
  date: string;
  minutes: number;
  rows: number;
  restarts: number;
  workloads: Record<string, Omit<WorkloadCounts, 'latencyMs'> & { p50Ms: number | null; p99Ms: number | null }>;
  unexpected5xx: number;
  rssMb: { warm: number; end: number; max: number; growthPct: number };
  rssSamplesMb: number[];
  passed: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

function rssMb(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

const percentile = (values: number[], p: number): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

/** One request; resolves with the status (0 when the connection ended without an answer). */
function request(
  base: URL,
  path: string,
  { headers = {}, method = 'GET', readBytes, bytesPerSecond, giveUpMs, body }: {
    headers?: Record<string, string>; method?: string;
    /** Stop reading (destroy the socket) after this many body bytes: an aborted download. */
    readBytes?: number;
    /** Read the body at about this rate: a slow client. */
    bytesPerSecond?: number;
    /** Give up (destroy the socket) after this long, answer or not. */
    giveUpMs?: number;
    body?: Buffer;
  } = {},
): Promise<{ status: number; aborted: boolean; retryAfterS: number }> {
  return new Promise((resolve) => {
    let settled = false;
    let retryAfterS = 0;
    const done = (status: number, aborted: boolean) => {
      if (!settled) {
        settled = true;
        resolve({ status, aborted, retryAfterS });
      }
    };
    let answered = 0;
    const status = () => answered;
    const req = http.request({ host: base.hostname, port: base.port, path, method, headers, agent: false }, (res) => {
      answered = res.statusCode ?? 0;
      retryAfterS = Number(res.headers['retry-after'] ?? 0) || 0;
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (readBytes !== undefined && seen >= readBytes) {
          req.destroy();
          done(answered, true);
        } else if (bytesPerSecond !== undefined) {
          res.pause();
          setTimeout(() => res.resume(), (chunk.length / bytesPerSecond) * 1000).unref();
        }
      });
      res.once('end', () => done(answered, false));
      res.once('aborted', () => done(answered, true));
      res.once('error', () => done(answered, true));
      res.once('close', () => done(answered, !res.complete));
    });
    req.once('error', () => done(0, true));
    req.setTimeout(120_000, () => req.destroy());
    if (giveUpMs !== undefined) {
      setTimeout(() => {
        req.destroy();
        done(status(), true);
      }, giveUpMs).unref();
    }
    if (body) req.end(body);
    else req.end();
  });
}

/** Bytes that are not HTTP, or HTTP cut off: the answer (if any) is read and the socket closed. */
function raw(base: URL, bytes: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(Number(base.port), base.hostname);
    let answer = '';
    socket.setTimeout(15_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.once('connect', () => socket.end(bytes));
    socket.once('error', () => undefined);
    socket.once('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
  });
}

export async function runSoak({ minutes, db, start, log }: SoakOptions): Promise<SoakResult> {
  const auth = { authorization: `Token ${db.token}` };
  // Each export workload is its own user, as separate BI clients would be: the per-user export cap
  // (EXPORT_CONCURRENCY_PER_TOKEN) then does not refuse them all, and the per-process cap is met for real.
  const userAuth = async (name: string) => ({ authorization: `Token ${await freshToken(db.pool, name)}` });
  const exporter = await userAuth('soak-export');
  const aborter = await userAuth('soak-abort');
  const slowAuth = [await userAuth('soak-slow-1'), await userAuth('soak-slow-2')];
  let service = await start();
  let restarts = 0;
  const until = Date.now() + minutes * 60_000;
  const counts: Record<string, WorkloadCounts> = {};
  const record = (workload: string, status: number, ms?: number, transportError = false) => {
    const c = (counts[workload] ??= { requests: 0, byStatus: {}, transportErrors: 0, latencyMs: [] });
    c.requests++;
    c.byStatus[String(status)] = (c.byStatus[String(status)] ?? 0) + 1;
    if (transportError) c.transportErrors++;
    if (ms !== undefined) c.latencyMs.push(ms);
  };

  // The service is watched, never trusted: if it dies, that is counted and it is started again.
  const samples: number[] = [];
  const watcher = (async () => {
    while (Date.now() < until) {
      await sleep(1000);
      const rss = rssMb(service.pid);
      if (rss === null) {
        restarts++;
        log(`soak: the service died (restart ${restarts}); its log: ${service.logPath}`);
        service = await start();
      } else {
        samples.push(rss);
      }
    }
  })();
  const base = () => new URL(service.baseUrl);

  const loop = async (work: () => Promise<void>) => {
    while (Date.now() < until) await work();
  };

  const pageQueries = [
    '', '?limit=100', '?page=2', '?page=last', '?page=5000', '?sort=-id', '?sort=modified_date&limit=50',
    '?id__gt=150000&sort=-id', '?email=customer100%40example.com', '?first_name=Ay%C5%9Fe',
    '?modified_date__gte=2022-01-01T00:00:00Z&sort=modified_date', '?format=csv&limit=200', '?format=xls&limit=100',
  ];
  const pages = async () => {
    const started = performance.now();
    const { status, aborted } = await request(base(), `${LIST_PATH}${pick(pageQueries)}`, { headers: auth });
    record('pages', status, performance.now() - started, aborted);
  };

  const exportQueries = ['?limit=all&format=csv', '?limit=all&format=json', '?limit=all&format=xls&id__lte=40000', '?limit=all&format=csv&sort=-id&id__gt=100000'];
  /** A refused export waits as it is told (Retry-After), as a well-behaved client does. */
  const backOff = (status: number, retryAfterS: number) => (status === 429 || status === 503 ? sleep(Math.max(1, retryAfterS) * 1000) : undefined);

  const fullExports = async () => {
    const started = performance.now();
    const { status, aborted, retryAfterS } = await request(base(), `${LIST_PATH}${pick(exportQueries)}`, { headers: exporter });
    record('full exports', status, performance.now() - started, aborted && status !== 429);
    await backOff(status, retryAfterS);
  };

  const abortedExports = async () => {
    const { status, retryAfterS } = await request(base(), `${LIST_PATH}${pick(exportQueries)}`, {
      headers: aborter, readBytes: 1024 * (1 + Math.floor(Math.random() * 512)),
    });
    record('aborted exports', status);
    await (backOff(status, retryAfterS) ?? sleep(250));
  };

  const slowReader = (headers: Record<string, string>) => async () => {
    // A slow client for 15 s, then it gives up: the export must neither hold everything nor leak.
    const { status, retryAfterS } = await request(base(), `${LIST_PATH}?limit=all&format=${pick(['csv', 'json'])}`, {
      headers, bytesPerSecond: 2048, giveUpMs: 15_000,
    });
    record('slow readers', status);
    await backOff(status, retryAfterS);
  };

  const badRequests: Array<() => Promise<number>> = [
    () => request(base(), `${LIST_PATH}?id=abc`, { headers: auth }).then((r) => r.status),
    () => request(base(), `${LIST_PATH}?page=0`, { headers: auth }).then((r) => r.status),
    () => request(base(), `${LIST_PATH}?sort=nope`, { headers: auth }).then((r) => r.status),
    () => request(base(), LIST_PATH).then((r) => r.status),
    () => request(base(), LIST_PATH, { headers: { authorization: 'Token 0000000000000000000000000000000000000000' } }).then((r) => r.status),
    () => request(base(), `${LIST_PATH}?format=bogus`, { headers: auth }).then((r) => r.status),
    () => request(base(), LIST_PATH, { headers: { ...auth, accept: 'application/bogus' } }).then((r) => r.status),
    () => request(base(), LIST_PATH, { headers: { ...auth, host: 'evil.com>; rel="next", <http://x' } }).then((r) => r.status),
    () => request(base(), LIST_PATH, { headers: { ...auth, 'x-big': 'x'.repeat(20_000) } }).then((r) => r.status),
    () => request(base(), LIST_PATH, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: Buffer.alloc(64 * 1024, 120) }).then((r) => r.status),
    () => request(base(), LIST_PATH, { method: 'DELETE', headers: auth }).then((r) => r.status),
    () => request(base(), '/api/v1/nowhere/', { headers: auth }).then((r) => r.status),
    () => raw(base(), 'GET /%%% HTTP/1.1\r\nHost: x\r\n\r\n'),
    () => raw(base(), 'NOT HTTP AT ALL\r\n\r\n'),
    () => raw(base(), `GET ${LIST_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Token ${db.token}\r\n`),
  ];
  const bad = async () => {
    record('bad requests', await pick(badRequests)());
  };

  log(`soak: ${minutes} min on ${db.rows} customers: 4 page clients, 1 full export, 1 aborting, 2 slow readers, 1 hostile`);
  const progress = setInterval(() => {
    const total = Object.values(counts).reduce((n, c) => n + c.requests, 0);
    log(`soak: ${total} requests, RSS ${samples.at(-1)?.toFixed(0) ?? '?'} MB, restarts ${restarts}`);
  }, 60_000);
  await Promise.all([
    ...Array.from({ length: 4 }, () => loop(pages)),
    loop(fullExports),
    loop(abortedExports),
    loop(slowReader(slowAuth[0]!)),
    loop(slowReader(slowAuth[1]!)),
    loop(bad),
    watcher,
  ]);
  clearInterval(progress);
  await service.stop();

  // Resident memory swings with whatever export is running at the moment it is sampled, so growth
  // compares medians over long windows: the two minutes after the first (warm-up), and the last two.
  const windowS = Math.max(1, Math.min(120, Math.floor(samples.length / 5)));
  const warmFrom = Math.min(60, Math.floor(samples.length / 10));
  const warm = median(samples.slice(warmFrom, warmFrom + windowS));
  const end = median(samples.slice(-windowS));
  const growthPct = ((end - warm) / warm) * 100;
  let unexpected5xx = 0;
  const workloads: SoakResult['workloads'] = {};
  for (const [name, c] of Object.entries(counts)) {
    for (const [status, n] of Object.entries(c.byStatus)) if (Number(status) >= 500 && status !== '503') unexpected5xx += n;
    workloads[name] = {
      requests: c.requests, byStatus: c.byStatus, transportErrors: c.transportErrors,
      p50Ms: percentile(c.latencyMs, 50), p99Ms: percentile(c.latencyMs, 99),
    };
  }
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    date: new Date().toISOString(),
    minutes,
    rows: db.rows,
    restarts,
    workloads,
    unexpected5xx,
    rssMb: { warm: round(warm), end: round(end), max: round(Math.max(...samples)), growthPct: round(growthPct) },
    rssSamplesMb: samples.map(round),
    passed: unexpected5xx === 0 && restarts === 0 && growthPct < 10,
  };
}

/** bench/results/soak.json, and the "## Soak run" section at the end of RESULTS.md (replaced, the rest kept). */
export function writeSoakReport(r: SoakResult, root: string, commit: string): string[] {
  const json = join(root, 'bench', 'results', 'soak.json');
  writeFileSync(json, `${JSON.stringify({ commit, ...r }, null, 2)}\n`);
  const md = join(root, 'bench', 'RESULTS.md');
  const previous = existsSync(md) ? readFileSync(md, 'utf8') : '';
  const at = previous.indexOf('\n## Soak run');
  const kept = at === -1 ? previous.trimEnd() : previous.slice(0, at).trimEnd();
  const rows = Object.entries(r.workloads).map(([name, w]) =>
    `| ${name} | ${w.requests} | ${Object.entries(w.byStatus).sort().map(([s, n]) => `${s === '0' ? 'no answer' : s}: ${n}`).join(', ')} | ${w.p50Ms === null ? '' : `${w.p50Ms.toFixed(0)} / ${w.p99Ms!.toFixed(0)}`} |`);
  const section = `## Soak run

\`npm run bench -- --soak\` at ${commit}, ${r.date}: ${r.minutes} minutes on ${r.rows.toLocaleString('en-US')} customers,
default settings, everything at once (4 clients paging, 1 full export after another, 1 client
aborting exports part-way, 2 clients reading exports at 2 KB/s, 1 client sending bad and hostile
requests). Each export client is its own user and waits as \`Retry-After\` says when refused, so
the caps (3 exports per process with the default pool, 2 per user) are met as real clients meet
them. "no answer" is a connection the client or the server ended without a complete answer
(aborted and slow downloads end that way on purpose; a request the server refused at the socket
too). Memory growth compares the median resident memory of the two minutes after the first with
that of the last two (a single sample swings with whichever export is running).

| workload | requests | answers by status | latency p50 / p99 ms |
|---|---|---|---|
${rows.join('\n')}

| check | goal | measured | |
|---|---|---|---|
| 5xx other than 503 | 0 | ${r.unexpected5xx} | ${r.unexpected5xx === 0 ? 'met' : 'MISSED'} |
| restarts | 0 | ${r.restarts} | ${r.restarts === 0 ? 'met' : 'MISSED'} |
| RSS growth after warm-up | < 10% | ${r.rssMb.growthPct}% (${r.rssMb.warm} → ${r.rssMb.end} MB; max ${r.rssMb.max} MB) | ${r.rssMb.growthPct < 10 ? 'met' : 'MISSED'} |
`;
  writeFileSync(md, `${kept}\n\n${section}`);
  return [json, md];
}
