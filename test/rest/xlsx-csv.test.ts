/**
 * CsvCells reads the CSV lines the database writes for an export back into cell values, in the
 * XLSX export's worker: every value as the CSV renderer quoted it, however the bytes are cut.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteCsvField } from '../../src/rest/renderers/csv.js';
import { CsvCells } from '../../src/rest/renderers/xlsx-csv.js';

const cell = fc.option(fc.string({ unit: fc.constantFrom('"', ',', '\r', '\n', 'a', ' ', 'İ', '😀', '='), maxLength: 6 }), { nil: null });

function parse(bytes: Buffer, cuts: readonly number[]): (string | null)[] {
  const reader = new CsvCells();
  const bounds = [0, ...[...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length];
  const values = bounds.slice(1).flatMap((end, i) => reader.push(bytes.subarray(bounds[i], end)));
  return [...values, ...reader.end()];
}

describe('CsvCells', () => {
  it('gives back every cell, NULL and empty text both as null, however the bytes are cut', () => {
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 3, maxLength: 3 }), { maxLength: 5 }), fc.array(fc.nat(120), { maxLength: 8 }), (rows, cuts) => {
        const csv = rows.map((cells) => `${cells.map((c) => (c === null ? '' : quoteCsvField(c))).join(',')}\r\n`).join('');
        expect(parse(Buffer.from(csv), cuts)).toEqual(rows.flat().map((c) => (c === '' ? null : c)));
      }),
      { numRuns: 1000 },
    );
  });

  it('ends a last row that has no line end', () => {
    expect(parse(Buffer.from('1,"a""b",\r\n2,x,"y"'), [])).toEqual(['1', 'a"b', null, '2', 'x', 'y']);
  });
});
