/**
 * Full XLSX export, before and after the worker thread (issue 14 part 3), in one run on the same
 * rows: the exceljs renderer as it was (bench/xlsx-exceljs.ts) and the service's (src/rest/renderers/xlsx.ts),
 * alternating, each reading every row of the database at DATABASE_URL through the list repository's
 * export cursor (as the service does) and writing the file to nowhere. Reports rows/s, the
 * main thread's event-loop delay (monitorEventLoopDelay) during the export, and CPU: the whole
 * process's, the main thread's, and the export worker's (the threads at the worker's nice value,
 * sampled from /proc while the export runs; Linux only).
 *   DATABASE_URL=postgresql://… npx tsx bench/xlsx-export.ts [--rounds 2] [--limit N] [--only exceljs|worker|baseline[,…]]
 *     [--baseline DIR]
 * --baseline DIR adds DIR's service renderer (DIR/src/rest/renderers/xlsx.ts: an older commit's
 * checkout, e.g. `git worktree add DIR <commit>` with node_modules and src/generated linked) to
 * every round, before this one's: before/after within one run.
 * (fill the database first: npm run db:generate-customers -- --count 1000000)
 */
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { customerResource } from '../src/customers/customer.resource.js';
import { createListRepository } from '../src/repository/list-repository.js';
import type { Renderer, RenderContext } from '../src/rest/renderers/renderer.js';
import { xlsxRenderer } from '../src/rest/renderers/xlsx.js';
import { xlsxRenderer as exceljsRenderer } from './xlsx-exceljs.js';

const { values: argv } = parseArgs({
  options: { rounds: { type: 'string', default: '2' }, limit: { type: 'string' }, only: { type: 'string' }, baseline: { type: 'string' } },
});
const url = process.env.DATABASE_URL;
if (!url) {
  process.stderr.write('usage: DATABASE_URL=postgresql://… npx tsx bench/xlsx-export.ts [--rounds N] [--limit N]\n');
  process.exit(2);
}
const pool = new pg.Pool({ connectionString: url, max: 2 });
const repository = createListRepository({ pool }, customerResource, { unfilteredCountTable: 'customer_count' });
const ctx: RenderContext = { mediaType: 'application/xls', params: {}, fields: customerResource.fields, title: 'customers' };
const conditions = argv.limit ? customerResource.parseQuery(new Map([['id__lte', argv.limit]])).conditions : [];

/**
 * CPU seconds of the calling (main) thread, from Linux's /proc/thread-self/stat (utime + stime,
 * at 100 ticks/s); null elsewhere. Node 20 has no per-thread CPU clock of its own.
 */
function mainThreadCpuS(): number | null {
  try {
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** The export worker's nice value (src/rest/renderers/xlsx-worker.ts), which tells its thread apart. */
const WORKER_NICE = 10;

/** CPU seconds of each of this process's threads at WORKER_NICE, by thread id; empty elsewhere than Linux. */
function workerThreadsCpuS(): Map<string, number> {
  const threads = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      if (Number(fields[16]) === WORKER_NICE) threads.set(tid, (Number(fields[11]) + Number(fields[12])) / 100);
    }
  } catch {
    // not Linux, or a thread gone while read: what was read so far
  }
  return threads;
}

interface Run {
  name: string;
  rows: number;
  seconds: number;
  rowsPerSec: number;
  mb: number;
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
  /** CPU seconds of the whole process (every thread: main, worker, zlib's pool) and of the main thread alone. */
  cpuS: number;
  mainCpuS: number | null;
  /** CPU seconds of the export's worker thread, and per row in microseconds (null: no worker seen). */
  workerCpuS: number | null;
  workerUsPerRow: number | null;
}

async function exportOnce(name: string, renderer: Renderer): Promise<Run> {
  const source = await repository.openExport(conditions, [{ column: 'id', descending: false }], { signal: new AbortController().signal });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  let bytes = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuS();
  // The worker's thread is gone once the export ends: its CPU is the last sample taken while it ran.
  const before = workerThreadsCpuS();
  const seen = new Map<string, number>();
  let sampledAt = 0;
  const sample = () => {
    sampledAt = performance.now();
    for (const [tid, s] of workerThreadsCpuS()) if (!before.has(tid)) seen.set(tid, s);
  };
  const sampler = setInterval(sample, 50);
  delay.enable();
  const stream = await renderer.stream({ count: source.count, next: null, previous: null }, source, ctx);
  await pipeline(stream, new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      bytes += chunk.length;
      if (performance.now() - sampledAt > 10) sample();
      callback();
    },
  }));
  delay.disable();
  clearInterval(sampler);
  const workerCpu = seen.size === 0 ? null : [...seen.values()].reduce((a, b) => a + b, 0);
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const mainAfter = mainThreadCpuS();
  return {
    cpuS: (used.user + used.system) / 1e6, mainCpuS: mainCpu === null || mainAfter === null ? null : mainAfter - mainCpu,
    workerCpuS: workerCpu, workerUsPerRow: workerCpu === null ? null : (workerCpu * 1e6) / source.count,
    name, rows: source.count, seconds, rowsPerSec: source.count / seconds, mb: bytes / 1e6,
    loopDelayMaxMs: delay.max / 1e6, loopDelayP99Ms: delay.percentile(99) / 1e6,
  };
}

const renderers: [string, Renderer][] = [['exceljs (before)', exceljsRenderer]];
if (argv.baseline) {
  const module = (await import(pathToFileURL(resolve(argv.baseline, 'src/rest/renderers/xlsx.ts')).href)) as { xlsxRenderer: Renderer };
  renderers.push([`baseline (${argv.baseline})`, module.xlsxRenderer]);
}
renderers.push(['worker (after)', xlsxRenderer]);

const runs: Run[] = [];
process.stdout.write(`load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
for (let round = 0; round < Number(argv.rounds); round++) {
  for (const [name, renderer] of renderers) {
    if (argv.only && !argv.only.split(',').some((prefix) => name.startsWith(prefix))) continue;
    const run = await exportOnce(name, renderer);
    runs.push(run);
    process.stdout.write(`${JSON.stringify(run)}\n`);
  }
}
await pool.end();
process.stdout.write(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
/** One decimal, or a dash where there is nothing to show (no worker thread: exceljs). */
const orDash = (x: number) => (Number.isNaN(x) ? '—' : x.toFixed(1));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
process.stdout.write('\n| Renderer | rows | rows/s (median) | MB | CPU s: process / main thread / worker (median) | worker µs/row (median) | main-thread loop delay max / p99 (ms, median) |\n|---|---:|---:|---:|---:|---:|---:|\n');
for (const name of new Set(runs.map((r) => r.name))) {
  const mine = runs.filter((r) => r.name === name);
  process.stdout.write(`| ${name} | ${mine[0]?.rows.toLocaleString('en')} | ${Math.round(median(mine.map((r) => r.rowsPerSec))).toLocaleString('en')} | ${median(mine.map((r) => r.mb)).toFixed(1)} | ${median(mine.map((r) => r.cpuS)).toFixed(1)} / ${median(mine.map((r) => r.mainCpuS ?? NaN)).toFixed(1)} / ${orDash(median(mine.map((r) => r.workerCpuS ?? NaN)))} | ${orDash(median(mine.map((r) => r.workerUsPerRow ?? NaN)))} | ${median(mine.map((r) => r.loopDelayMaxMs)).toFixed(0)} / ${median(mine.map((r) => r.loopDelayP99Ms)).toFixed(1)} |\n`);
}
