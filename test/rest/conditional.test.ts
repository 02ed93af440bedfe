/**
 * rest/conditional.ts on its own, with a fake repository: If-None-Match parsing and weak
 * comparison (RFC 9110 §8.8.3, §13.1.2), and what a validation reads.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createConditionalGet, entityTag, parseIfNoneMatch, weakMatch, type ListRequest } from '../../src/rest/conditional.js';
import { createPageNumberPagination } from '../../src/rest/pagination.js';
import { createRenderers } from '../../src/rest/renderers/index.js';

describe('parseIfNoneMatch', () => {
  it.each([
    [undefined, null],
    ['', null],
    ['junk', null],
    ['*', '*'],
    [' * ', '*'],
    ['"a"', ['"a"']],
    ['W/"a", "b",W/"c"', ['W/"a"', '"b"', 'W/"c"']],
    ['"a", junk, ""', ['"a"', '""']],
    // etagc includes the comma: a list is read tag by tag, not split at commas.
    ['"a,b", "c"', ['"a,b"', '"c"']],
  ] as const)('reads %j as %j', (value, expected) => {
    expect(parseIfNoneMatch(value)).toEqual(expected);
  });
});

describe('weakMatch', () => {
  it.each([
    ['W/"1"', 'W/"1"', true],
    ['W/"1"', '"1"', true],
    ['"1"', 'W/"1"', true],
    ['W/"1"', 'W/"2"', false],
    ['"1"', '"10"', false],
  ] as const)('%s ~ %s is %s', (a, b, expected) => {
    expect(weakMatch(a, b)).toBe(expected);
  });
});

describe('entityTag', () => {
  it('is weak, shows the version, and hashes the key', () => {
    expect(entityTag('42', 'k')).toMatch(/^W\/"42-[A-Za-z0-9_-]{16}"$/);
    expect(entityTag('42', 'k')).toBe(entityTag('42', 'k'));
    expect(entityTag('42', 'k')).not.toBe(entityTag('43', 'k'));
    expect(entityTag('42', 'k')).not.toBe(entityTag('42', 'l'));
  });

  it('gives a key the same digest whatever the version, and the same again after many other keys', () => {
    const digest = (tag: string) => tag.slice(tag.indexOf('-') + 1);
    const first = entityTag('1', 'kept');
    expect(digest(entityTag('2', 'kept'))).toBe(digest(first));
    // Past the digests it keeps: a key's tag is computed again, equal to what it was.
    const others = new Set(Array.from({ length: 2_500 }, (_, i) => digest(entityTag('1', `other-${i}`))));
    expect(others.size).toBe(2_500);
    expect(entityTag('1', 'kept')).toBe(first);
    expect(entityTag('1', 'kept')).toBe(`W/"1-${createHash('sha256').update('kept').digest('base64url').slice(0, 16)}"`);
  });
});

describe('createConditionalGet', () => {
  const pagination = createPageNumberPagination({ pageSize: 10, maxPageSize: 100 });
  const [json, csv] = createRenderers();
  const [, plainCsv] = createRenderers({ csvFormulaGuard: false });

  function fakeRepository(version: string | null, count: number) {
    const calls: string[] = [];
    return {
      calls,
      repository: {
        version: async () => (calls.push('version'), version),
        // The version it is given: a count cached at the version just read costs no query.
        count: async (_: unknown, options?: { version?: string | null }) => (calls.push(`count at ${options?.version}`), count),
      },
    };
  }
  const request = (query: Record<string, string> = {}, overrides: Partial<ListRequest> = {}): ListRequest => ({
    renderer: json!,
    accepted: { mediaType: 'application/json', params: {} },
    conditions: [],
    ordering: [{ column: 'id', descending: false }],
    query: new Map(Object.entries(query)),
    pageSize: 10,
    ...overrides,
  });

  it('reads only the version to answer a matching tag, wherever the page', async () => {
    const { calls, repository } = fakeRepository('7', 0);
    const conditional = createConditionalGet({ repository, pagination });
    const { etag } = await conditional.validate(undefined, request({ page: '99' }));
    calls.length = 0;
    expect(await conditional.validate(`"x", ${etag}`, request({ page: '99' }))).toEqual({ etag, notModified: true, version: '7' });
    expect(calls).toEqual(['version']);
  });

  it('counts for * only where the page may not exist', async () => {
    const { calls, repository } = fakeRepository('7', 25);
    const conditional = createConditionalGet({ repository, pagination, exportMaxRows: 20 });
    const cases: Array<[Record<string, string>, Partial<ListRequest>, boolean, string[]]> = [
      [{}, {}, true, ['version']],
      [{ page: 'last' }, {}, true, ['version']],
      [{ page: '3' }, {}, true, ['version', 'count at 7']],
      [{ page: '4' }, {}, false, ['version', 'count at 7']],
      [{}, { pageSize: 'all' }, false, ['version', 'count at 7']],
    ];
    for (const [query, overrides, notModified, read] of cases) {
      calls.length = 0;
      expect((await conditional.validate('*', request(query, overrides))).notModified, JSON.stringify(query)).toBe(notModified);
      expect(calls).toEqual(read);
    }
  });

  it('gives no ETag where the answer can only be a 404, or the repository has no version', async () => {
    const { calls, repository } = fakeRepository('7', 25);
    const conditional = createConditionalGet({ repository, pagination });
    for (const [query, overrides] of [[{ page: '0' }, {}], [{ page: 'x' }, {}], [{ page: '2' }, { pageSize: 'all' as const }]] as const) {
      expect(await conditional.validate('*', request(query, overrides))).toEqual({ etag: null, notModified: false, version: null });
    }
    expect(calls).toEqual([]);
    const unversioned = createConditionalGet({ repository: fakeRepository(null, 25).repository, pagination });
    expect(await unversioned.validate('*', request())).toEqual({ etag: null, notModified: false, version: null });
  });

  it('tells apart what changes the bytes: renderer, its setting, indent, export cap', async () => {
    const etag = async (overrides: Partial<ListRequest>, exportMaxRows?: number) =>
      (await createConditionalGet({ repository: fakeRepository('7', 0).repository, pagination, exportMaxRows }).validate(undefined, request({}, overrides))).etag;
    const csvAccepted = { mediaType: 'text/csv', params: {} };
    const tags = [
      await etag({}),
      await etag({ accepted: { mediaType: 'application/json; indent=2', params: { indent: '2' } } }),
      await etag({ renderer: csv!, accepted: csvAccepted }),
      await etag({ renderer: plainCsv!, accepted: csvAccepted }),
      await etag({ pageSize: 'all' }),
      await etag({ pageSize: 'all' }, 1000),
    ];
    expect(new Set(tags).size).toBe(tags.length);
    // The indent of a renderer that does not read it changes nothing.
    expect(await etag({ renderer: csv!, accepted: { mediaType: 'text/csv; indent=2', params: { indent: '2' } } })).toBe(tags[2]);
  });
});
