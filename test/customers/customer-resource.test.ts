import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { customerResource } from '../../src/customers/customer.resource.js';
import { InvalidQuery } from '../../src/resource/query.js';
import { createMetadata } from '../../src/rest/metadata.js';
import type { Condition, OrderTerm, ParsedQuery } from '../../src/resource/declaration.js';

const parse = (query: string): ParsedQuery => customerResource.parseQuery(new Map(new URLSearchParams(query)));
const conditions = (query: string) => parse(query).conditions;
function errors(query: string): string {
  try {
    parse(query);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidQuery);
    return JSON.stringify((error as InvalidQuery).errors);
  }
  throw new Error(`expected ${query} to fail`);
}
const bigint = (column: string, op: Condition['op'], value: string): Condition => ({ column, op, value, sqlType: 'bigint' });
const text = (column: string, value: string): Condition => ({ column, op: '=', value, sqlType: 'text' });
const at = (op: Condition['op'], value: string): Condition => ({ column: 'modified_date', op, value, sqlType: 'timestamptz' });
const asc = (column: string): OrderTerm => ({ column, descending: false });
const desc = (column: string): OrderTerm => ({ column, descending: true });

describe('customer resource OPTIONS', () => {
  // Its bytes are compared with the original's once, through the app, in list-simple.example.test.ts.
  it('selects the customer table\'s columns in output order', () => {
    expect(customerResource.table).toBe('customer');
    expect(customerResource.select).toEqual(['id', 'created_date', 'modified_date', 'omnitron_id', 'email',
      'first_name', 'last_name', 'phone_number', 'erp_code', 'channel_id']);
    expect(customerResource.fields.map((f) => f.name).at(-1)).toBe('channel');
  });

  it('declares the filter parameters in the original\'s order', () => {
    expect(customerResource.filterParams).toEqual(['sort', 'id__gt', 'id__gte', 'id__lt', 'id__lte', 'first_name',
      'last_name', 'email', 'phone_number', 'erp_code', 'channel_id', 'modified_date', 'modified_date__gt',
      'modified_date__gte', 'modified_date__lt', 'modified_date__lte']);
  });
});

