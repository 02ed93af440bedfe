/**
 * XLSX export workers kept for the next export. Starting one (a V8 isolate, Node's bootstrap,
 * exceljs loaded) costs ~0.4 CPU-seconds and ~0.5 s, more than encoding a small export, and on a
 * busy machine that burst alone queued the pages beside it for seconds (bench/RESULTS.md). A worker
 * that finished its workbook cleanly waits here, unreferenced (it never holds the process open),
 * for the next export, and is ended after `idleMs` unused; one that failed or was cut off
 * mid-workbook is ended, never kept.
 *
 * A worker is ended by asking it (retire): `terminate()` stops its JavaScript wherever it is, and
 * stopped between creating a zlib handle and initialising it (every deflate makes one), Node's
 * cleanup of that thread aborts the whole process ("close before init", Node 20). Asked, it exits
 * at its next message, between tasks; terminate() is kept for one that has not within RETIRE_GRACE_MS.
 */
import type { Worker } from 'node:worker_threads';
import type { ToXlsxWorker } from './xlsx-worker.js';

/** How long a retired worker has to exit by itself: it finishes at most the batch in hand first. */
export const RETIRE_GRACE_MS = 5_000;

/** Workers asked to exit that have not yet. */
const exiting = new Set<Promise<void>>();

/**
 * Asks a worker to exit and forgets it; terminates it only if it has not exited within `graceMs`
 * (stuck in a loop: then the risk above is the lesser harm).
 */
export function retire(worker: Worker, graceMs = RETIRE_GRACE_MS): void {
  if (worker.threadId === -1) return; // exited already
  // It may still fail while it finishes its batch: that must not be thrown in this thread.
  worker.on('error', () => {});
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  exiting.add(exited);
  worker.postMessage({ exit: true } satisfies ToXlsxWorker);
  const timer = setTimeout(() => void worker.terminate(), graceMs).unref();
  void exited.then(() => {
    clearTimeout(timer);
    exiting.delete(exited);
  });
}

/**
 * Resolves once every worker retired so far has exited (each within RETIRE_GRACE_MS): a shutdown
 * waits for them, as the process's exit would otherwise stop them wherever they are.
 */
async function retiredWorkersExited(): Promise<void> {
  await Promise.all(exiting);
}

export interface XlsxWorkerPool {
  /** A kept worker, or a new one. */
  take(): Worker;
  /** Hands back a worker whose workbook finished cleanly: kept if there is room and the pool is open, else ended. */
  give(worker: Worker): void;
  /** Workers kept now (tests). */
  readonly idle: number;
  /** Retires the kept workers and waits for every retired worker to exit (a shutdown); keeps none given after. */
  close(): Promise<void>;
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
  let closed = false;

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
      // After close(), an export that finishes still gives its worker back: kept, it would outlive
      // the shutdown and be stopped wherever it is when the process exits.
      if (closed || kept.length >= max) {
        retire(worker);
        return;
      }
      worker.unref();
      const end = (): void => {
        forget(entry);
        retire(worker);
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
    async close() {
      closed = true;
      for (const entry of kept.splice(0)) {
        forget(entry);
        retire(entry.worker);
      }
      await retiredWorkersExited();
    },
  };
}
