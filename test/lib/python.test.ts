import { describe, expect, it } from 'vitest';
import { compareCodePoints, pyStrip, pythonInt, sortEntriesByKey } from '../../src/lib/python.js';

// Expected values below were produced with CPython 3.11.
describe('compareCodePoints / sortEntriesByKey (sorted() on str)', () => {
  it('orders by code point: upper case first, prefixes first, astral after U+FFFF', () => {
    const keys = ['b', 'a', 'B', '\uFFFF', '😀', 'page', 'pag', 'Z_'];
    expect([...keys].sort(compareCodePoints)).toEqual(['B', 'Z_', 'a', 'b', 'pag', 'page', '\uFFFF', '😀']);
  });

  it('sorts entries by key', () => {
    expect(sortEntriesByKey([['sort', 1], ['limit', 2], ['page', 3]] as const)).toEqual([
      ['limit', 2],
      ['page', 3],
      ['sort', 1],
    ]);
  });
});

describe('pythonInt (int() on str)', () => {
  it.each([
    ['5', 5n],
    [' 5 ', 5n],
    ['+5', 5n],
    ['-0', 0n],
    ['007', 7n],
    ['1_0', 10n],
    ['\u30005\u2028', 5n],
    ['\xa05', 5n],
    ['０５', 5n],
    ['١', 1n],
    ['𝟗', 9n],
    ['\x0b5\x0c', 5n],
    ['99999999999999999999', 99999999999999999999n],
  ])('reads %j as %s', (text, expected) => {
    expect(pythonInt(text)).toBe(expected);
  });

  it.each(['', ' ', '5.0', '1e3', '_1', '1_', '1__0', '\x1c5', '0x10', 'abc', '5-', '+-5', '9'.repeat(4301)])(
    'rejects %j',
    (text) => {
      expect(pythonInt(text)).toBeNull();
    },
  );
});

describe('pyStrip (str.strip())', () => {
  it('strips Python whitespace including \\x1c-\\x1f and U+3000, but not U+FEFF', () => {
    expect(pyStrip('\x1c\u3000 a b\t\n')).toBe('a b');
    expect(pyStrip('\uFEFFa')).toBe('\uFEFFa');
  });
});
