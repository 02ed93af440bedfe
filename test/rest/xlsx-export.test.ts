/**
 * The XLSX export as other programs read it, and its worker thread: a file from the database's
 * rows opened by openpyxl (Debian's python3-openpyxl) and converted to CSV by LibreOffice
 * headless; the encoding done off the main thread, by a worker kept from one export to the next;
 * a failing worker or a client that goes away ends the export and gives the snapshot's
 * connection back.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import ExcelJS from 'exceljs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { customerResource } from '../../src/customers/customer.resource.js';
import { createListRepository } from '../../src/repository/list-repository.js';
import type { RenderContext } from '../../src/rest/renderers/index.js';
import { collect } from '../../src/rest/renderers/tabular.js';
import { createXlsxRenderer, xlsxRenderer } from '../../src/rest/renderers/xlsx.js';
import { WorkbookEncoder } from '../../src/rest/renderers/xlsx-workbook.js';
import { createMigratedTestDatabase, createTestPool, type TestDatabase } from '../helpers/database.js';
import { poolSettles } from '../helpers/http-download.js';

const run = promisify(execFile);
const ctx: RenderContext = { mediaType: 'application/xls', params: {}, fields: customerResource.fields, title: 'customers' };
const envelope = { count: 0, next: null, previous: null };
const all = [{ column: 'id', descending: false }] as const;
const BIG_ID = '9007199254740993';

/** The first program of `candidates` that runs `args` successfully, or null (the test is skipped). */
async function firstWorking(candidates: readonly string[], args: readonly string[]): Promise<string | null> {
  for (const candidate of candidates) {
    try {
      await run(candidate, [...args], { timeout: 60_000 });
      return candidate;
    } catch {
      // absent, or without the module
    }
  }
  return null;
}

// Debian's openpyxl (what .ci/run installs) is for Debian's python3, which a python3 earlier on
// PATH may not see; tried first, since a python3 on PATH may be a version manager's shim (~0.7 CPU-s a start).
const python = await firstWorking(['/usr/bin/python3', 'python3'], ['-c', 'import openpyxl']);
const soffice = await firstWorking(['soffice', 'libreoffice'], ['--version']);

