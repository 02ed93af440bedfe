/**
 * The XLSX export's worker thread (started by xlsx.ts; one export at a time, then kept for the
 * next: xlsx-worker-pool.ts): takes batches of rows as flat value arrays or as the database's CSV
 * bytes (transcoded to the rows' XML without values: xlsx-csv-rows.ts), answers with the zipped
 * workbook's bytes, so that neither writing the XML nor deflating it takes the event loop that
 * answers pages. Both run here at a lower CPU priority (deflate included: xlsx-zip-tuning.ts), so
 * the cores go to pages first when both want them. Each batch is acknowledged once the zip can
 * take more: the main thread sends no more than a few unacknowledged batches.
 */
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { WorkbookEncoder, ZIP_DEFLATE, type SheetColumn } from './xlsx-workbook.js';
import { deflateInThisThread } from './xlsx-zip-tuning.js';
import { TransferChunks } from './transfer-chunks.js';

/** The workbook an export asks for. */
export interface XlsxWorkbookSpec {
  columns: SheetColumn[];
  title: string;
  sheetRowLimit: number;
}

/**
 * From the main thread: a new workbook (first, and again for each export after the worker's
 * previous one is done: xlsx-worker-pool.ts), a batch as values (row after row, field order) or
 * as the database's CSV lines (ExportSource.csvLines without the formula guard), the end of the
 * rows, or `exit`: end the thread now, whatever it was writing (xlsx-worker-pool.ts retire).
 */
export type ToXlsxWorker = { start: XlsxWorkbookSpec } | { values: unknown[] } | { csv: Uint8Array } | { end: true } | { exit: true };
/** To the main thread: zip bytes, a batch taken, every byte sent, or a failure. */
export type FromXlsxWorker = { chunk: Uint8Array } | { ack: true } | { done: true } | { error: string };

/** The worker's nice value: below the thread that answers pages when both want a core. */
const NICE = 10;

/**
 * Lowers this thread's CPU priority, not the process's: on Linux a thread id given to
 * setpriority names that thread alone. Elsewhere (no /proc) the worker keeps the process's.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readFileSync('/proc/thread-self/stat', 'utf8').split(' ', 1)[0]);
    if (Number.isInteger(tid) && tid > 0 && tid !== process.pid) setPriority(tid, NICE);
  } catch {
    // not Linux, or not permitted: the export competes as an equal
  }
}

/** Bytes of zip per message back. */
const OUTPUT_BYTES = 64 * 1024;

const port = parentPort;
if (port) {
  lowerThreadPriority();
  // The deflate too runs here, at this thread's priority, not on the process's shared threadpool.
  deflateInThisThread(import.meta.url, ZIP_DEFLATE);
  const send = (message: FromXlsxWorker, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);
  // The zip's output gathered into buffers of this thread's own, transferred rather than copied.
  const output = new TransferChunks();
  const flush = (): void => {
    const chunk = output.take();
    if (chunk) send({ chunk }, [chunk.buffer]);
  };
  const hold = (chunk: Buffer): void => {
    output.push(chunk);
    if (output.bytes >= OUTPUT_BYTES) flush();
  };
  /** The export's workbook: one at a time, from its `start` to its `end`. */
  let encoder: WorkbookEncoder | null = null;
  const current = (): WorkbookEncoder => {
    if (!encoder) throw new Error('rows came before a workbook was started');
    return encoder;
  };
  let queue = Promise.resolve();
  const handle = async (message: ToXlsxWorker): Promise<void> => {
    if ('start' in message) {
      const { columns, title, sheetRowLimit } = message.start;
      encoder = new WorkbookEncoder(columns, title, sheetRowLimit, hold);
    } else if ('values' in message || 'csv' in message) {
      const workbook = current();
      await ('values' in message ? workbook.add(message.values) : workbook.addCsv(message.csv));
      flush();
      send({ ack: true });
    } else if ('end' in message) {
      await current().finish();
      encoder = null;
      flush();
      send({ done: true });
    }
  };
  port.on('message', (message: ToXlsxWorker) => {
    if ('exit' in message) {
      // Here, between tasks, not inside one: see xlsx-worker-pool.ts for why that matters.
      encoder?.abort();
      process.exit(0);
    }
    queue = queue.then(() => handle(message)).catch((error: unknown) => {
      encoder?.abort();
      send({ error: error instanceof Error ? error.message : String(error) });
      port.close();
    });
  });
}
