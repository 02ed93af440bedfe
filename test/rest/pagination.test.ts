import { transcriptCases } from '../helpers/fixtures.js';
import { describe, expect, it } from 'vitest';
import { NotFound } from '../../src/rest/exceptions.js';
import { createPageNumberPagination, type RequestUrl } from '../../src/rest/pagination.js';
import { parseQuery } from '../../src/lib/querystring.js';

const pagination = createPageNumberPagination({ pageSize: 10, maxPageSize: 1000 });
const B = 'http://127.0.0.1:8765/api/v1/oms/customers/list-simple/';
const url = (rawQuery: string): RequestUrl => ({
  scheme: 'http',
  host: '127.0.0.1:8765',
  path: '/api/v1/oms/customers/list-simple/',
  rawQuery,
});

/** The paginated body over `items`, as DRF's `get_paginated_response` builds it (cf. test_pagination.py). */
function paginate<T>(items: readonly T[], rawQuery: string) {
  const query = parseQuery(rawQuery);
  const size = pagination.getPageSize(query);
  const page = pagination.getPage(query, items.length, size);
  const results = items.slice(page.offset, page.offset + size);
  return { count: items.length, ...pagination.getLinks(url(rawQuery), page), results };
}

const links = (rawQuery: string, count: number) => {
  const { next, previous } = paginate(Array.from({ length: count }, (_, i) => i + 1), rawQuery);
  return { next, previous };
};

