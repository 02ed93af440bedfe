/**
 * Query strings read and written exactly as the original's Python stack does:
 * `urllib.parse` (`parse_qsl`, `unquote`, `quote_plus`, `urlencode`) as Django's
 * `QueryDict` and DRF's `utils/urls.py` use them, plus `int()` and `sorted()` on str.
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
  while (start < end && isPyWhitespace(value[start]!)) start++;
  while (end > start && isPyWhitespace(value[end - 1]!)) end--;
  return value.slice(start, end);
}

/** Splits a request target as `urlsplit` does: the fragment goes first, then the query. */
export function splitRequestTarget(target: string): { path: string; rawQuery: string } {
  // Node keeps a `#fragment` in `request.url`; gunicorn cut it off before Django saw QUERY_STRING.
  const hash = target.indexOf('#');
  const beforeFragment = hash === -1 ? target : target.slice(0, hash);
  const question = beforeFragment.indexOf('?');
  if (question === -1) return { path: beforeFragment, rawQuery: '' };
  return { path: beforeFragment.slice(0, question), rawQuery: beforeFragment.slice(question + 1) };
}

const HEX = /^[0-9A-Fa-f]{2}$/;
// ignoreBOM keeps a decoded U+FEFF, as Python's 'utf-8' codec (unlike 'utf-8-sig') does.
const utf8Replacing = new TextDecoder('utf-8', { ignoreBOM: true });

function unquoteAsciiRun(run: string): string {
  if (!run.includes('%')) return run;
  const bytes: number[] = [];
  for (let i = 0; i < run.length; i++) {
    const pair = run.slice(i + 1, i + 3);
    if (run[i] === '%' && HEX.test(pair)) {
      bytes.push(parseInt(pair, 16));
      i += 2;
    } else {
      bytes.push(run.charCodeAt(i));
    }
  }
  return utf8Replacing.decode(Uint8Array.from(bytes));
}

/**
 * `urllib.parse.unquote(s, 'utf-8', 'replace')`: `%XX` becomes a byte, bytes decode as UTF-8
 * with U+FFFD for invalid sequences, a malformed `%` stays as is.
 */
export function unquote(value: string): string {
  if (!value.includes('%')) return value;
  // Python decodes each ASCII run on its own and passes other characters through untouched.
  return value.replace(/[\x00-\x7f]+/g, unquoteAsciiRun);
}

/** `parse_qsl(qs, keep_blank_values=True)`: pairs in order; separator `&` only (Python ≥ 3.9.2). */
export function parseQsl(rawQuery: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (!rawQuery) return pairs;
  for (const field of rawQuery.split('&')) {
    if (!field) continue;
    const eq = field.indexOf('=');
    const name = eq === -1 ? field : field.slice(0, eq);
    const value = eq === -1 ? '' : field.slice(eq + 1);
    pairs.push([unquote(name.replace(/\+/g, ' ')), unquote(value.replace(/\+/g, ' '))]);
  }
  return pairs;
}

/** Django's `QueryDict.get` view: one value per key, the last one sent, keys in first-seen order. */
export function parseQuery(rawQuery: string): Map<string, string> {
  const query = new Map<string, string>();
  for (const [name, value] of parseQsl(rawQuery)) query.set(name, value);
  return query;
}

/** `parse_qs(qs, keep_blank_values=True)`: every value of every key, keys in first-seen order. */
export function parseQueryLists(rawQuery: string): Map<string, string[]> {
  const query = new Map<string, string[]>();
  for (const [name, value] of parseQsl(rawQuery)) {
    const values = query.get(name);
    if (values) values.push(value);
    else query.set(name, [value]);
  }
  return query;
}

const ALWAYS_SAFE = /^[A-Za-z0-9_.~-]$/;

/** `quote_plus(s, safe='')`: UTF-8 bytes, unreserved characters kept, space as `+`, `%XX` upper-case. */
export function quotePlus(value: string): string {
  if (/^[A-Za-z0-9_.~-]*$/.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    if (ALWAYS_SAFE.test(char)) out += char;
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export type QueryEntry = readonly [string, string | readonly string[]];

/** `urlencode(entries, doseq=True)`: a list value repeats its key once per item. */
export function urlencode(entries: Iterable<QueryEntry>): string {
  const parts: string[] = [];
  for (const [name, value] of entries) {
    const key = quotePlus(name);
    if (typeof value === 'string') parts.push(`${key}=${quotePlus(value)}`);
    else for (const item of value) parts.push(`${key}=${quotePlus(item)}`);
  }
  return parts.join('&');
}

/** Orders strings as Python compares str: by code point (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
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
  const code = char.codePointAt(0)!;
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

const PY_INT = /^[\t\n\x0b\x0c\r ]*([+-]?)(\d(?:_?\d)*)[\t\n\x0b\x0c\r ]*$/;

/**
 * Python's `int(s)` on a str, or null where it raises ValueError: surrounding whitespace, a sign,
 * `_` between digits, any Unicode decimal digits; no decimals or exponents.
 */
export function pythonInt(value: string): bigint | null {
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
  const digits = match[2]!.replace(/_/g, '');
  // CPython ≥ 3.10.7/3.11 refuses to convert more than 4300 digits (int_max_str_digits).
  if (digits.length > 4300) return null;
  const number = BigInt(digits);
  return match[1] === '-' ? -number : number;
}
