/**
 * A stand-in for the XLSX export's worker (createXlsxRenderer's workerScript) that fails on the
 * first batch: it throws; with `?exit` in its URL it exits; with `?outgrow` it keeps allocating
 * (up to 512 MB, then throws that it was let) until its heap limit stops it.
 */
import { parentPort } from 'node:worker_threads';

const mode = new URL(import.meta.url).search.slice(1);
parentPort?.on('message', () => {
  if (mode === 'exit') process.exit(3);
  if (mode === 'outgrow') {
    const kept: number[][] = [];
    // 800 KB each (doubles), straight into the old generation.
    while (kept.length < 640) kept.push(new Array<number>(100_000).fill(0.5));
    throw new Error(`grew to ${kept.length * 0.8} MB unhindered`);
  }
  throw new Error('worker failed on purpose');
});