describe('PageNumberPagination over range(1, 101)', () => {
  const items = Array.from({ length: 100 }, (_, i) => i + 1);

  it('returns the first page with a next link and no previous', () => {
    expect(paginate(items, '')).toEqual({
      count: 100, next: `${B}?page=2`, previous: null, results: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    });
  });

  it('returns page 2 with previous pointing at the page-less URL', () => {
    expect(paginate(items, 'page=2')).toEqual({
      count: 100, next: `${B}?page=3`, previous: B, results: [11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
    });
  });

  it('returns the last page for page=last', () => {
    expect(paginate(items, 'page=last')).toEqual({
      count: 100, next: null, previous: `${B}?page=9`, results: [91, 92, 93, 94, 95, 96, 97, 98, 99, 100],
    });
  });

  it('returns page 1 of an empty list with no links (allow_empty_first_page)', () => {
    expect(paginate([], '')).toEqual({ count: 0, next: null, previous: null, results: [] });
    expect(paginate([], 'page=last')).toEqual({ count: 0, next: null, previous: null, results: [] });
  });
});

describe('getPage', () => {
  const query = (page: string) => new Map([['page', page]]);

  it.each(['0', 'abc', '-1', '1.0', '12', '', 'Last', '1e0', '2.5', '99999999999999999999'])(
    'throws 404 {"detail":"Invalid page."} for page=%j on 109 rows',
    (page) => {
      const attempt = () => pagination.getPage(query(page), 109, 10);
      expect(attempt).toThrow(NotFound);
      expect(attempt).toThrow('Invalid page.');
    },
  );

  it.each([
    ['1', 1],
    ['11', 11],
    ['last', 11],
    [' 2 ', 2],
    ['+2', 2],
    ['0_3', 3],
    ['٣', 3],
  ])('accepts page=%j as page %i (int() rules)', (page, expected) => {
    const offset = (expected - 1) * 10;
    expect(pagination.getPage(query(page), 109, 10)).toEqual({ number: expected, numPages: 11, offset });
  });

  it('uses page 1 when no page is given', () => {
    expect(pagination.getPage(new Map(), 109, 10)).toEqual({ number: 1, numPages: 11, offset: 0 });
  });

  it('throws for page=2 of an empty table', () => {
    expect(() => pagination.getPage(query('2'), 0, 10)).toThrow('Invalid page.');
  });
});

describe('getPageSize (limit)', () => {
  const size = (limit: string) => pagination.getPageSize(new Map([['limit', limit]]));

  it.each([
    ['5', 5],
    ['1000', 1000],
    ['5000', 1000],
    ['99999999999999999999', 1000],
    [' 7 ', 7],
    ['+7', 7],
  ])('reads limit=%j as %i', (limit, expected) => {
    expect(size(limit)).toBe(expected);
  });

  it.each(['0', '-5', 'abc', '5.0', '', '1e2', 'all'])('falls back to the default 10 for limit=%j', (limit) => {
    expect(size(limit)).toBe(10);
  });

  it('uses the default when limit is absent', () => {
    expect(pagination.getPageSize(new Map())).toBe(10);
  });
});

describe('getLinks', () => {
  it('sorts the keys and encodes as urlencode: e-mail blank, İ as %C4%B0, %20 as +', () => {
    expect(links('first_name=%C4%B0pek&limit=1&email=&x=a%20b', 4)).toEqual({
      next: `${B}?email=&first_name=%C4%B0pek&limit=1&page=2&x=a+b`, previous: null,
    });
  });

  it('puts page among the sorted keys and keeps limit as sent', () => {
    expect(links('sort=-id&limit=2', 109).next).toBe(`${B}?limit=2&page=2&sort=-id`);
    expect(links('limit=0', 109).next).toBe(`${B}?limit=0&page=2`);
  });

  it('drops page for page 1 but keeps the other parameters', () => {
    expect(links('channel_id=1&sort=-id&limit=3&page=2', 41)).toEqual({
      next: `${B}?channel_id=1&limit=3&page=3&sort=-id`,
      previous: `${B}?channel_id=1&limit=3&sort=-id`,
    });
  });

  it('replaces every page value and keeps every value of another repeated key', () => {
    expect(links('page=2&page=3', 109)).toEqual({ next: `${B}?page=4`, previous: `${B}?page=2` });
    expect(links('id__gt=1&id__gt=1100', 14).next).toBe(`${B}?id__gt=1&id__gt=1100&page=2`);
  });

  it('encodes , and : and a decoded space', () => {
    expect(links('sort=modified_date,-id&limit=2', 109).next).toBe(`${B}?limit=2&page=2&sort=modified_date%2C-id`);
    expect(links('modified_date__gte=2023-06-19%2000:00&limit=1', 38).next).toBe(
      `${B}?limit=1&modified_date__gte=2023-06-19+00%3A00&page=2`,
    );
  });

  it('leaves no ? when only page was sent', () => {
    expect(links('page=2', 109).previous).toBe(B);
    expect(links('page=2&', 109).previous).toBe(B);
  });

  it('uses the scheme and host it is given', () => {
    const page = pagination.getPage(new Map(), 109, 50);
    expect(pagination.getLinks({ ...url('limit=50'), scheme: 'https', host: 'api.example.com' }, page).next).toBe(
      'https://api.example.com/api/v1/oms/customers/list-simple/?limit=50&page=2',
    );
  });
});

// Compact or indented (`Accept: application/json; indent=2`) start of a page body.
const ENVELOPE_HEAD = /^\{\s*"count": ?(\d+),\s*"next": ?(null|"[^"]*"),\s*"previous": ?(null|"[^"]*")/;

describe('next/previous links of every paginated answer in the transcript', () => {
  const cases = transcriptCases()
    .map((c) => ({ c, head: ENVELOPE_HEAD.exec(c.body ?? '') }))
    .filter(({ c, head }) => head && c.path.startsWith('/api/v1/oms/customers/list-simple/'));

  it('finds the paginated answers', () => {
    expect(cases.length).toBeGreaterThan(40);
  });

  it.each(cases.map(({ c, head }) => [c.title, c, head!] as const))('matches byte for byte: %s', (_title, c, head) => {
    const rawQuery = c.path.includes('?') ? c.path.slice(c.path.indexOf('?') + 1) : '';
    const host = c.requestHeaders.Host ?? '127.0.0.1:8765';
    const scheme = c.requestHeaders['X-Forwarded-Proto'] ?? 'http';
    const query = parseQuery(rawQuery);
    const page = pagination.getPage(query, Number(head[1]), pagination.getPageSize(query));
    expect(pagination.getLinks({ ...url(rawQuery), scheme, host }, page)).toEqual({
      next: JSON.parse(head[2]!) as string | null,
      previous: JSON.parse(head[3]!) as string | null,
    });
  });
});
