import { describe, expect, it } from 'vitest';
import { charFilter, defineResource, integer, numberFilter, orderingFilter, string } from '../../src/resource/declaration.js';
import { InvalidQuery } from '../../src/resource/query.js';
import {
  integerCondition, parseDecimalInteger, parseNumber, parseOrdering, parseText, withTieBreaker,
} from '../../src/resource/filters.js';
import { pyStrip } from '../../src/lib/python.js';

const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);

const resource = defineResource({
  name: 'things',
  table: 'thing',
  defaultOrdering: ['id'],
  fields: { id: integer({ readOnly: true }), name: string({ maxLength: 10 }) },
  filters: [
    orderingFilter({ fields: { name: 'Name' } }),
    numberFilter('id', { lookups: ['exact', 'gt', 'lte'] }),
    charFilter('name'),
  ],
});

const parse = (query: Record<string, string>) => resource.parseQuery(new Map(Object.entries(query)));
function errorBody(query: Record<string, string>): string {
  try {
    parse(query);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidQuery);
    return JSON.stringify((error as InvalidQuery).errors);
  }
  throw new Error('expected an InvalidQuery');
}

describe('NumberFilter values (Python Decimal, truncated for the integer column)', () => {
  it.each([
    ['7', 7n], ['-7', -7n], ['+7', 7n], ['1.5', 1n], ['-1.5', -1n], ['-0.5', 0n], ['.5', 0n], ['5.', 5n],
    ['1e3', 1000n], ['1E+003', 1000n], ['+.5e-3', 0n], ['12345.678e2', 1234567n], ['1' + '0'.repeat(100) + 'e-100', 1n],
    ['1_000', 1000n], ['_1', 1n], ['1e1_0', 10_000_000_000n], ['١٢٣', 123n], ['１e３', 1000n], ['٣.٥', 3n], ['𝟎𝟙', 1n],
    [' \u3000 7\x1c', 7n], ['9.999e18', 9_999_000_000_000_000_000n], ['-9223372036854775808.9', MIN],
    ['1e-1999999999999999997', 0n], ['0e999999999999999999', 0n], ['0e-1999999999999999997', 0n],
  ])('accepts %j as %s', (raw, expected) => {
    expect(parseDecimalInteger(raw)).toBe(expected);
  });

  it.each([
    ['1e19', Infinity], ['-1e19', -Infinity], ['99999999999999999999', Infinity],
    ['1e999999999999999999', Infinity], ['10e999999999999999998', Infinity],
  ])('reports %j as beyond any bigint (%s) without building its digits', (raw, expected) => {
    expect(parseDecimalInteger(raw)).toBe(expected);
  });

  it.each([
    'abc', '', ' ', '1e', 'e1', 'inf', 'Infinity', '-inf', 'nan', 'NaN12', 'sNaN', '1 0', '0x10', '1e+-1', '++1',
    '1.2.3', '1\0', '_ 1', '_', '-', '.', '.e5', '\ufeff7', '1e1000000000000000000', '10e999999999999999999',
    '1e-1999999999999999998', '10e-1999999999999999998', '0e1000000000000000000', '0.0e-1999999999999999997',
    '-0e99999999999999999999', '1e9223372036854775808',
  ])('rejects %j as Decimal() does', (raw) => {
    expect(parseDecimalInteger(raw)).toBeNull();
  });

  it('treats only the empty string as "no filter"; blanks are "Enter a number." as in DecimalField', () => {
    expect(parseNumber('')).toEqual({ ok: true, value: undefined });
    expect(parseNumber('  ')).toEqual({ ok: false, message: 'Enter a number.' });
  });

  it('handles a 10 000-digit exponent quickly', () => {
    const start = performance.now();
    expect(parseDecimalInteger(`1e${'9'.repeat(10_000)}`)).toBeNull();
    expect(parseDecimalInteger(`0.${'0'.repeat(10_000)}1e10010`)).toBe(10n ** 9n);
    // Computing 10^(10 000 digits) would never end; the bound is generous for two shared cores.
    expect(performance.now() - start).toBeLessThan(2_000);
  });
});

// What the original answers: django-filter 23.1's NumberFilter().field.clean(value) on Django 3.2.25
// (forms.DecimalField + DecimalValidator(None, None) + NumberFilter's MaxValueValidator(1e50)),
// run once and copied here; null means the value is accepted.
const ORIGINAL_NUMBER_FILTER: Array<[string, string | null]> = [
  ["7", null],
  ["", null],
  [" ", "Enter a number."],
  ["abc", "Enter a number."],
  ["NaN", "Enter a number."],
  ["sNaN", "Enter a number."],
  ["inf", "Enter a number."],
  ["-Infinity", "Enter a number."],
  ["1_000", null],
  ["\u0661\u0662", null],
  ["0x10", "Enter a number."],
  ["1e50", null],
  ["1e+50", null],
  ["1e51", "Ensure this value is less than or equal to 1e+50."],
  ["+1e51", "Ensure this value is less than or equal to 1e+50."],
  ["-1e51", null],
  ["-1e60", null],
  ["100000000000000000000000000000000000000000000000001", null],
  ["100000000000000007629769841091887003294964970946560", null],
  ["100000000000000007629769841091887003294964970946560.0", null],
  ["100000000000000007629769841091887003294964970946560.01", "Ensure this value is less than or equal to 1e+50."],
  ["100000000000000007629769841091887003294964970946561", "Ensure this value is less than or equal to 1e+50."],
  ["1.000000000000000076297698410918870032949649709465601e50", "Ensure this value is less than or equal to 1e+50."],
  ["10000000000000000762976984109188700329496497094656.1e1", "Ensure this value is less than or equal to 1e+50."],
  ["0.0000000000000000000001e72", null],
  ["1e999999999999999999", "Ensure this value is less than or equal to 1e+50."],
  ["1e1000000000000000000", "Enter a number."],
  ["-1e999999999999999999", null],
  ["0e1000000000000000000", "Enter a number."],
  ["1e-1999999999999999997", null],
  ["1e-1999999999999999998", "Enter a number."],
  [" 1e51 ", "Ensure this value is less than or equal to 1e+50."],
  ["1e51\u0000", "Enter a number."],
];

