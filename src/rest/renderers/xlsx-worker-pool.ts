/**
 * XLSX export workers kept for the next export. Starting one (a V8 isolate, Node's bootstrap,
 * exceljs loaded) costs ~0.4 CPU-seconds and ~0.5 s, more than encoding a small export, and on a
 * busy machine that burst alone queued the pages beside it for seconds (bench/RESULTS.md). A worker
 * that finished its workbook cleanly waits here, unreferenced (it never holds the process open),
 * for the next export, and is ended after `idleMs` unused; one that failed or was cut off
 * mid-workbook is ended, never kept.
 */
import type { Worker } from 'node:worker_threads';

export interface XlsxWorkerPool {
  /** A kept worker, or a new one. */
  take(): Worker;
  /** Hands back a worker whose workbook finished cleanly: kept if there is room, else ended. */
  give(worker: Worker): void;
  /** Workers kept now (tests). */
  readonly idle: number;
}

export interface XlsxWorkerPoolOptions {
  start: () => Worker;
  /** Workers kept at most. */
  max: number;
  idleMs: number;
}

interface Kept {
  worker: Worker;
  timer: NodeJS.Timeout;
  /** Drops it from the pool when it fails or exits while kept. */
  drop: () => void;
}

export function createXlsxWorkerPool({ start, max, idleMs }: XlsxWorkerPoolOptions): XlsxWorkerPool {
  const kept: Kept[] = [];

  const forget = (entry: Kept): void => {
    const at = kept.indexOf(entry);
    if (at !== -1) kept.splice(at, 1);
    clearTimeout(entry.timer);
    entry.worker.off('error', entry.drop);
    entry.worker.off('exit', entry.drop);
  };

  return {
    take() {
      const entry = kept.pop();
      if (!entry) return start();
      forget(entry);
      entry.worker.ref();
      return entry.worker;
    },
    give(worker) {
      if (kept.length >= max) {
        void worker.terminate();
        return;
      }
      worker.unref();
      const end = (): void => {
        forget(entry);
        void worker.terminate();
      };
      // Ended when unused for idleMs; and on 'error' too: without a listener it would be thrown in this thread.
      const entry: Kept = { worker, timer: setTimeout(end, idleMs).unref(), drop: end };
      worker.on('error', entry.drop);
      worker.once('exit', entry.drop);
      kept.push(entry);
    },
    get idle() {
      return kept.length;
    },
  };
}