let database: TestDatabase;
let pool: pg.Pool;
let dir: string;
const repository = () => createListRepository({ pool }, customerResource, { unfilteredCountTable: 'customer_count' });
const signal = new AbortController().signal;

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  pool = createTestPool(database);
  dir = mkdtempSync(join(tmpdir(), 'oms-xlsx-'));
  await pool.query(`INSERT INTO channel (id, name) VALUES (1, 'One'), (2, 'Two')`);
  await pool.query(
    `INSERT INTO customer (id, created_date, modified_date, omnitron_id, email, first_name, last_name, phone_number, erp_code, channel_id) VALUES
     (1, '2023-10-06T08:42:53.427023Z', '2023-10-06T08:42:53.427950Z', 55, 'ali.test@akinon.com', 'İpek', 'Tuğçe Şahin', '+905551112233', NULL, 1),
     (2, '2021-05-26T19:20:20Z', '2022-08-16T04:19:26.719845Z', -2147483648, 'formula@example.com', '=SUM(A1:A2)', ' spaced ', '@cmd', 'Emoji 🎉 & <b>', NULL),
     (3, '1999-12-31T23:59:59.999Z', '2000-01-01T00:00:00Z', 0, 'bell@example.com', E'bell\\u0007', E'two\\nlines', '0012', 'x', 2)`,
  );
  // More rows than one batch (500), so that the export crosses to the worker several times.
  await pool.query(
    `INSERT INTO customer (id, created_date, modified_date, omnitron_id, email, first_name, last_name, channel_id)
     SELECT g, timestamptz '2020-01-01Z' + g * interval '1.5 second', timestamptz '2021-01-01Z', g, 'c' || g || '@example.com', 'n' || g, 'Test', 1
     FROM generate_series(4, 1300) AS g`,
  );
}, 60_000);
afterAll(async () => {
  await pool?.end();
  await database?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The export of every customer, through `renderer`, as a file in `dir`. */
async function exportFile(name: string, renderer = xlsxRenderer): Promise<string> {
  const source = await repository().openExport([], all, { signal });
  const path = join(dir, name);
  writeFileSync(path, await collect(await renderer.stream(envelope, source, ctx)));
  return path;
}

describe('an XLSX export read by other programs', () => {
  it.skipIf(!python)('openpyxl reads its sheets, typed values, bold frozen header, autofilter and widths', async () => {
    // A sheet limit of 1000 rows puts the export on two sheets.
    const path = await exportFile('openpyxl.xlsx', createXlsxRenderer({ sheetRowLimit: 1000 }));
    const script = `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = []
for ws in wb.worksheets:
    rows = [[[type(c.value).__name__, c.value.isoformat() if hasattr(c.value, 'isoformat') else c.value] for c in row] for row in ws.iter_rows()]
    out.append({'name': ws.title, 'freeze': ws.freeze_panes, 'filter': ws.auto_filter.ref,
                'bold': [c.font.b for c in ws[1]], 'format': ws['B2'].number_format,
                'widths': [ws.column_dimensions[l].width for l in 'ABEF'], 'rows': rows[:4], 'count': len(rows), 'last': rows[-1][0]})
print(json.dumps(out))`;
    const { stdout } = await run(python ?? 'python3', ['-c', script, path], { maxBuffer: 64 * 1024 * 1024 });
    const sheets = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(sheets.map(({ name, freeze, filter, count, last }) => ({ name, freeze, filter, count, last }))).toEqual([
      { name: 'customers', freeze: 'A2', filter: 'A1:J1000', count: 1000, last: ['int', 999] },
      { name: 'customers (2)', freeze: 'A2', filter: 'A1:J302', count: 302, last: ['int', 1300] },
    ]);
    const [first] = sheets;
    expect(first).toMatchObject({ bold: Array(10).fill(true), format: 'yyyy-mm-dd hh:mm:ss.000', widths: [8, 25, 21, 13] });
    expect(first?.rows).toEqual([
      customerResource.fields.map((f) => ['str', f.name]),
      [['int', 1], ['datetime', '2023-10-06T08:42:53.427000'], ['datetime', '2023-10-06T08:42:53.427000'], ['int', 55],
        ['str', 'ali.test@akinon.com'], ['str', 'İpek'], ['str', 'Tuğçe Şahin'], ['str', '+905551112233'], ['NoneType', null], ['int', 1]],
      [['int', 2], ['datetime', '2021-05-26T19:20:20'], ['datetime', '2022-08-16T04:19:26.719000'], ['int', -2147483648],
        ['str', 'formula@example.com'], ['str', '=SUM(A1:A2)'], ['str', ' spaced '], ['str', '@cmd'], ['str', 'Emoji 🎉 & <b>'], ['NoneType', null]],
      [['int', 3], ['datetime', '1999-12-31T23:59:59.999000'], ['datetime', '2000-01-01T00:00:00'], ['int', 0],
        ['str', 'bell@example.com'], ['str', 'bell\uFFFD'], ['str', 'two\nlines'], ['str', '0012'], ['str', 'x'], ['int', 2]],
    ]);
  }, 120_000);

  it.skipIf(!soffice)('LibreOffice converts it to a CSV of the same rows', async () => {
    const path = await exportFile('calc.xlsx');
    const profile = join(dir, 'lo-profile');
    // 44,34,76: comma, double quote, UTF-8. A profile of its own, so that another soffice does not interfere.
    await run(soffice ?? 'soffice', [`-env:UserInstallation=file://${profile}`, '--headless', '--convert-to', 'csv:Text - txt - csv (StarCalc):44,34,76', '--outdir', dir, path], { timeout: 180_000 });
    const lines = readFileSync(join(dir, 'calc.csv'), 'utf8').split(/\r?\n/);
    expect(lines.slice(0, 3)).toEqual([
      customerResource.fields.map((f) => f.name).join(','),
      '1,2023-10-06 08:42:53.427,2023-10-06 08:42:53.427,55,ali.test@akinon.com,İpek,Tuğçe Şahin,+905551112233,,1',
      '2,2021-05-26 19:20:20.000,2022-08-16 04:19:26.719,-2147483648,formula@example.com,=SUM(A1:A2), spaced ,@cmd,Emoji 🎉 & <b>,',
    ]);
    // A quoted cell holding a line break spans two lines.
    expect(lines.slice(3, 5)).toEqual(['3,1999-12-31 23:59:59.999,2000-01-01 00:00:00.000,0,bell@example.com,bell\uFFFD,"two', 'lines",0012,x,2']);
    expect(lines.filter((line) => /^\d+,/.test(line)).at(-1)).toBe('1300,2020-01-01 00:32:30.000,2021-01-01 00:00:00.000,1300,c1300@example.com,n1300,Test,,,1');
  }, 240_000);
});

describe('an XLSX workbook is encoded in a worker thread', () => {
  it('writes no row in the thread that reads the rows, for an export or a page, and the file has every row', async () => {
    const add = vi.spyOn(WorkbookEncoder.prototype, 'add');
    try {
      const source = await repository().openExport([], all, { signal });
      const body = await collect(await xlsxRenderer.stream(envelope, source, ctx));
      const page = (await xlsxRenderer.render({ ...envelope, results: [{ id: 1 }] }, ctx)) as Buffer;
      expect(add).not.toHaveBeenCalled();
      expect(page.subarray(0, 2).toString('latin1')).toBe('PK');
      // Encoding in this thread is what the spy sees: it would have seen either above.
      await new WorkbookEncoder([{ name: 'id', valueType: 'integer' }], 'control', 10, () => {}).add([1]);
      expect(add).toHaveBeenCalledTimes(1);
      // Read here: openpyxl and LibreOffice read the worker's files above.
      const workbook = new ExcelJS.Workbook();
      // exceljs declares its own Buffer type, which today's @types/node Buffer does not satisfy.
      await workbook.xlsx.load(body as unknown as ArrayBuffer);
      const [sheet] = workbook.worksheets;
      expect([sheet?.rowCount, sheet?.getRow(sheet.rowCount).getCell(1).value]).toEqual([1301, 1300]);
    } finally {
      add.mockRestore();
    }
  });

  // outgrow: the worker's heap is capped (xlsx.ts WORKER_OLD_GENERATION_MB), so one that grows fails its export alone.
  it.each([
    ['throw', /failed on purpose/],
    ['exit', /exited \(code 3\)/],
    ['outgrow', /memory limit/],
  ])('when the worker fails (%s), the response errors and the connection is given back', async (mode, error) => {
    const workerScript = new URL(`../helpers/xlsx-worker-failing.ts${mode === 'throw' ? '' : `?${mode}`}`, import.meta.url);
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const source = await repository().openExport([], all, { signal });
      const stream = await createXlsxRenderer({ workerScript }).stream(envelope, source, ctx);
      await expect(collect(stream)).rejects.toThrow(error);
      await poolSettles(pool);
      expect(pool.totalCount).toBeGreaterThan(0);
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('writes the same workbook again from the worker kept after an export, and after one cut off', async () => {
    const renderer = createXlsxRenderer();
    const read = async (body: Buffer) => {
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(body as unknown as ArrayBuffer);
      const [sheet] = workbook.worksheets;
      return [sheet?.name, sheet?.rowCount, sheet?.getRow(2).values, sheet?.getRow(sheet.rowCount).values];
    };
    const once = async () => read(await collect(await renderer.stream(envelope, await repository().openExport([], all, { signal }), ctx)));
    const first = await once();
    expect(first[1]).toBe(1301);
    // The second starts on the first's worker, which must hold nothing of the first workbook.
    expect(await once()).toEqual(first);
    const cut = await renderer.stream(envelope, await repository().openExport([], all, { signal }), ctx);
    await new Promise((resolve) => cut.once('data', resolve));
    cut.destroy();
    expect(await once()).toEqual(first);
    await poolSettles(pool);
  });

  it('when the client goes away mid-export, the worker and the snapshot end', async () => {
    // Asked to exit, not terminated: terminate() mid-deflate aborts the whole process (xlsx-worker-pool.ts).
    const terminate = vi.spyOn(Worker.prototype, 'terminate');
    const exits: number[] = [];
    const post = Worker.prototype.postMessage;
    const postMessage = vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (this: Worker, message, transfer) {
      if ((message as { exit?: true }).exit) this.once('exit', (code) => exits.push(code));
      post.call(this, message, transfer);
    });
    try {
      const source = await repository().openExport([], all, { signal });
      const stream = await xlsxRenderer.stream(envelope, source, ctx);
      await new Promise((resolve) => stream.once('data', resolve));
      stream.destroy();
      await poolSettles(pool);
      await vi.waitFor(() => expect(exits).toEqual([0]));
      expect(terminate).not.toHaveBeenCalled();
    } finally {
      terminate.mockRestore();
      postMessage.mockRestore();
    }
    expect((await pool.query('SELECT count(*)::int AS n FROM customer')).rows[0].n).toBe(1300);
  });
});
