import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NotAcceptable, NotFound } from '../../src/rest/exceptions.js';
import { createNegotiator, NEGOTIATION_CACHE_ENTRIES, selectRenderer } from '../../src/rest/negotiation.js';

// Mock renderers in the service's order, as DRF's tests/test_negotiation.py uses MockJSONRenderer.
const json = { mediaType: 'application/json', format: 'json' };
const csv = { mediaType: 'text/csv', format: 'csv' };
const xls = {
  mediaType: 'application/xls',
  format: 'xls',
  alsoAccepts: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  formatAliases: ['xlsx'],
};
const renderers = [json, csv, xls];

const select = (accept: string | undefined, format?: string) => selectRenderer(renderers, accept, format);
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('selectRenderer by Accept', () => {
  it.each([
    ['no Accept header', undefined],
    ['an empty Accept header (ours: as absent)', ''],
    ['*/*', '*/*'],
    ["a browser's Accept", BROWSER],
    ['application/*', 'application/*'],
  ])('picks JSON as application/json for %s', (_name, accept) => {
    expect(select(accept)).toEqual({ renderer: json, mediaType: 'application/json', params: {} });
  });

  it.each([
    ['text/csv', csv],
    ['text/*', csv],
    ['application/xls', xls],
    ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', xls],
  ])('picks the renderer serving %s', (accept, renderer) => {
    expect(select(accept).renderer).toBe(renderer);
  });

  it("matches types case-insensitively and returns the client's string when it is as specific", () => {
    expect(select('APPLICATION/JSON')).toEqual({ renderer: json, mediaType: 'APPLICATION/JSON', params: {} });
  });

  it('returns the media type the renderer declares when the client sent a wildcard', () => {
    expect(select('text/*').mediaType).toBe('text/csv');
  });

  // A bare `*` has an empty subtype, which matches nothing in `_MediaType.match`.
  it.each(['application/xml', 'text/html', 'image/png, text/plain', 'text/csvx', 'json', '*'])(
    'throws 406 {"detail":"Could not satisfy the request Accept header."} for %j',
    (accept) => {
      expect(() => select(accept)).toThrow(NotAcceptable);
      expect(() => select(accept)).toThrow('Could not satisfy the request Accept header.');
    },
  );

  it('ignores q-values: neither ordering (renderer order decides) nor q=0 exclusion', () => {
    expect(select('text/csv;q=1, application/json;q=0.1').renderer).toBe(json);
    expect(select('application/json;q=0').renderer).toBe(json);
  });

  it('tries more specific media ranges first, whatever their place in the header', () => {
    expect(select('*/*, text/csv').renderer).toBe(csv);
    expect(select('text/csv, application/json; indent=4').renderer).toBe(json);
  });
});

describe('selectRenderer with media type parameters', () => {
  it("returns the client's own string and its parameters for application/json; indent=2", () => {
    expect(select('application/json; indent=2')).toEqual({
      renderer: json,
      mediaType: 'application/json; indent=2',
      params: { indent: '2' },
    });
  });

  it('lower-cases parameter names and unquotes values', () => {
    expect(select('Application/JSON ; Indent = "3"')).toEqual({
      renderer: json,
      mediaType: 'Application/JSON ; Indent = "3"',
      params: { indent: '3' },
    });
  });

  it('keeps a ; inside a quoted value', () => {
    expect(select('application/json; a="x;y"; indent=1').params).toEqual({ a: 'x;y', indent: '1' });
  });

  it('drops the parameters of a wildcard the renderer is more specific than (DRF 3.14 loses them too)', () => {
    expect(select('*/*; indent=2')).toEqual({ renderer: json, mediaType: 'application/json', params: {} });
  });
});

describe('selectRenderer by ?format=', () => {
  it.each([
    ['json', json],
    ['csv', csv],
    ['xls', xls],
    ['xlsx', xls],
  ])('narrows to format=%s', (format, renderer) => {
    expect(select(undefined, format).renderer).toBe(renderer);
    expect(select(BROWSER, format).renderer).toBe(renderer);
  });

  it.each(['xml', 'api', 'JSON', 'XLSX', 'xlsx '])(
    'throws 404 {"detail":"Not found."} for format=%s, before looking at Accept',
    (format) => {
      expect(() => select('text/html', format)).toThrow(NotFound);
      expect(() => select('text/html', format)).toThrow('Not found.');
    },
  );

  it('then still needs an acceptable Accept: text/csv with format=json is 406', () => {
    expect(() => select('text/csv', 'json')).toThrow(NotAcceptable);
  });

  it('ignores an empty format', () => {
    expect(select('text/csv', '').renderer).toBe(csv);
  });
});

describe('selectRenderer on garbage Accept headers', () => {
  it.each([
    'ÿ/ÿ',
    '\u0130/json',
    'application/json; ä=1, text/csv',
    ';;;',
    ',,,',
    '"',
    'a/b; c="d;e',
    '/',
    '*/json',
    '\x00\x7f',
  ])('never throws anything but 406 for %j', (accept) => {
    try {
      select(accept);
    } catch (error) {
      expect(error).toBeInstanceOf(NotAcceptable);
    }
  });

  it('skips an unparseable range but still serves the next one', () => {
    expect(select('\u0130/json, text/csv').renderer).toBe(csv);
  });

  it('answers every string with a renderer or NotAcceptable', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.option(fc.string(), { nil: undefined }), (accept, format) => {
        try {
          const { renderer } = select(accept, format);
          expect(renderers).toContain(renderer);
        } catch (error) {
          expect(error instanceof NotAcceptable || error instanceof NotFound).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('createNegotiator', () => {
  /** The outcome as a value: the renderer, the media type and parameters, or the error's class. */
  const outcome = (run: () => { renderer: unknown; mediaType: string; params: Readonly<Record<string, string>> }) => {
    try {
      const { renderer, mediaType, params } = run();
      return { renderer, mediaType, params: { ...params } };
    } catch (error) {
      return { error: (error as Error).constructor.name };
    }
  };

  it('answers as selectRenderer does, the first time and every time after', () => {
    const negotiate = createNegotiator(renderers);
    const accepts = fc.oneof(
      fc.constantFrom(undefined, '', '*/*', BROWSER, 'application/json; indent=4', 'text/csv', 'text/html', 'application/xls'),
      fc.string({ unit: 'binary' }),
    );
    const formats = fc.option(fc.constantFrom('', 'json', 'csv', 'xlsx', 'xml', '1:'), { nil: undefined });
    fc.assert(
      fc.property(accepts, formats, (accept, format) => {
        const expected = outcome(() => select(accept, format));
        expect(outcome(() => negotiate(accept, format))).toEqual(expected);
        expect(outcome(() => negotiate(accept, format))).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('tells a format apart from an Accept header that continues it', () => {
    const negotiate = createNegotiator(renderers);
    expect(negotiate('*/*', 'csv').renderer).toBe(csv);
    expect(() => negotiate(undefined, 'csv*/*')).toThrow(NotFound);
  });

  it('shares one frozen outcome between requests, and forgets the oldest once full', () => {
    const negotiate = createNegotiator(renderers);
    const first = negotiate('application/json; indent=2', undefined);
    expect(negotiate('application/json; indent=2', undefined)).toBe(first);
    expect(Object.isFrozen(first.params)).toBe(true);
    for (let i = 0; i < NEGOTIATION_CACHE_ENTRIES; i++) negotiate(`application/json; v=${i}`, undefined);
    const again = negotiate('application/json; indent=2', undefined);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
