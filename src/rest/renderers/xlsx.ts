/**
 * XLSX renderer: the port of drf-renderer-xlsx's `XLSXRenderer` (served as `application/xls`,
 * file `customers.xlsx`). One sheet named after the resource, a bold, frozen header row with an
 * autofilter, column widths from the data, and typed cells (xlsx-workbook.ts: exceljs writes the workbook, we write the rows).
 * Every workbook, a page's as a full export's, is written in a worker thread (xlsx-worker.ts): the
 * rows are read here (an export's by the database cursor, in batches) and sent over; the zipped
 * bytes come back. exceljs is never loaded in this thread.
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
import { SHEET_ROW_LIMIT, type SheetColumn } from './xlsx-workbook.js';
import type { FromXlsxWorker, ToXlsxWorker } from './xlsx-worker.js';
import { createXlsxWorkerPool, retire, type XlsxWorkerPool } from './xlsx-worker-pool.js';
import { TransferChunks } from './transfer-chunks.js';
import { collect } from './tabular.js';

export { excelDate, xmlSafe, SHEET_ROW_LIMIT } from './xlsx-workbook.js';

/** Batches sent to the worker and not yet taken by its zip: the rows held besides the cursor's. */
const MAX_IN_FLIGHT = 4;
const OUT_BUFFER = 64 * 1024;
/** Finished workers kept for the next export (xlsx-worker-pool.ts), and for how long unused. */
const KEPT_WORKERS = 1;
const KEPT_WORKER_IDLE_MS = 60_000;

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
 * The worker's old generation, at most (MB). Its live heap is ~10 MB (a batch in hand, exceljs,
 * the zip's state); the rest is garbage, mostly buffers, that V8 lets pile up to a limit it sets
 * from this cap: uncapped, the worker held 40-50 MB of dead buffers at a time and a full export's
 * peak RSS was 20-30 MB higher (docs/design.md, "Node's flags"). A worker that does outgrow it
 * fails its export alone, as any worker error does.
 */
const WORKER_OLD_GENERATION_MB = 64;

/**
 * A worker running `script`. Node runs no TypeScript, so a .ts script (tests, `npm run dev`) is
 * loaded through tsx's loader, registered in the worker first; tsx is a dev dependency.
 */
