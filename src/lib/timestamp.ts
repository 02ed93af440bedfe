/**
 * Microsecond-exact timestamps, kept as text (a JS Date holds milliseconds only): DRF's
 * `DateTimeField` output, which PostgreSQL writes, and Django 3.2's `forms.DateTimeField` input.
 */
import { pyStrip, toAsciiDigits } from './python.js';

const WHOLE_SECONDS = 'YYYY-MM-DD"T"HH24:MI:SS"Z"';
const WITH_MICROSECONDS = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"';

/**
 * SQL giving a timestamptz column as DRF's `DateTimeField.to_representation` writes it in UTC:
 * `isoformat()` with `+00:00` as `Z`, which leaves out the fraction when the microseconds are
 * zero (`2021-05-26T19:20:20Z`, `2023-10-06T08:42:53.427023Z`). Written by PostgreSQL, so pages,
 * cursors and COPY exports all get the same text with no per-row work in Node.
 * `column` is written into the SQL as is: pass a trusted, already quoted expression.
 */
export function drfTimestampSql(column: string): string {
  const utc = `(${column} AT TIME ZONE 'UTC')`;
  return `to_char(${utc}, CASE WHEN date_trunc('second', ${utc}) = ${utc} THEN '${WHOLE_SECONDS}' ELSE '${WITH_MICROSECONDS}' END)`;
}

/**
 * What drfTimestampSql writes, as a pattern (for the OpenAPI document): UTC with `Z`, and six
 * fractional digits or none.
 */
export const DRF_TIMESTAMP_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{6})?Z$';

// Django 3.2 `dateparse.datetime_re`: no space before the offset (Django 4.0 allowed one).
// Digits past the sixth fractional one are dropped, not rounded; more than twelve fail.
const DATETIME =
  /^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,6})\d{0,6})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;
// Ours: a date alone means midnight UTC, as Django 4 on Python 3.11 (`fromisoformat`) reads it.
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Django 3.2 `DateTimeField.to_python` as django-filter's `IsoDateTimeField` runs it: only
 * `parse_datetime` (no locale formats), naive values in UTC. Returns null where Django says
 * "Enter a valid date/time.", else the instant as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, which PostgreSQL
 * casts to timestamptz exactly. Django's `\d` and `int()` take any Unicode digit, so do we.
 */
export function parseDjangoDateTime(value: string): string | null {
  const text = toAsciiDigits(pyStrip(value));
  const date = DATE_ONLY.exec(text);
  const match = date ? null : DATETIME.exec(text);
  const parts = date ?? match;
  if (!parts) return null;
  const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const [hour, minute, second] = match ? [Number(match[4]), Number(match[5]), Number(match[6] ?? 0)] : [0, 0, 0];
  const micro = match?.[7] ? match[7].padEnd(6, '0') : '000000';
  // datetime() limits: year 1–9999, real calendar days, no leap second.
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;

  let offset = 0;
  const zone = match?.[8];
  if (zone && zone !== 'Z') {
    // Minutes are read from the last two digits and may exceed 59 (`+01:99` is 2 h 39 min).
    offset = 60 * Number(zone.slice(1, 3)) + (zone.length > 3 ? Number(zone.slice(-2)) : 0);
    // Python's timezone() refuses offsets of a whole day or more; Django turns that into invalid.
    if (offset >= 24 * 60) return null;
    if (zone.startsWith('-')) offset = -offset;
  }
  return utcText(year, month, day, hour, minute, second, offset, micro);
}

/**
 * The instant in UTC. PostgreSQL refuses offsets beyond ±15:59 that Python accepts (a 500 in the
 * original), so the offset is applied here; whole seconds are exact in a Date, microseconds ride along.
 */
function utcText(
  year: number, month: number, day: number, hour: number, minute: number, second: number,
  offsetMinutes: number, micro: string,
): string {
  const wall = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  wall.setUTCFullYear(year, month - 1, day);
  wall.setUTCHours(hour, minute, second, 0);
  const utc = new Date(wall.getTime() - offsetMinutes * 60_000);
  const utcYear = utc.getUTCFullYear();
  // 0001-01-01 with a positive offset falls in 1 BC, which PostgreSQL spells with a suffix (no year 0).
  const yearText = utcYear <= 0 ? pad(1 - utcYear, 4) : pad(utcYear, 4);
  return (
    `${yearText}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())}` +
    `T${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}.${micro}Z` +
    (utcYear <= 0 ? ' BC' : '')
  );
}
