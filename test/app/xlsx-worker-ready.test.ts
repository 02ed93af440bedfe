/**
 * XLSX_WORKER_READY: the app starts and warms the XLSX export's worker once it is ready (the
 * first export then takes it instead of starting one beside the pages), ends it when it closes,
 * and starts nothing with the setting off.
 */
import { Worker } from 'node:worker_threads';
import ExcelJS from 'exceljs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestApp } from '../helpers/app.js';
import { WAIT } from '../helpers/wait.js';

/** What the app posts to worker threads, by each message's kind (start, csv, end, exit, …). */
function postedKinds() {
  const kinds: string[] = [];
  const post = Worker.prototype.postMessage;
  const spy = vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (this: Worker, message, transfer) {
    kinds.push(Object.keys(message as object)[0]!);
    post.call(this, message, transfer);
  });
  return { kinds, spy };
}

afterEach(() => vi.restoreAllMocks());

describe('XLSX_WORKER_READY', () => {
  it('on: a worker is warmed once the app is ready, taken by the first XLSX export, and ended with the app', async () => {
    const { kinds } = postedKinds();
    const t = await createTestApp({ config: { XLSX_WORKER_READY: true } });
    try {
      await t.app.ready();
      await vi.waitFor(() => expect(kinds).toEqual(['start', 'csv', 'end']), WAIT);
      const res = await t.app.inject({ url: '/api/v1/oms/customers/list-simple/?limit=all&format=xls', headers: { authorization: `Token ${t.token}` } });
      expect(res.statusCode).toBe(200);
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
      expect(workbook.getWorksheet('customers')!.getRow(1).getCell(1).value).toBe('id');
      // The export's own workbook went to the same worker: no second one was started and warmed.
      expect(kinds.filter((kind) => kind === 'start')).toHaveLength(2);
    } finally {
      await t.close();
    }
    expect(kinds.at(-1)).toBe('exit');
  });

  it('off: nothing is started before an export', async () => {
    const { kinds } = postedKinds();
    const t = await createTestApp({ config: { XLSX_WORKER_READY: false } });
    try {
      await t.app.ready();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(kinds).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
