/**
 * XLSX export workers kept for the next export. Starting one (a V8 isolate, Node's bootstrap,
 * exceljs loaded) costs ~0.4 CPU-seconds and ~0.5 s, more than encoding a small export, and on a
 * busy machine that burst alone queued the pages beside it for seconds (bench/RESULTS.md). A worker
 * that finished its workbook cleanly waits here, unreferenced (it never holds the process open),
 * for the next export, and is ended after `idleMs` unused; one that failed or was cut off
 * mid-workbook is ended, never kept.
 *
 * Kept ready (keepReady, config XLSX_WORKER_READY): one worker is started and warmed at once, then
 * kept for good rather than for `idleMs`, and one that an export ends instead of giving back is
 * replaced once that export is over. The first export of a process then starts nothing beside the
 * pages: measured at 800 paced req/s, page 1's p99 during an export was 66–74 ms with a cold start
 * and 22–30 ms with a warm worker (bench/RESULTS.md, "Eighth look").
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
  /** Hands back a worker whose workbook finished cleanly: kept if there is room, else ended. */
  give(worker: Worker): void;
  /** Ends a taken worker that cannot be kept (cut off or failed mid-workbook); kept ready, starts its replacement. */
  discard(worker: Worker): void;
  /**
   * Starts a worker now if none is kept or taken, and keeps one ready from now on (see above);
   * close() ends that. Resolves once that worker is warmed and kept, or was not (it never rejects).
   */
  keepReady(): Promise<void>;
  /** Workers kept now (tests). */
  readonly idle: number;
  /** Retires the kept workers and waits for every retired worker to exit (a shutdown). */
  close(): Promise<void>;
}

export interface XlsxWorkerPoolOptions {
  start: () => Worker;
  /** Runs a new worker once before keepReady keeps it (a throwaway workbook); rejects if the worker cannot. */
  warm?: (worker: Worker) => Promise<void>;
  /** Workers kept at most. */
  max: number;
  idleMs: number;
}

interface Kept {
  worker: Worker;
  /** Its idle timeout; none while kept ready. */
  timer: NodeJS.Timeout | undefined;
  /** Drops it from the pool when it fails or exits while kept. */
  drop: () => void;
}

export function createXlsxWorkerPool({ start, warm = async () => {}, max, idleMs }: XlsxWorkerPoolOptions): XlsxWorkerPool {
  const kept: Kept[] = [];
  /** Workers taken by exports and not yet given back or discarded. */
  let taken = 0;
  let ready = false;
  /** The ready worker being started and warmed. */
  let starting: Promise<void> | null = null;

  const forget = (entry: Kept): void => {
    const at = kept.indexOf(entry);
    if (at !== -1) kept.splice(at, 1);
    clearTimeout(entry.timer);
    entry.worker.off('error', entry.drop);
    entry.worker.off('exit', entry.drop);
  };

  const keep = (worker: Worker): void => {
    if (kept.length >= max) {
      retire(worker);
      return;
    }
    worker.unref();
    const end = (): void => {
      forget(entry);
      retire(worker);
      refill();
    };
    // Ended when unused for idleMs (unless kept ready); and on 'error' too: without a listener it would be thrown in this thread.
    const timer = ready ? undefined : setTimeout(end, idleMs).unref();
    const entry: Kept = { worker, timer, drop: end };
    worker.on('error', entry.drop);
    worker.once('exit', entry.drop);
    kept.push(entry);
  };

  /** Kept ready with none kept, taken or starting: one more, warmed before it is kept. */
  function refill(): void {
    if (!ready || starting || kept.length > 0 || taken > 0) return;
    const worker = start();
    worker.unref();
    starting = warm(worker)
      .then(() => (ready ? keep(worker) : retire(worker)), () => retire(worker))
      .finally(() => {
        starting = null;
      });
  }

  return {
    take() {
      taken += 1;
      const entry = kept.pop();
      if (!entry) return start();
      forget(entry);
      entry.worker.ref();
      return entry.worker;
    },
    give(worker) {
      taken -= 1;
      keep(worker);
    },
    discard(worker) {
      taken -= 1;
      retire(worker);
      refill();
    },
    async keepReady() {
      ready = true;
      refill();
      await starting;
    },
    get idle() {
      return kept.length;
    },
    async close() {
      ready = false;
      await starting;
      for (const entry of kept.splice(0)) {
        forget(entry);
        retire(entry.worker);
      }
      await retiredWorkersExited();
    },
  };
}
