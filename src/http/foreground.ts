/**
 * Ours: requests someone is waiting on (pages, OPTIONS, probes) come before the bulk of an export.
 * Every request counts itself in when it arrives and out when its response closes; a `limit=all`
 * export counts itself out as soon as it starts streaming. An export's CPU-heavy stages (its rows'
 * encoding, the deflate, the database's COPY behind them) ask `yieldTo()` before each batch: while
 * any request is in, the export waits until none is, but never longer than `maxWaitMs` per batch,
 * so that under a steady stream of pages it still moves (at least a batch per `maxWaitMs`) and a
 * request that hangs cannot stop it. On two cores a full XLSX export would otherwise take about
 * half the machine from the pages beside it (issue 14: pages' p99 rose from milliseconds to seconds).
 */

export interface Foreground {
  /** Counts a request in; the function returned counts it out, once, however often it is called. */
  enter(): () => void;
  /** Requests counted in now. */
  readonly inFlight: number;
  /**
   * Nothing when no request is in (the caller goes on at once, without a promise); otherwise a
   * promise that settles when the last one leaves, or after maxWaitMs, whichever comes first.
   */
  yieldTo(): Promise<void> | undefined;
}

export interface ForegroundOptions {
  /** Longest wait of one yield, ms; 0 turns yielding off (yieldTo never waits). */
  maxWaitMs: number;
}

export function createForeground({ maxWaitMs }: ForegroundOptions): Foreground {
  let inFlight = 0;
  /** Wakers of the yields waiting now; each removes itself, by the last request leaving or by its timer. */
  const waiting = new Set<() => void>();

  const wakeAll = () => {
    for (const wake of [...waiting]) wake();
  };

  return {
    enter() {
      inFlight++;
      let left = false;
      return () => {
        if (left) return;
        left = true;
        inFlight--;
        if (inFlight === 0 && waiting.size > 0) wakeAll();
      };
    },
    get inFlight() {
      return inFlight;
    },
    yieldTo() {
      if (inFlight === 0 || maxWaitMs <= 0) return undefined;
      return new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          waiting.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, maxWaitMs);
        waiting.add(wake);
      });
    },
  };
}
