/**
 * Full XLSX export, before and after the worker thread (issue 14 part 3), in one run on the same
 * rows: the exceljs renderer as it was (bench/xlsx-exceljs.ts) and the service's (src/rest/renderers/xlsx.ts),
 * alternating, each reading every row of the database at DATABASE_URL through the list repository's
 * export cursor (as the service does) and writing the file to nowhere. Reports rows/s and the
 * main thread's event-loop delay (monitorEventLoopDelay) during the export.
 *   DATABASE_URL=postgresql://… npx tsx bench/xlsx-export.ts [--rounds 2] [--limit N] [--only exceljs|worker]
 * (fill the database first: npm run db:generate-customers -- --count 1000000)
 */
import { readFileSync } from 'node:fs';
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

const { values: argv } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, limit: { type: 'string' }, only: { type: 'string' } } });
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
}

async function exportOnce(name: string, renderer: Renderer): Promise<Run> {
  const source = await repository.openExport(conditions, [{ column: 'id', descending: false }], { signal: new AbortController().signal });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  let bytes = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuS();
  delay.enable();
  const stream = await renderer.stream({ count: source.count, next: null, previous: null }, source, ctx);
  await pipeline(stream, new Writable({ write: (chunk: Buffer, _encoding, callback) => { bytes += chunk.length; callback(); } }));
  delay.disable();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const mainAfter = mainThreadCpuS();
  return {
    cpuS: (used.user + used.system) / 1e6, mainCpuS: mainCpu === null || mainAfter === null ? null : mainAfter - mainCpu,
    name, rows: source.count, seconds, rowsPerSec: source.count / seconds, mb: bytes / 1e6,
    loopDelayMaxMs: delay.max / 1e6, loopDelayP99Ms: delay.percentile(99) / 1e6,
  };
}

const runs: Run[] = [];
for (let round = 0; round < Number(argv.rounds); round++) {
  for (const [name, renderer] of [['exceljs (before)', exceljsRenderer], ['worker (after)', xlsxRenderer]] as const) {
    if (argv.only && !name.startsWith(argv.only)) continue;
    const run = await exportOnce(name, renderer);
    runs.push(run);
    process.stdout.write(`${JSON.stringify(run)}\n`);
  }
}
await pool.end();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
process.stdout.write('\n| Renderer | rows | rows/s (median) | MB | CPU s: process / main thread (median) | main-thread loop delay max / p99 (ms, median) |\n|---|---:|---:|---:|---:|---:|\n');
for (const name of new Set(runs.map((r) => r.name))) {
  const mine = runs.filter((r) => r.name === name);
  process.stdout.write(`| ${name} | ${mine[0]?.rows.toLocaleString('en')} | ${Math.round(median(mine.map((r) => r.rowsPerSec))).toLocaleString('en')} | ${median(mine.map((r) => r.mb)).toFixed(1)} | ${median(mine.map((r) => r.cpuS)).toFixed(1)} / ${median(mine.map((r) => r.mainCpuS ?? NaN)).toFixed(1)} | ${median(mine.map((r) => r.loopDelayMaxMs)).toFixed(0)} / ${median(mine.map((r) => r.loopDelayP99Ms)).toFixed(1)} |\n`);
}
