/**
 * CSV that PostgreSQL writes (resource/csv-sql.ts) must be byte for byte the CSV the renderer writes
 * (rest/renderers/csv.ts): the export takes the first on a server and the second on the embedded
 * database, and either must read back as the original's. Checked on adversarial cells, with the
 * formula guard on and off, filtered and sorted; and the line-ending filter on every chunking.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerResource } from '../../src/customers/customer.resource.js';
import { createListRepository } from '../../src/repository/list-repository.js';
import { CsvRowEndings } from '../../src/repository/csv-row-endings.js';
import { createCsvRenderer, quoteCsvField } from '../../src/rest/renderers/csv.js';
import type { RenderContext } from '../../src/rest/renderers/index.js';
import { collect } from '../../src/rest/renderers/tabular.js';
import { createMigratedTestDatabase, createTestPool, hasRealServer, type TestDatabase } from '../helpers/database.js';

/** Feeds `input` to a fresh CsvRowEndings cut at `cuts`, and returns what comes out. */
function throughRowEndings(input: Buffer, cuts: readonly number[]): Promise<Buffer> {
  const bounds = [0, ...[...new Set(cuts)].filter((c) => c > 0 && c < input.length).sort((a, b) => a - b), input.length];
  const chunks = bounds.slice(1).map((end, i) => input.subarray(bounds[i], end));
  return collect(Readable.from(chunks).pipe(new CsvRowEndings()));
}

/** Characters that matter to CSV quoting, the formula guard and UTF-8, and some that do not. */
const cellText = fc.string({
  unit: fc.constantFrom('"', ',', '\r', '\n', "'", '=', '+', '-', '@', '\t', '.', 'e', '5', '0', ' ', 'a', 'İ', 'ş', '😀', '\\'),
  maxLength: 8,
});

/** Phone-like text and its near misses, where the guard's phone rule decides (`+90 (5) 1-2`, `-1+1`, `+ `). */
const phoneText = fc.string({ unit: fc.constantFrom('+', '-', '0', '9', ' ', '(', ')', '.', '/', 'e', "'"), maxLength: 12 });

describe('CsvRowEndings', () => {
  it("turns each row's LF into CRLF and leaves LF, CR and doubled quotes inside quoted cells alone", async () => {
    const copy = 'id,name\n1,"a\nb"\n2,"say ""hi""\n,x"\n3,\n';
    expect((await throughRowEndings(Buffer.from(copy), [])).toString()).toBe(
      'id,name\r\n1,"a\nb"\r\n2,"say ""hi""\n,x"\r\n3,\r\n',
    );
  });

  it('gives the same bytes however the input is cut into chunks', async () => {
    const row = fc.array(fc.option(cellText, { nil: null }), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 6 }), fc.array(fc.nat(200), { maxLength: 6 }), async (rows, cuts) => {
        const line = (cells: (string | null)[], end: string) => `${cells.map((c) => (c === null ? '' : quoteCsvField(c))).join(',')}${end}`;
        const lf = Buffer.from(rows.map((cells) => line(cells, '\n')).join(''));
        const crlf = rows.map((cells) => line(cells, '\r\n')).join('');
        expect((await throughRowEndings(lf, cuts)).toString()).toBe(crlf);
      }),
      { numRuns: 500 },
    );
  });
});

