/** oneRow: the row of a query that returns exactly one, or a loud error. */
import { describe, expect, it } from 'vitest';
import { oneRow } from '../../src/db/one-row.js';

describe('oneRow', () => {
  it('returns the only row', () => {
    expect(oneRow({ rows: [{ n: '3' }] })).toEqual({ n: '3' });
  });

  it('throws on no row and on more than one, saying how many came', () => {
    expect(() => oneRow({ rows: [] })).toThrow('expected exactly one row, got 0');
    expect(() => oneRow({ rows: [{ n: '1' }, { n: '2' }] })).toThrow('expected exactly one row, got 2');
  });
});
