/**
 * The XLSX export's kept workers (src/rest/renderers/xlsx-worker-pool.ts), with real threads: a
 * finished worker is taken again instead of starting one, no more are kept than asked, an unused
 * one is ended after its idle time, and one that fails while kept leaves the pool without harm.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createXlsxWorkerPool } from '../../src/rest/renderers/xlsx-worker-pool.js';

/** A thread that exits when told to, else waits. */
const SCRIPT = `require('node:worker_threads').parentPort.on('message', (m) => { if (m === 'exit') process.exit(0); if (m === 'throw') throw new Error('boom'); });`;
const started: Worker[] = [];
const start = () => {
  const worker = new Worker(SCRIPT, { eval: true });
  started.push(worker);
  return worker;
};
const exited = (worker: Worker) => new Promise<void>((resolve) => (worker.threadId === -1 ? resolve() : worker.once('exit', () => resolve())));

afterEach(async () => {
  await Promise.all(started.splice(0).map((worker) => worker.terminate()));
});

describe('kept XLSX workers', () => {
  it('gives a finished worker to the next export instead of starting one', async () => {
    const pool = createXlsxWorkerPool({ start, max: 1, idleMs: 60_000 });
    const first = pool.take();
    pool.give(first);
    expect(pool.idle).toBe(1);
    expect(pool.take()).toBe(first);
    expect(pool.idle).toBe(0);
    expect(started).toHaveLength(1);
  });

  it('keeps no more than max, ending the others', async () => {
    const pool = createXlsxWorkerPool({ start, max: 1, idleMs: 60_000 });
    const [a, b] = [pool.take(), pool.take()];
    pool.give(a);
    pool.give(b);
    expect(pool.idle).toBe(1);
    await exited(b);
    expect(pool.take()).toBe(a);
  });

  it('ends a worker left unused for idleMs', async () => {
    const pool = createXlsxWorkerPool({ start, max: 1, idleMs: 50 });
    const worker = pool.take();
    pool.give(worker);
    await exited(worker);
    expect(pool.idle).toBe(0);
    expect(pool.take()).not.toBe(worker);
  });

  it.each(['exit', 'throw'])('drops a kept worker that %ss, and the process carries on', async (how) => {
    const pool = createXlsxWorkerPool({ start, max: 1, idleMs: 60_000 });
    const worker = pool.take();
    pool.give(worker);
    worker.postMessage(how);
    await exited(worker);
    expect(pool.idle).toBe(0);
    expect(pool.take()).not.toBe(worker);
  });
});