function startWorker(script: URL): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: WORKER_OLD_GENERATION_MB };
  if (!script.pathname.endsWith('.ts')) return new Worker(script, { resourceLimits });
  const tsx = tsxEsmApi();
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); })`;
  return new Worker(boot, { eval: true, resourceLimits });
}

const sheetColumns = (fields: readonly CompiledField[]): SheetColumn[] => fields.map(({ name, valueType }) => ({ name, valueType }));

/** A batch as the worker takes it: one flat array, row after row, values in field order. */
function flatten(batch: readonly Row[], names: readonly string[]): unknown[] {
  const values = new Array<unknown>(batch.length * names.length);
  let i = 0;
  for (const row of batch) for (const name of names) values[i++] = row[name] ?? null;
  return values;
}

/** A message for the worker, with the buffers it hands over. */
interface Outgoing {
  message: ToXlsxWorker;
  transfer?: ArrayBuffer[];
}

async function* rowMessages(batches: AsyncIterable<readonly Row[]>, names: readonly string[]): AsyncGenerator<Outgoing> {
  for await (const batch of batches) yield { message: { values: flatten(batch, names) } };
}

/** Bytes of CSV per message: COPY hands over what each socket read brought (8-64 KB, ~27 KB on average here), and a message costs microseconds. */
const CSV_MESSAGE_BYTES = 64 * 1024;

/** The database's CSV lines in messages of about CSV_MESSAGE_BYTES, each in a buffer of its own to transfer. */
async function* csvMessages(lines: Readable): AsyncGenerator<Outgoing> {
  const held = new TransferChunks();
  const take = (csv: Uint8Array<ArrayBuffer>): Outgoing => ({ message: { csv }, transfer: [csv.buffer] });
  for await (const chunk of lines) {
    held.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    if (held.bytes >= CSV_MESSAGE_BYTES) yield take(held.take()!);
  }
  const rest = held.take();
  if (rest) yield take(rest);
}

/**
 * The export's bytes, encoded in a worker. Backpressure both ways: a batch is read from the
 * source only while fewer than MAX_IN_FLIGHT are unacknowledged by the worker and the client has
 * taken what came back. Destroying the stream (client gone) or a failure of the worker or the
 * source ends both the worker and the source's iteration, which closes its snapshot.
 */
function workerStream(
  fields: readonly CompiledField[],
  messages: AsyncGenerator<Outgoing>,
  title: string,
  sheetRowLimit: number,
  workers: XlsxWorkerPool,
  /** Ends the source whatever state `messages` is in (a COPY stream is destroyed). */
  release: () => void,
  /** Asked before each batch is read and sent (renderer.ts). */
  yieldTo?: () => Promise<void> | undefined,
): Readable {
  const iterator = messages;
  let worker: Worker | null = null;
  let inFlight = 0;
  /**
   * The reader wants more: set by read(), cleared when a push fills the buffer. Not the buffer's
   * length: Readable.read() asks _read() for more before it takes the bytes it returns, so the
   * buffer still looks full then, and a read() answered with nothing is not asked again until
   * something is pushed (with a kept worker idle, nothing would be: the export stalled for good).
   */
  let wanted = true;
  let pumping = false;
  let sourceDone = false;
  let finished = false;
  /** The source's pending next(): its iteration is ended only once that settles. */
  let pending: Promise<unknown> = Promise.resolve();

  const stop = (): void => {
    // Cut off mid-workbook: its state is this export's, so it is ended, never kept.
    if (worker && !finished) {
      detach();
      retire(worker);
    }
    finished = true;
    if (!sourceDone) {
      sourceDone = true;
      void pending.then(() => iterator.return(undefined)).catch(() => {}).finally(release);
    }
  };

  const out = new Readable({
    highWaterMark: OUT_BUFFER,
    read: () => {
      wanted = true;
      void pump();
    },
    destroy: (error, callback) => {
      stop();
      callback(error);
    },
  });

  const post = ({ message, transfer }: Outgoing): void => worker?.postMessage(message, transfer);

  async function pump(): Promise<void> {
    if (pumping || sourceDone) return;
    pumping = true;
    try {
      worker ??= start();
      while (!out.destroyed && !sourceDone && inFlight < MAX_IN_FLIGHT && wanted) {
        // Other requests first: the next batch is read (and the database's COPY resumed) once they are done.
        const wait = yieldTo?.();
        if (wait) {
          await wait;
          if (out.destroyed || sourceDone) return;
        }
        const next = iterator.next();
        pending = next;
        const { done, value } = await next;
        if (out.destroyed) return;
        if (done) {
          sourceDone = true;
          post({ message: { end: true } });
          return;
        }
        inFlight += 1;
        post(value);
      }
    } catch (error) {
      sourceDone = true;
      out.destroy(error as Error);
    } finally {
      pumping = false;
    }
  }

  const onMessage = (message: FromXlsxWorker): void => {
    if (out.destroyed) return;
    if ('chunk' in message) {
      const { chunk } = message;
      wanted = out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } else if ('ack' in message) {
      inFlight -= 1;
      void pump();
    } else if ('done' in message) {
      finished = true;
      detach();
      // Its workbook is complete: ready for the next export.
      if (worker) workers.give(worker);
      out.push(null);
    } else {
      out.destroy(new Error(`XLSX export failed: ${message.error}`));
    }
  };
  const onError = (error: Error): void => void out.destroy(error);
  const onExit = (code: number): void => {
    if (!finished) out.destroy(new Error(`XLSX export worker exited (code ${code})`));
  };
  function detach(): void {
    worker?.off('message', onMessage).off('error', onError).off('exit', onExit);
  }

  function start(): Worker {
    const started = workers.take();
    started.on('message', onMessage).on('error', onError).on('exit', onExit);
    started.postMessage({ start: { columns: sheetColumns(fields), title, sheetRowLimit } } satisfies ToXlsxWorker);
    return started;
  }

  // Started at once, not on the first read: a generator that never started would skip its
  // finally (which closes the snapshot) when ended.
  void pump();
  return out;
}

/**
 * A page's workbook, encoded by a worker as an export's is: this thread only flattens the rows and
 * hands them over. Encoded here, a page of 1,000 rows held this thread 10-30 ms, every other request
 * waiting, and the process's first one ~130 ms while it loaded exceljs (bench/RESULTS.md, "Eleventh
 * look"); exceljs is now never loaded in this thread.
 */
async function pageWorkbook(fields: readonly CompiledField[], rows: readonly Row[], title: string, sheetRowLimit: number, workers: XlsxWorkerPool): Promise<Buffer> {
  const names = fields.map((field) => field.name);
  async function* page(): AsyncGenerator<Outgoing> {
    if (rows.length > 0) yield { message: { values: flatten(rows, names) } };
  }
  return collect(workerStream(fields, page(), title, sheetRowLimit, workers, () => {}));
}

/**
 * Pages' workbooks one at a time, in order: concurrent page requests wait for the worker in hand
 * instead of each starting one (a thread, its isolate and exceljs: ~0.1 CPU-s and 5-10 MB each).
 */
function oneAtATime<A extends unknown[], R>(work: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  let turn: Promise<unknown> = Promise.resolve();
  return (...args) => {
    const result = turn.then(() => work(...args));
    turn = result.catch(() => undefined);
    return result;
  };
}

export interface XlsxRendererOptions {
  sheetRowLimit?: number;
  /** The export's worker script (tests give one that fails); xlsx-worker beside this module by default. */
  workerScript?: URL;
}

export function createXlsxRenderer({ sheetRowLimit = SHEET_ROW_LIMIT, workerScript = WORKER_SCRIPT }: XlsxRendererOptions = {}): Renderer {
  const workers = createXlsxWorkerPool({ start: () => startWorker(workerScript), max: KEPT_WORKERS, idleMs: KEPT_WORKER_IDLE_MS });
  const encodePage = oneAtATime((fields: readonly CompiledField[], rows: readonly Row[], title: string) =>
    pageWorkbook(fields, rows, title, sheetRowLimit, workers));
  return {
    mediaType: 'application/xls',
    format: 'xls',
    charset: null,
    // Ours: the registered type of .xlsx selects it too.
    alsoAccepts: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    // Ours: `?format=xlsx` names the file it downloads (the original answered 404).
    formatAliases: ['xlsx'],
    download: { extension: 'xlsx' },
    render: (page, { fields, title }) => encodePage(fields, page.results, title),
    close: () => workers.close(),
    // The database's CSV lines where it writes them (a server), else the rows.
    stream: async (_envelope, source, { fields, title, yieldTo }) => {
      // LF-ended: the worker's reader ignores CR outside quotes, so the CSV renderer's CRLF is work for nothing.
      const lines = await source.csvLines({ formulaGuard: false, lineEnding: 'lf' });
      if (lines) return workerStream(fields, csvMessages(lines), title, sheetRowLimit, workers, () => lines.destroy(), yieldTo);
      const messages = rowMessages(source.rows(), fields.map((field) => field.name));
      return workerStream(fields, messages, title, sheetRowLimit, workers, () => {}, yieldTo);
    },
  };
}

export const xlsxRenderer: Renderer = createXlsxRenderer();
