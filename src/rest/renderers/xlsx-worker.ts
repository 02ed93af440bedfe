/**
 * The XLSX export's worker thread (started by xlsx.ts, one per export): takes batches of rows as
 * flat value arrays, answers with the zipped workbook's bytes, so that neither writing the XML nor
 * deflating it takes the event loop that answers pages. Each batch is acknowledged once the zip
 * can take more: the main thread sends no more than a few unacknowledged batches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CsvCells } from './xlsx-csv.js';
import { WorkbookEncoder, type SheetColumn } from './xlsx-workbook.js';

export interface XlsxWorkerData {
  columns: SheetColumn[];
  title: string;
  sheetRowLimit: number;
}

/**
 * From the main thread: a batch as values (row after row, field order) or as the database's CSV
 * lines (ExportSource.csvLines without the formula guard), or the end of the rows.
 */
export type ToXlsxWorker = { values: unknown[] } | { csv: Uint8Array } | { end: true };
/** To the main thread: zip bytes, a batch taken, every byte sent, or a failure. */
export type FromXlsxWorker = { chunk: Uint8Array } | { ack: true } | { done: true } | { error: string };

const port = parentPort;
if (port) {
  const { columns, title, sheetRowLimit } = workerData as XlsxWorkerData;
  const send = (message: FromXlsxWorker) => port.postMessage(message);
  const encoder = new WorkbookEncoder(columns, title, sheetRowLimit, (chunk) => send({ chunk }));
  const csv = new CsvCells();
  let queue = Promise.resolve();
  const handle = async (message: ToXlsxWorker): Promise<void> => {
    if ('values' in message || 'csv' in message) {
      await encoder.add('values' in message ? message.values : csv.push(message.csv));
      send({ ack: true });
    } else {
      const rest = csv.end();
      if (rest.length > 0) await encoder.add(rest);
      await encoder.finish();
      send({ done: true });
    }
  };
  port.on('message', (message: ToXlsxWorker) => {
    queue = queue.then(() => handle(message)).catch((error: unknown) => {
      encoder.abort();
      send({ error: error instanceof Error ? error.message : String(error) });
      port.close();
    });
  });
}