describe.skipIf(!hasRealServer())('CSV written by COPY on a PostgreSQL server', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  const repository = () => createListRepository({ pool }, customerResource, { unfilteredCountTable: 'customer_count' });
  const signal = new AbortController().signal;
  const ctx: RenderContext = { mediaType: 'text/csv', params: {}, fields: customerResource.fields, title: 'customers' };
  const envelope = { count: 0, next: null, previous: null };

  beforeAll(async () => {
    database = await createMigratedTestDatabase();
    pool = createTestPool(database);
    await pool.query(`INSERT INTO channel (id, name) VALUES (1, 'One'), (2, 'Two')`);
    const customer = fc.record({
      micros: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999_999 })),
      seconds: fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }),
      omnitronId: fc.integer({ min: -2147483648, max: 2147483647 }),
      email: cellText,
      firstName: cellText,
      lastName: cellText,
      phone: fc.option(fc.oneof(cellText, phoneText), { nil: null }),
      erp: fc.option(fc.oneof(cellText, phoneText), { nil: null }),
      channel: fc.constantFrom(1, 2, null),
    });
    const rows = fc.sample(customer, { numRuns: 400, seed: 20261127 });
    for (const [i, r] of rows.entries()) {
      await pool.query(
        `INSERT INTO customer (id, created_date, modified_date, omnitron_id, email, first_name, last_name, phone_number, erp_code, channel_id)
         VALUES ($1, to_timestamp($2::bigint) + make_interval(secs => $3::bigint / 1e6), to_timestamp($2::bigint / 2), $4, $5, $6, $7, $8, $9, $10)`,
        [i + 1, r.seconds, r.micros, r.omnitronId, r.email, r.firstName, r.lastName, r.phone, r.erp, r.channel],
      );
    }
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it.each([
    ['no filter', ''],
    ['a text filter and the default order', 'first_name=a'],
    ['a range and a descending sort', 'id__gt=37&sort=-modified_date'],
    ['a timestamp range', 'modified_date__lt=2001-01-01T00:00:00Z&channel_id=2'],
  ])('matches the renderer byte for byte, guard on and off: %s', async (_name, query) => {
    const { conditions, ordering } = customerResource.parseQuery(new Map(new URLSearchParams(query)));
    for (const formulaGuard of [true, false]) {
      const renderer = createCsvRenderer({ formulaGuard });
      const byRows = await repository().openExport(conditions, ordering, { signal });
      const byNode = await collect(await renderer.stream(envelope, { rows: () => byRows.rows(), csvLines: async () => null }, ctx));
      const byCopy = await repository().openExport(conditions, ordering, { signal });
      expect(byCopy.count).toBe(byRows.count);
      const notRows = () => {
        throw new Error('a server can COPY: the rows should not be read');
      };
      const copied = await collect(await renderer.stream(envelope, { rows: notRows, csvLines: (options) => byCopy.csvLines(options) }, ctx));
      expect(copied.toString(), `formulaGuard ${formulaGuard}`).toBe(byNode.toString());
      expect(byNode.toString().split('\r\n').length).toBeGreaterThan(query === '' ? 400 : 2);
    }
  });

  it("with lineEnding 'lf' gives the same lines ending as the database writes them (LF), for the XLSX worker", async () => {
    const all = [{ column: 'id', descending: false }] as const;
    const lines = async (lineEnding: 'crlf' | 'lf') => {
      const source = await repository().openExport([], all, { signal });
      const stream = await source.csvLines({ formulaGuard: false, lineEnding });
      if (!stream) throw new Error('a server can COPY');
      return collect(stream);
    };
    const [crlf, lf] = [await lines('crlf'), await lines('lf')];
    expect(lf.length).toBe(crlf.length - 400);
    expect((await throughRowEndings(lf, [])).toString()).toBe(crlf.toString());
  });

  it('gives the connection back when closed before the COPY starts, and when the stream is dropped midway', async () => {
    const all = [{ column: 'id', descending: false }] as const;
    const unread = await repository().openExport([], all, { signal });
    await unread.close();
    const dropped = await repository().openExport([], all, { signal });
    const stream = await dropped.csvLines({ formulaGuard: true });
    if (!stream) throw new Error('a server can COPY');
    await new Promise((resolve) => stream.once('data', resolve));
    stream.destroy();
    await expect.poll(() => pool.idleCount === pool.totalCount && pool.waitingCount === 0).toBe(true);
    expect((await pool.query('SELECT count(*)::int AS n FROM customer')).rows[0].n).toBe(400);
  });
});
