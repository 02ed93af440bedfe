/**
 * Query strings read and written exactly as the original's Python stack does:
 * `urllib.parse` (`parse_qsl`, `unquote`, `quote_plus`, `urlencode`) as Django's
 * `QueryDict` and DRF's `utils/urls.py` use them.
 */

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
