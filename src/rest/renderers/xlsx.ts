/**
 * XLSX renderer: the port of drf-renderer-xlsx's `XLSXRenderer` (served as `application/xls`,
 * file `customers.xlsx`). One sheet named after the resource, a bold, frozen header row with an
 * autofilter, column widths from the data, and typed cells (xlsx-workbook.ts writes the file).
 * A full export is written in a worker thread (xlsx-worker.ts): the rows are read here, by the
 * database cursor, and sent over in batches; the zipped bytes come back.
 *
 * Ours, where the original (openpyxl) differs: every string is a text cell, never a formula (it
 * turned `=…` into formulas); characters XML 1.0 cannot carry become U+FFFD instead of a 500;
 * datetimes are Excel date-times with a millisecond format (it wrote ISO strings), which cuts
 * microseconds to milliseconds because Excel has no finer format; a sheet that reaches Excel's
 * row limit continues on `customers (2)` and so on.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CompiledField } from '../../resource/declaration.js';
import type { Renderer, Row } from './renderer.js';
import { SHEET_ROW_LIMIT, WorkbookEncoder, type SheetColumn } from './xlsx-workbook.js';
import type { FromXlsxWorker, ToXlsxWorker, XlsxWorkerData } from './xlsx-worker.js';

export { excelDate, xmlSafe, SHEET_ROW_LIMIT } from './xlsx-workbook.js';

/** Batches sent to the worker and not yet taken by its zip: the rows held besides the cursor's. */
const MAX_IN_FLIGHT = 4;
const OUT_BUFFER = 64 * 1024;

/** The worker script beside this module: TypeScript source under tsx/vitest, JavaScript in dist/. */
const WORKER_SCRIPT = new URL(import.meta.url.endsWith('.ts') ? './xlsx-worker.ts' : './xlsx-worker.js', import.meta.url);

/** tsx's ESM register API, by its package's `exports` (its CommonJS build cannot load it). */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  const entry = exports['./esm/api']?.import.default ?? './dist/esm/api/index.mjs';
  return new URL(entry, pathToFileURL(manifest)).href;
}

/**
 * A worker running `script`. Node runs no TypeScript, so a .ts script (tests, `npm run dev`) is
 * loaded through tsx's loader, registered in the worker first; tsx is a dev dependency.
 */
function startWorker(script: URL, workerData: XlsxWorkerData): Worker {
  if (!script.pathname.endsWith('.ts')) return new Worker(script, { workerData });
  const tsx = tsxEsmApi();
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

const sheetColumns = (fields: readonly CompiledField[]): SheetColumn[] => fields.map(({ name, valueType }) => ({ name, valueType }));

/** A batch as the worker takes it: one flat array, row after row, values in field order. */
function flatten(batch: readonly Row[], names: readonly string[]): unknown[] {
  const values = new Array<unknown>(batch.length * names.length);
  let i = 0;
  for (const row of batch) for (const name of names) values[i++] = row[name] ?? null;
  return values;
}

/**
 * The export's bytes, encoded in a worker. Backpressure both ways: a batch is read from the
 * source only while fewer than MAX_IN_FLIGHT are unacknowledged by the worker and the client has
 * taken what came back. Destroying the stream (client gone) or a failure of the worker or the
 * source ends both the worker and the source's iteration, which closes its snapshot.
 */
function workerStream(
  fields: readonly CompiledField[],
  batches: AsyncIterable<readonly Row[]>,
  title: string,
  sheetRowLimit: number,
  script: URL,
): Readable {
  const names = fields.map((field) => field.name);
  const iterator = batches[Symbol.asyncIterator]();
  let worker: Worker | null = null;
  let inFlight = 0;
  let pumping = false;
  let sourceDone = false;
  let finished = false;
  /** The source's pending next(): its iteration is ended only once that settles. */
  let pending: Promise<unknown> = Promise.resolve();

  const stop = (): void => {
    if (worker && !finished) void worker.terminate();
    finished = true;
    if (!sourceDone) {
      sourceDone = true;
      void pending.then(() => iterator.return?.()).catch(() => {});
    }
  };

  const out = new Readable({
    highWaterMark: OUT_BUFFER,
    read: () => void pump(),
    destroy: (error, callback) => {
      stop();
      callback(error);
    },
  });

  const post = (message: ToXlsxWorker): void => worker?.postMessage(message);

  async function pump(): Promise<void> {
    if (pumping || sourceDone) return;
    pumping = true;
    try {
      worker ??= start();
      while (!out.destroyed && !sourceDone && inFlight < MAX_IN_FLIGHT && out.readableLength < out.readableHighWaterMark) {
        const next = iterator.next();
        pending = next;
        const { done, value } = await next;
        if (out.destroyed) return;
        if (done) {
          sourceDone = true;
          post({ end: true });
          return;
        }
        inFlight += 1;
        post({ values: flatten(value, names) });
      }
    } catch (error) {
      sourceDone = true;
      out.destroy(error as Error);
    } finally {
      pumping = false;
    }
  }

  function start(): Worker {
    const started = startWorker(script, { columns: sheetColumns(fields), title, sheetRowLimit });
    started.on('message', (message: FromXlsxWorker) => {
      if (out.destroyed) return;
      if ('chunk' in message) {
        const { chunk } = message;
        out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } else if ('ack' in message) {
        inFlight -= 1;
        void pump();
      } else if ('done' in message) {
        finished = true;
        void started.terminate();
        out.push(null);
      } else {
        out.destroy(new Error(`XLSX export failed: ${message.error}`));
      }
    });
    started.on('error', (error) => out.destroy(error));
    started.on('exit', (code) => {
      if (!finished) out.destroy(new Error(`XLSX export worker exited (code ${code})`));
    });
    return started;
  }

  return out;
}

/** A page's workbook, written in this thread: a page is small (at most MAX_PAGE_SIZE rows). */
async function pageWorkbook(fields: readonly CompiledField[], rows: readonly Row[], title: string, sheetRowLimit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const encoder = new WorkbookEncoder(sheetColumns(fields), title, sheetRowLimit, (chunk) => chunks.push(chunk));
  await encoder.add(flatten(rows, fields.map((field) => field.name)));
  await encoder.finish();
  return Buffer.concat(chunks);
}

export interface XlsxRendererOptions {
  sheetRowLimit?: number;
  /** The export's worker script (tests give one that fails); xlsx-worker beside this module by default. */
  workerScript?: URL;
}

export function createXlsxRenderer({ sheetRowLimit = SHEET_ROW_LIMIT, workerScript = WORKER_SCRIPT }: XlsxRendererOptions = {}): Renderer {
  return {
    mediaType: 'application/xls',
    format: 'xls',
    charset: null,
    // Ours: the registered type of .xlsx selects it too.
    alsoAccepts: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    // Ours: `?format=xlsx` names the file it downloads (the original answered 404).
    formatAliases: ['xlsx'],
    download: { extension: 'xlsx' },
    render: (page, { fields, title }) => pageWorkbook(fields, page.results, title, sheetRowLimit),
    stream: (_envelope, source, { fields, title }) => workerStream(fields, source.rows(), title, sheetRowLimit, workerScript),
  };
}

export const xlsxRenderer: Renderer = createXlsxRenderer();