describe('GET /list-simple/ filters (as the original answers them)', () => {
  it('returns 400 {"id__gt":["Enter a number."]} for id__gt=abc', () => {
    expect(errors('id__gt=abc')).toBe('{"id__gt":["Enter a number."]}');
  });
  it('reports id__gte=abc&id__lt=xyz together', () => {
    expect(errors('id__gte=abc&id__lt=xyz')).toBe('{"id__gte":["Enter a number."],"id__lt":["Enter a number."]}');
  });
  it('accepts decimals and exponents, truncated toward zero', () => {
    expect(conditions('id__lt=1.5')).toEqual([bigint('id', '<', '1')]);
    expect(conditions('id__lte=1e3')).toEqual([bigint('id', '<=', '1000')]);
    expect(conditions('id__gt=-1.5')).toEqual([bigint('id', '>', '-1')]);
    expect(conditions('id__gte=5&id__lte=6')).toEqual([bigint('id', '>=', '5'), bigint('id', '<=', '6')]);
  });
  it('treats channel_id as numeric', () => {
    expect(errors('channel_id=abc')).toBe('{"channel_id":["Enter a number."]}');
    expect(conditions('channel_id=2')).toEqual([bigint('channel_id', '=', '2')]);
  });
  it('applies sort lists in order, with id as the last key', () => {
    expect(parse('sort=-id').ordering).toEqual([desc('id')]);
    expect(parse('sort=modified_date,-id').ordering).toEqual([asc('modified_date'), desc('id')]);
    expect(parse('sort=modified_date').ordering).toEqual([asc('modified_date'), asc('id')]);
    expect(parse('sort=-modified_date').ordering).toEqual([desc('modified_date'), desc('id')]);
    expect(parse('sort=').ordering).toEqual([asc('id')]);
    expect(parse('').ordering).toEqual([asc('id')]);
  });
  it.each([['foo', 'foo'], ['id,foo', 'foo'], ['created_date', 'created_date']])('rejects sort=%s naming %s', (value, bad) => {
    expect(errors(`sort=${value}`)).toBe(`{"sort":["Select a valid choice. ${bad} is not one of the available choices."]}`);
  });
  it('matches text exactly, case-sensitive, after stripping whitespace', () => {
    expect(conditions('first_name=%C4%B0pek')).toEqual([text('first_name', 'İpek')]);
    expect(conditions('first_name=ipek')).toEqual([text('first_name', 'ipek')]);
    expect(conditions('first_name=%20%20%C3%87a%C4%9Fla%20')).toEqual([text('first_name', 'Çağla')]);
    expect(conditions('erp_code=%20&phone_number=')).toEqual([]);
    expect(conditions('email=missing@x')).toEqual([text('email', 'missing@x')]);
    expect(conditions('last_name=Test&erp_code=ERP-COMMA%2C1'))
      .toEqual([text('last_name', 'Test'), text('erp_code', 'ERP-COMMA,1')]);
  });
  // The timestamp text is lib/timestamp's business; what matters here is the instant it names.
  const instants = (query: string) => conditions(query).map((c) => {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})(Z|[+-]\d\d:\d\d)$/.exec(c.value);
    expect(m, c.value).not.toBeNull();
    return `${c.op} ${new Date(Date.parse(`${m![1]}${m![3]}`)).toISOString().slice(0, 19)}.${m![2]}Z`;
  });
  it('reads modified_date instants, offsets honoured, naive as UTC', () => {
    expect(conditions('modified_date=2023-06-19T07:52:42.410357Z')).toMatchObject([at('=', expect.any(String))]);
    expect(instants('modified_date=2023-06-19T07:52:42.410357Z')).toEqual(['= 2023-06-19T07:52:42.410357Z']);
    expect(instants('modified_date=2023-06-19T10:52:42.410357%2B03:00')).toEqual(['= 2023-06-19T07:52:42.410357Z']);
    expect(instants('modified_date__gte=2023-06-19T00:00:00')).toEqual(['>= 2023-06-19T00:00:00.000000Z']);
    expect(instants('modified_date__gte=2023-06-19%2000:00')).toEqual(['>= 2023-06-19T00:00:00.000000Z']);
    expect(instants('modified_date__lt=2021-06-01T00:00:00Z&modified_date__gt=2021-01-01T00:00:00Z'))
      .toEqual(['> 2021-01-01T00:00:00.000000Z', '< 2021-06-01T00:00:00.000000Z']);
  });
  it('(ours) reads a date alone as midnight UTC', () => {
    expect(instants('modified_date__gte=2023-06-19')).toEqual(['>= 2023-06-19T00:00:00.000000Z']);
  });
  it.each([
    ['modified_date=2023-06-19T10:52:42.410357+03:00', 'modified_date'], // a raw + is a space
    ['modified_date__gte=notadate', 'modified_date__gte'],
    ['modified_date__lte=2023-02-30T00:00:00Z', 'modified_date__lte'],
    ['modified_date__gt=%20', 'modified_date__gt'],
  ])('rejects %s with "Enter a valid date/time."', (query, key) => {
    expect(errors(query)).toBe(`{"${key}":["Enter a valid date/time."]}`);
  });
  it('reports several invalid filters in declaration order, whatever the query order', () => {
    expect(errors('modified_date__lt=x&channel_id=y&id__gt=z&sort=w')).toBe(
      '{"sort":["Select a valid choice. w is not one of the available choices."],"id__gt":["Enter a number."],' +
      '"channel_id":["Enter a number."],"modified_date__lt":["Enter a valid date/time."]}');
  });
  it('ignores unknown parameters and the pagination/format ones', () => {
    expect(parse('foo=bar&page=2&limit=abc&format=csv')).toEqual({ conditions: [], ordering: [asc('id')] });
  });
  it('refuses NUL in text filters with Django\'s message; elsewhere it is just invalid', () => {
    expect(errors('first_name=a%00&email=%00&id__gt=1%00&modified_date=2023-06-19T00:00:00%00&sort=id%00')).toBe(
      '{"sort":["Select a valid choice. id\\u0000 is not one of the available choices."],"id__gt":["Enter a number."],' +
      '"first_name":["Null characters are not allowed."],"email":["Null characters are not allowed."],' +
      '"modified_date":["Enter a valid date/time."]}');
  });
  it('(ours) turns out-of-range numbers into bounds that match everything or nothing', () => {
    const max = '9223372036854775807';
    const min = '-9223372036854775808';
    expect(conditions('id__gt=99999999999999999999')).toEqual([bigint('id', '>', max)]);
    expect(conditions('id__lte=1e50')).toEqual([bigint('id', '<=', max)]);
    expect(conditions('id__lt=-1e30')).toEqual([bigint('id', '<', min)]);
    expect(conditions('id__gte=-99999999999999999999.5')).toEqual([bigint('id', '>=', min)]);
    expect(conditions('channel_id=1e20')).toEqual([bigint('channel_id', '>', max)]);
    expect(conditions(`id__gt=${max}`)).toEqual([bigint('id', '>', max)]);
    expect(errors('id__gt=1e1000000000000000000')).toBe('{"id__gt":["Enter a number."]}');
  });
  it('refuses numbers above django-filter NumberFilter\'s MaxValueValidator(1e50) with its message', () => {
    expect(errors('id__gt=1e999999999&channel_id=1e51&id__lt=-1e60')).toBe(
      '{"id__gt":["Ensure this value is less than or equal to 1e+50."],' +
      '"channel_id":["Ensure this value is less than or equal to 1e+50."]}');
  });
});

describe('parseQuery on arbitrary input', () => {
  const keys = fc.oneof(fc.constantFrom(...customerResource.filterParams, 'page', 'limit', 'format'), fc.string());
  const values = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.stringMatching(/^[ _+-]?[0-9٣]{0,25}(\.[0-9]*)?([eE][+-]?[0-9_]{0,22})?$/),
    fc.stringMatching(/^\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{1,2}(:\d{1,2}(\.\d{1,12})?)?)?\s?(Z|[+-]\d{2}(:?\d{2})?)?$/),
    fc.array(fc.constantFrom('id', '-id', 'modified_date', '-modified_date', '', 'x'), { maxLength: 4 }).map((a) => a.join(',')),
  );

  it('either parses into safe SQL values or throws an InvalidQuery keyed in declaration order', () => {
    fc.assert(fc.property(fc.array(fc.tuple(keys, values), { maxLength: 8 }), (pairs) => {
      let result: ParsedQuery;
      try {
        result = customerResource.parseQuery(new Map(pairs));
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidQuery);
        const keysInBody = Object.keys((error as InvalidQuery).errors);
        expect(keysInBody.length).toBeGreaterThan(0);
        expect(keysInBody).toEqual(customerResource.filterParams.filter((p) => keysInBody.includes(p)));
        return;
      }
      for (const c of result.conditions) {
        if (c.sqlType === 'bigint') {
          expect(c.value).toMatch(/^-?\d{1,19}$/);
          expect(BigInt(c.value) <= 2n ** 63n - 1n && BigInt(c.value) >= -(2n ** 63n)).toBe(true);
        }
        if (c.sqlType === 'text') expect(c.value === '' || c.value.includes('\0')).toBe(false);
      }
      expect(result.ordering.some((t) => t.column === 'id')).toBe(true);
    }), { numRuns: 2000 });
  });
});
