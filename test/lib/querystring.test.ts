import { describe, expect, it } from 'vitest';
import {
  parseQsl,
  parseQuery,
  parseQueryLists,
  quotePlus,
  splitRequestTarget,
  unquote,
  urlencode,
} from '../../src/lib/querystring.js';

// Expected values below were produced with CPython 3.11's urllib.parse.

describe('parseQsl (parse_qsl, keep_blank_values=True)', () => {
  it('splits on & only, keeps blank values and a key without =, skips empty fields', () => {
    expect(parseQsl('a=1;b=2&c&&=x&a=3')).toEqual([
      ['a', '1;b=2'],
      ['c', ''],
      ['', 'x'],
      ['a', '3'],
    ]);
  });

  it('turns + into a space before percent-decoding, so %2B stays a plus', () => {
    expect(parseQsl('e=%C4%B0+%2B')).toEqual([['e', 'İ +']]);
  });

  it('keeps malformed percent sequences literally', () => {
    expect(parseQsl('d=%zz%&p=%2')).toEqual([
      ['d', '%zz%'],
      ['p', '%2'],
    ]);
  });

  it('replaces invalid UTF-8 with U+FFFD and keeps a byte-order mark', () => {
    expect(parseQsl('f=%C4&s=%ED%A0%80&g=%EF%BB%BFx')).toEqual([
      ['f', '\uFFFD'],
      ['s', '\uFFFD\uFFFD\uFFFD'],
      ['g', '\uFEFFx'],
    ]);
  });

  it('decodes percent-encoded keys too', () => {
    expect(parseQsl('pag%65=2')).toEqual([['page', '2']]);
  });

  it('returns nothing for an empty query', () => {
    expect(parseQsl('')).toEqual([]);
  });
});

describe('unquote', () => {
  it('decodes each ASCII run on its own and passes other characters through', () => {
    expect(unquote('%C4%B0pek')).toBe('İpek');
    expect(unquote('%C4é%B0')).toBe('\uFFFDé\uFFFD');
  });
});

describe('parseQuery (QueryDict.get view)', () => {
  it('keeps the last value of a repeated key in first-seen key order', () => {
    expect([...parseQuery('page=2&limit=5&page=3')]).toEqual([
      ['page', '3'],
      ['limit', '5'],
    ]);
  });
});

describe('parseQueryLists (parse_qs)', () => {
  it('keeps every value of a repeated key', () => {
    expect([...parseQueryLists('id__gt=1&x=&id__gt=1100')]).toEqual([
      ['id__gt', ['1', '1100']],
      ['x', ['']],
    ]);
  });
});

describe('quotePlus / urlencode (quote_plus, doseq=True)', () => {
  it('keeps only A-Z a-z 0-9 _ . - ~, writes a space as + and the rest as upper-case %XX of UTF-8', () => {
    expect(quotePlus("a b,c:d/e~f_g.h-i*j'k(l)m!n")).toBe('a+b%2Cc%3Ad%2Fe~f_g.h-i%2Aj%27k%28l%29m%21n');
    expect(quotePlus('İ😀+')).toBe('%C4%B0%F0%9F%98%80%2B');
  });

  it('repeats a key once per value of a list and keeps empty values', () => {
    expect(urlencode([['e', ''], ['l', ['1', '2']], ['İ', '😀']])).toBe('e=&l=1&l=2&%C4%B0=%F0%9F%98%80');
  });
});

describe('splitRequestTarget (urlsplit)', () => {
  it('drops the fragment before looking for the query', () => {
    expect(splitRequestTarget('/x/?a=b%20c#frag?x=1')).toEqual({ path: '/x/', rawQuery: 'a=b%20c' });
    expect(splitRequestTarget('/x/#a?b')).toEqual({ path: '/x/', rawQuery: '' });
    expect(splitRequestTarget('/x/?')).toEqual({ path: '/x/', rawQuery: '' });
    expect(splitRequestTarget('/x/?a?b')).toEqual({ path: '/x/', rawQuery: 'a?b' });
  });
});
