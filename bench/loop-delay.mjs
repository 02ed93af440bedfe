/**
 * Preloaded into the service by the latency scenario (`node --import ./bench/loop-delay.mjs`), so
 * that the service's event-loop delay can be read without changing src/: every 250 ms it appends
 * that window's delay (perf_hooks.monitorEventLoopDelay, ms) as a JSON line to LOOP_DELAY_FILE.
 * Plain JavaScript: the service runs compiled, without tsx.
 */
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const file = process.env.LOOP_DELAY_FILE;
// Worker threads (the XLSX export's) inherit --import: only the main thread's loop is the one requests wait on.
if (file && isMainThread) {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  setInterval(() => {
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    appendFileSync(file, `${JSON.stringify({ at: Date.now(), p99: ms(histogram.percentile(99)), max: ms(histogram.max) })}\n`);
    histogram.reset();
  }, 250).unref();
}