describe('NumberFilter validation as the original words it (the limit is the double 1e50, compared exactly)', () => {
  it.each(ORIGINAL_NUMBER_FILTER)('%j → %j', (raw, message) => {
    const result = parseNumber(raw);
    expect(result.ok ? null : result.message).toBe(message);
  });
});

describe('integerCondition keeps bounds inside the bigint range, as arithmetic says', () => {
  const c = (op: '=' | '>' | '>=' | '<' | '<=', value: bigint) => ({ column: 'id', op, value: String(value), sqlType: 'bigint' });
  it('passes in-range values through', () => {
    expect(integerCondition('id', '>=', MAX)).toEqual(c('>=', MAX));
    expect(integerCondition('id', '<', MIN)).toEqual(c('<', MIN));
  });
  it.each([
    ['>', Infinity, c('>', MAX)], ['>=', MAX + 1n, c('>', MAX)], ['=', Infinity, c('>', MAX)],
    ['<', Infinity, c('<=', MAX)], ['<=', MAX + 1n, c('<=', MAX)],
    ['<', -Infinity, c('<', MIN)], ['<=', MIN - 1n, c('<', MIN)], ['=', -Infinity, c('<', MIN)],
    ['>', -Infinity, c('>=', MIN)], ['>=', MIN - 1n, c('>=', MIN)],
  ] as const)('%s %s becomes %j', (op, n, expected) => {
    expect(integerCondition('id', op, n)).toEqual(expected);
  });
});

describe('CharFilter values', () => {
  it('strips Python whitespace; blank means no filter', () => {
    expect(parseText('  Çağla \x1c')).toEqual({ ok: true, value: 'Çağla' });
    expect(parseText(' \u3000\x85')).toEqual({ ok: true, value: undefined });
    expect(parseText('\ufeffx')).toEqual({ ok: true, value: '\ufeffx' });
  });
  it('rejects NUL with ProhibitNullCharactersValidator\'s message, even alone', () => {
    expect(parseText('a\0b')).toEqual({ ok: false, message: 'Null characters are not allowed.' });
    expect(parseText('\0')).toEqual({ ok: false, message: 'Null characters are not allowed.' });
  });
  it('strips text values in linear time on long inner whitespace', () => {
    const s = `a${' '.repeat(100_000)}b`;
    const start = performance.now();
    expect(pyStrip(`  ${s}\t`)).toBe(s);
    // Quadratic stripping of 100 000 blanks takes minutes; the bound is generous for two shared cores.
    expect(performance.now() - start).toBeLessThan(2_000);
  });
});

describe('OrderingFilter values', () => {
  const terms = new Map([['id', { column: 'id', descending: false }], ['-id', { column: 'id', descending: true }]]);
  it('accepts a comma list in order and skips empty items', () => {
    expect(parseOrdering('-id,,id', terms)).toEqual({ ok: true, value: [terms.get('-id'), terms.get('id')] });
    expect(parseOrdering(',', terms)).toEqual({ ok: true, value: undefined });
  });
  it('names the first invalid item, unstripped', () => {
    expect(parseOrdering('id, id,foo', terms))
      .toEqual({ ok: false, message: 'Select a valid choice.  id is not one of the available choices.' });
  });
  it('adds the primary key in the last term\'s direction unless present', () => {
    const md = (descending: boolean) => ({ column: 'modified_date', descending });
    expect(withTieBreaker([md(true)], 'id')).toEqual([md(true), { column: 'id', descending: true }]);
    expect(withTieBreaker([md(false), { column: 'id', descending: true }], 'id'))
      .toEqual([md(false), { column: 'id', descending: true }]);
  });
});

describe('parseQuery on a 2-field declaration', () => {
  it('returns conditions in declaration order and the default ordering', () => {
    expect(parse({ name: ' x ', id__lte: '3.9', id: '-0', page: '2', limit: 'x', format: 'csv', foo: 'bar' })).toEqual({
      conditions: [
        { column: 'id', op: '=', value: '0', sqlType: 'bigint' },
        { column: 'id', op: '<=', value: '3', sqlType: 'bigint' },
        { column: 'name', op: '=', value: 'x', sqlType: 'text' },
      ],
      ordering: [{ column: 'id', descending: false }],
    });
  });
  it('applies the sort and the tie-break', () => {
    expect(parse({ sort: '-name' }).ordering)
      .toEqual([{ column: 'name', descending: true }, { column: 'id', descending: true }]);
  });
  it('reports every failure, keys in declaration order whatever the query order', () => {
    expect(errorBody({ name: '\0', id__gt: 'x', sort: 'id', id__lte: 'NaN' })).toBe(
      '{"sort":["Select a valid choice. id is not one of the available choices."],' +
      '"id__gt":["Enter a number."],"id__lte":["Enter a number."],"name":["Null characters are not allowed."]}',
    );
  });
  it('ignores empty values', () => {
    expect(parse({ sort: '', id: '', id__gt: '', name: '' }).conditions).toEqual([]);
  });
});
