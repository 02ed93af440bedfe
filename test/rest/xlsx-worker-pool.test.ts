/**
 * The XLSX export's kept workers (src/rest/renderers/xlsx-worker-pool.ts), with real threads: a
 * finished worker is taken again instead of starting one, no more are kept than asked, an unused
 * one is ended after its idle time, and one that fails while kept leaves the pool without harm.
 * Ending one asks it to exit between tasks (retire), never stops it mid-task unless it is stuck.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createXlsxWorkerPool, retire } from '../../src/rest/renderers/xlsx-worker-pool.js';

/** A thread that exits when told to (as the export's worker does, or by 'exit'), else waits; 'busy' works 200 ms, 'hang' forever. */
const SCRIPT = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m === 'exit' || m.exit) process.exit(0);
  if (m === 'throw') throw new Error('boom');
  if (m === 'busy') { const end = Date.now() + 200; while (Date.now() < end); parentPort.postMessage('done'); }
  if (m === 'hang') for (;;);
});`;
const started: Worker[] = [];
const start = () => {
  const worker = new Worker(SCRIPT, { eval: true });
  started.push(worker);
  return worker;
};
const exited = (worker: Worker) => new Promise<void>((resolve) => (worker.threadId === -1 ? resolve() : worker.once('exit', () => resolve())));
const exitCode = (worker: Worker) => new Promise<number>((resolve) => worker.once('exit', resolve));

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

  it('ends a worker by asking it: the task in hand finishes and it exits by itself, not terminated', async () => {
    const worker = start();
    const messages: unknown[] = [];
    worker.on('message', (message) => messages.push(message));
    await new Promise((resolve) => worker.once('online', resolve));
    worker.postMessage('busy');
    retire(worker);
    // terminate() would give 1, mid-loop, before 'done'.
    expect(await exitCode(worker)).toBe(0);
    expect(messages).toEqual(['done']);
  });

  it('terminates a retired worker that has not exited within the grace time', async () => {
    const worker = start();
    await new Promise((resolve) => worker.once('online', resolve));
    worker.postMessage('hang');
    const began = Date.now();
    retire(worker, 100);
    expect(await exitCode(worker)).toBe(1);
    expect(Date.now() - began).toBeGreaterThanOrEqual(90);
  });

  it('close() asks the kept workers to exit and waits for every retired worker, busy ones included', async () => {
    const pool = createXlsxWorkerPool({ start, max: 1, idleMs: 60_000 });
    const [kept, busy] = [pool.take(), pool.take()];
    await Promise.all([kept, busy].map((worker) => new Promise((resolve) => worker.once('online', resolve))));
    pool.give(kept);
    const codes: number[] = [];
    for (const worker of [kept, busy]) worker.once('exit', (code) => codes.push(code));
    busy.postMessage('busy');
    retire(busy);
    await pool.close();
    // Both gone by the time close() resolves, each by its own exit (0), none terminated (1).
    expect(codes.sort()).toEqual([0, 0]);
    expect(pool.idle).toBe(0);
  });

  it('keeps no worker given back after close(): it is asked to exit', async () => {
    const pool = createXlsxWorkerPool({ start, max: 1, idleMs: 60_000 });
    const worker = pool.take();
    await new Promise((resolve) => worker.once('online', resolve));
    await pool.close();
    const code = exitCode(worker);
    pool.give(worker);
    expect(pool.idle).toBe(0);
    expect(await code).toBe(0);
  });
});
