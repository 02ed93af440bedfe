import { describe, expect, it } from 'vitest';
import { parseDjangoDateTime } from '../../src/lib/timestamp.js';

describe('parseDjangoDateTime: accepted (Django 3.2 parse_datetime)', () => {
  it.each([
    ['2023-06-19T07:52:42.410357Z', '2023-06-19T07:52:42.410357Z'],
    ['2023-06-19T10:52:42.410357+03:00', '2023-06-19T07:52:42.410357Z'],
    ['2023-06-19T10:52:42.410357+0300', '2023-06-19T07:52:42.410357Z'],
    ['2023-06-19T10:52:42.410357+03', '2023-06-19T07:52:42.410357Z'],
    ['2023-06-19T04:52:42.410357-03:00', '2023-06-19T07:52:42.410357Z'],
    ['2023-06-19T00:00:00', '2023-06-19T00:00:00.000000Z'],
    ['2023-06-19 00:00', '2023-06-19T00:00:00.000000Z'],
    ['2023-6-9T7:5', '2023-06-09T07:05:00.000000Z'],
    ['2023-06-19T00:00:00,5', '2023-06-19T00:00:00.500000Z'],
    ['2023-06-19T00:00:00.1234567891', '2023-06-19T00:00:00.123456Z'],
    ['2023-06-19T00:00:00.999999999999Z', '2023-06-19T00:00:00.999999Z'],
    ['  2023-06-19T00:00:00Z\n', '2023-06-19T00:00:00.000000Z'],
    ['2024-02-29T23:59:59Z', '2024-02-29T23:59:59.000000Z'],
    ['2023-06-19T12:00:00+01:99', '2023-06-19T09:21:00.000000Z'],
    ['2023-06-19T12:00:00+23:59', '2023-06-18T12:01:00.000000Z'],
    ['2023-06-19T12:00:00-23:59', '2023-06-20T11:59:00.000000Z'],
    ['٢٠٢٣-٠٦-١٩T00:00:00', '2023-06-19T00:00:00.000000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000000Z'],
    ['0001-01-01T00:30:00+01:00', '0001-12-31T23:30:00.000000Z BC'],
    ['9999-12-31T23:59:59.999999-01:00', '10000-01-01T00:59:59.999999Z'],
  ])('reads %j as %s', (text, expected) => {
    expect(parseDjangoDateTime(text)).toBe(expected);
  });

  it('reads a date alone as midnight UTC (ours: Django 3.2 said invalid)', () => {
    expect(parseDjangoDateTime('2023-06-19')).toBe('2023-06-19T00:00:00.000000Z');
  });
});

describe('parseDjangoDateTime: "Enter a valid date/time."', () => {
  it.each([
    ['not a date', 'notadate'],
    ['an impossible day', '2023-02-30T00:00:00Z'],
    ['29 February of a common year', '2023-02-29T00:00:00Z'],
    ['1900, not a leap year', '1900-02-29T00:00:00Z'],
    ['year 0000', '0000-01-01T00:00:00Z'],
    ['month 13', '2023-13-01T00:00:00Z'],
    ['hour 24', '2023-06-19T24:00:00Z'],
    ['a leap second', '2023-06-19T23:59:60Z'],
    ['a space before the offset (Django 4.0+ only)', '2023-06-19T10:52:42 +03:00'],
    ['an unencoded + read as a space', '2023-06-19T10:52:42.410357 03:00'],
    ['a lower-case z', '2023-06-19T10:52:42z'],
    ['an offset of a whole day', '2023-06-19T10:52:42+24:00'],
    ['a fraction without seconds', '2023-06-19T10:52.5'],
    ['thirteen fractional digits', '2023-06-19T10:52:42.1234567890123'],
    ['a one-digit offset', '2023-06-19T10:52:42+3'],
    ['a date with one-digit month alone', '2023-6-19'],
    ['a date with a trailing T', '2023-06-19T'],
    ['whitespace only', '   '],
    ['an empty string', ''],
    ['a five-digit year', '20230-06-19T00:00:00'],
  ])('returns null for %s', (_name, text) => {
    expect(parseDjangoDateTime(text)).toBeNull();
  });
});
