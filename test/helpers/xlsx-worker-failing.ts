/**
 * A stand-in for the XLSX export's worker (createXlsxRenderer's workerScript) that fails on the
 * first batch: it throws, or with `?exit` in its URL it exits.
 */
import { parentPort } from 'node:worker_threads';

const exit = new URL(import.meta.url).search === '?exit';
parentPort?.on('message', () => {
  if (exit) process.exit(3);
  throw new Error('worker failed on purpose');
});
