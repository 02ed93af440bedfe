import { transcriptCases } from '../helpers/fixtures.js';
import { describe, expect, it } from 'vitest';
import { contentTypeOf, renderers, type AcceptedMediaType } from '../../src/rest/renderers/index.js';
import { getIndent, jsonRenderer, renderJson } from '../../src/rest/renderers/json.js';

const accepted = (indent?: string): AcceptedMediaType =>
  indent === undefined
    ? { mediaType: 'application/json', params: {} }
    : { mediaType: `application/json; indent=${indent}`, params: { indent } };

describe('JSONRenderer output', () => {
  it('is compact, with non-ASCII and emoji raw', () => {
    const data = { a: [1, null, true], b: 'İpek 𝓐lice 😀', c: {} };
    expect(renderJson(data)).toBe('{"a":[1,null,true],"b":"İpek 𝓐lice 😀","c":{}}');
  });

  it('escapes U+2028 and U+2029 (DRF test_u2028_u2029)', () => {
    expect(renderJson({ should_escape: '\u2028\u2029' })).toBe('{"should_escape":"\\u2028\\u2029"}');
  });

  it('escapes quotes, backslashes and control characters as json.dumps does, but not DEL', () => {
    expect(renderJson('"\\\b\f\n\r\t\x00\x1f\x7f')).toBe('"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\x7f"');
  });

  it('renders nothing for undefined, as DRF does for Response(None)', () => {
    expect(renderJson(undefined)).toBe('');
  });

  it('pretty-prints with json.dumps(indent=N, separators=(",", ": ")) layout', () => {
    const data = { a: [], b: {}, c: [1, { d: null, e: 'x\u2028' }], f: true };
    expect(renderJson(data, accepted('2'))).toBe(
      '{\n  "a": [],\n  "b": {},\n  "c": [\n    1,\n    {\n      "d": null,\n      "e": "x\\u2028"\n    }\n  ],\n  "f": true\n}',
    );
  });
});

describe('getIndent (DRF get_indent)', () => {
  it.each([
    ['1', 1],
    ['2', 2],
    ['8', 8],
    ['9', 8],
    ['100', 8],
    ['+2', 2],
    ['1_0', 8],
    [' 3 ', 3],
  ])('reads indent=%j as %i', (indent, expected) => {
    expect(getIndent(accepted(indent))).toBe(expected);
  });

  it.each(['0', '-1', '-0', '', 'abc', '2.5', '0x2', '２', '1__0'])(
    'renders compact for indent=%j (0 is coerced to None; int() failures ignored)',
    (indent) => {
      expect(getIndent(accepted(indent))).toBeNull();
      expect(renderJson({ a: [1] }, accepted(indent))).toBe('{"a":[1]}');
    },
  );

  it('is compact without an indent parameter or context', () => {
    expect(getIndent(undefined)).toBeNull();
    expect(getIndent({ mediaType: 'application/json', params: { q: '0.5' } })).toBeNull();
  });
});

describe('json renderer declaration', () => {
  it('serves application/json for format=json with no charset in Content-Type', () => {
    expect(jsonRenderer).toMatchObject({ mediaType: 'application/json', format: 'json', charset: null });
    expect(contentTypeOf(jsonRenderer)).toBe('application/json');
    expect(contentTypeOf({ mediaType: 'text/csv', charset: 'utf-8' })).toBe('text/csv; charset=utf-8');
    expect(renderers[0]).toBe(jsonRenderer);
  });
});

describe('every complete JSON body of the transcript', () => {
  const cases = transcriptCases().filter(
    (c) => c.bodyComplete && c.body && c.responseHeaders['Content-Type'] === 'application/json',
  );

  it('finds them', () => {
    expect(cases.length).toBeGreaterThan(40);
  });

  it.each(cases.map((c) => [c.title, c] as const))('re-renders byte for byte: %s', (_title, c) => {
    const indent = /indent=(\d+)/.exec(c.requestHeaders.Accept ?? '')?.[1];
    expect(renderJson(JSON.parse(c.body!), accepted(indent))).toBe(c.body);
  });
});
