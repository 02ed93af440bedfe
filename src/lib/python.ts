/**
 * Python's own behaviour on str, where the original's answers depend on it: `str.isspace()` and
 * `str.strip()`, `int()`, Unicode decimal digits as `int()` and `re`'s `\d` read them, and
 * `sorted()`'s code-point order.
 */

/** The characters Python's `str.isspace()` (and `re`'s `\s` on str) accepts. */
export const PY_WHITESPACE =
  '\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const PY_SPACE_CHAR = new RegExp(`^[${PY_WHITESPACE}]$`, 'u');

/** Python's `str.isspace()` for one character. */
export const isPyWhitespace = (char: string): boolean => PY_SPACE_CHAR.test(char);

/** Python's `str.strip()` with no argument. Loops: a `\s+$` regex backtracks quadratically on long inner whitespace. */
export function pyStrip(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isPyWhitespace(value.charAt(start))) start++;
  while (end > start && isPyWhitespace(value.charAt(end - 1))) end--;
  return value.slice(start, end);
}

/** Orders strings as Python compares str: by code point (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    // i is inside both strings (the loop bound): codePointAt cannot return undefined.
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** `sorted(d.items())` for a dict: entries ordered by key. */
export function sortEntriesByKey<T extends readonly [string, unknown]>(entries: Iterable<T>): T[] {
  return [...entries].sort((x, y) => compareCodePoints(x[0], y[0]));
}

/** The value 0–9 of a Unicode decimal digit (category Nd), as Python's `int()` and `re`'s `\d` read it. */
export function decimalDigitValue(char: string): number | null {
  const code = char.codePointAt(0);
  if (code === undefined) return null;
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (!/^\p{Nd}$/u.test(char)) return null;
  // Unicode encodes every decimal digit set as a contiguous 0–9 run, so count back to the run's start.
  let offset = 0;
  while (/^\p{Nd}$/u.test(String.fromCodePoint(code - offset - 1))) offset++;
  return offset % 10;
}

/** Replaces every Unicode decimal digit with its ASCII digit; other characters are kept. */
export function toAsciiDigits(value: string): string {
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  let out = '';
  for (const char of value) {
    const digit = char.length === 1 && char < '\x80' ? null : decimalDigitValue(char);
    out += digit === null ? char : String(digit);
  }
  return out;
}

const PLAIN_DIGITS = /^[0-9]{1,15}$/;
const PY_INT = /^[\t\n\x0b\x0c\r ]*([+-]?)(\d(?:_?\d)*)[\t\n\x0b\x0c\r ]*$/;

/**
 * Python's `int(s)` on a str, or null where it raises ValueError: surrounding whitespace, a sign,
 * `_` between digits, any Unicode decimal digits; no decimals or exponents.
 */
export function pythonInt(value: string): bigint | null {
  // The usual case (`page=2`), which every rule below reads as its digits.
  if (PLAIN_DIGITS.test(value)) return BigInt(value);
  let ascii = value;
  if (!/^[\x00-\x7f]*$/.test(value)) {
    // int() first maps non-ASCII spaces to ' ' and decimal digits to ASCII; \x1c-\x1f stay and fail.
    ascii = '';
    for (const char of value) {
      if (char < '\x80') ascii += char;
      else if (isPyWhitespace(char)) ascii += ' ';
      else {
        const digit = decimalDigitValue(char);
        if (digit === null) return null;
        ascii += String(digit);
      }
    }
  }
  const match = PY_INT.exec(ascii);
  if (!match) return null;
  const [, sign, digitRun = ''] = match;
  const digits = digitRun.replace(/_/g, '');
  // CPython ≥ 3.10.7/3.11 refuses to convert more than 4300 digits (int_max_str_digits).
  if (digits.length > 4300) return null;
  const number = BigInt(digits);
  return sign === '-' ? -number : number;
}
