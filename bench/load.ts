/**
 * The measuring side: autocannon in its own process for request scenarios, a streaming HTTP
 * client for full exports, and PostgreSQL's own `COPY … TO STDOUT` as the export baseline.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

export interface LoadResult {
  requests: number;
  rps: number;
  /** Milliseconds; autocannon's histogram resolves whole milliseconds. */
  p50: number;
  p99: number;
  max: number;
  mean: number;
  /** Connection errors, timeouts and non-2xx responses. */
  errors: number;
  bytesPerSec: number;
}

/**
 * A load result with what was measured around it: the service's peak RSS, the machine's load
 * average before it, the CPU time stolen from the machine during it (bench/cpu-steal.ts; absent in
 * results from before it was kept), each round's rate.
 */
export type Measured = LoadResult & { peakRssMb: number | null; loadAvg1m: number; steal?: number | null; roundsRps: number[] };

interface AutocannonJson {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: { p50: number; p99: number; max: number; average: number };
  requests: { total: number };
  throughput: { total: number };
}

/** `autocannon -c connections -d seconds` against `url`, in a child process, parsed from its --json output. */
export async function runAutocannon(url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<LoadResult> {
  const args = [AUTOCANNON, '-c', String(connections), '-d', String(seconds), '-j', '-n'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  const output = await nodeOutput(args, 'autocannon');
  const r = JSON.parse(output) as AutocannonJson;
  return {
    requests: r.requests.total,
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    mean: r.latency.average,
    errors: r.errors + r.timeouts + r.non2xx,
    bytesPerSec: r.throughput.total / r.duration,
  };
}

export interface Download {
  status: number;
  contentType: string;
  bytes: number;
  /** Line feeds in the body (CSV rows + header). */
  lines: number;
  ms: number;
  /** The body, when asked to keep it. */
  body?: Buffer;
}

/**
 * One GET, streamed and counted, never buffered unless `keep`. `bytes` are the bytes on the wire;
 * a gzip body is decompressed as it arrives, and `lines` (and `body`) are of the decoded body.
 */
export function download(url: string, headers: Record<string, string>, keep = false): Promise<Download> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let bytes = 0;
        let lines = 0;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        const body = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
        body.on('data', (chunk: Buffer) => {
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
          if (keep) chunks.push(chunk);
        });
        body.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            bytes,
            lines,
            ms: performance.now() - started,
            ...(keep ? { body: Buffer.concat(chunks) } : {}),
          }),
        );
        res.once('error', reject);
        body.once('error', reject);
      })
      .once('error', reject);
  });
}

export interface CopyResult {
  rows: number;
  bytes: number;
  ms: number;
}

/** `COPY (query) TO STDOUT WITH CSV HEADER` through one pg client, bytes counted and dropped. */
export async function copyOut(pool: pg.Pool, query: string): Promise<CopyResult> {
  const client = await pool.connect();
  try {
    const started = performance.now();
    let bytes = 0;
    const stream = client.query(copyTo(`COPY (${query}) TO STDOUT WITH (FORMAT csv, HEADER)`));
    await pipeline(
      stream,
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          done();
        },
      }),
    );
    return { rows: stream.rowCount, bytes, ms: performance.now() - started };
  } finally {
    client.release();
  }
}

/** Runs `once` after one unmeasured warm-up call, then again until `seconds` have passed (at least once). */
export async function repeatFor<T extends { ms: number }>(seconds: number, warmUp: boolean, once: () => Promise<T>): Promise<T[]> {
  if (warmUp) await once();
  const results: T[] = [];
  const until = performance.now() + seconds * 1000;
  do results.push(await once());
  while (performance.now() < until);
  return results;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Each round's a / b over the rounds both have (a b of 0 gives none): rounds run back to back saw
 * the same machine, which the best round of each (minutes apart) need not have.
 */
export const roundRatios = (a: readonly number[], b: readonly number[]): number[] => a.flatMap((x, i) => (b[i] ? [x / b[i]] : []));

/** The median of roundRatios; null with fewer than two. */
export function pairedMedian(a: readonly number[], b: readonly number[]): number | null {
  const ratios = roundRatios(a, b);
  return ratios.length < 2 ? null : median(ratios);
}

/** Runs `node …args` and gives what it printed on stdout; rejects with its stderr when it fails. Each stderr line also goes to `onStderrLine` as it comes. */
export function nodeOutput(args: readonly string[], name: string, onStderrLine?: (line: string) => void): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    /** Where the next stderr line starts in `err`. */
    let lineStart = 0;
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk;
      for (let end = err.indexOf('\n', lineStart); end !== -1; end = err.indexOf('\n', lineStart)) {
        onStderrLine?.(err.slice(lineStart, end));
        lineStart = end + 1;
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${name} exited with ${code}: ${err}`))));
  });
}
