/**
 * Port of DRF `JSONRenderer` (`renderers.py`, 3.14): `json.dumps(ensure_ascii=False)` with compact
 * separators, or `indent=N` from the accepted media type, with U+2028/U+2029 escaped.
 */
import type { RenderContext, Renderer } from './index.js';

/** The page envelope of `PageNumberPagination.get_paginated_response`, minus its rows. */
export interface PageEnvelope {
  count: number;
  next: string | null;
  previous: string | null;
}

const MAX_INDENT = 8;

/**
 * DRF `get_indent`: `int(params['indent'])` clamped to 0–8, where 0 means compact (`zero_as_none`,
 * not Python's "newlines without indentation"). Anything int() rejects means compact.
 */
export function getIndent(ctx: RenderContext | undefined): number | null {
  if (!ctx || !Object.hasOwn(ctx.params, 'indent')) return null;
  // The value is bytes there: int() accepts ASCII whitespace, a sign and `_` between digits only.
  const match = /^[ \t\n\r\x0b\x0c]*([+-]?)(\d(?:_?\d)*)[ \t\n\r\x0b\x0c]*$/.exec(ctx.params.indent!);
  if (!match) return null;
  const indent = match[1] === '-' ? 0 : Math.min(Number(match[2]!.replace(/_/g, '')), MAX_INDENT);
  return indent === 0 ? null : indent;
}

// JavaScript source cannot hold these two raw in string literals before ES2019; DRF escapes them
// "to ensure we output JSON that is a strict javascript subset" (tests/test_renderers.py).
const escapeLineSeparators = (json: string): string =>
  /[\u2028\u2029]/.test(json) ? json.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029') : json;

/**
 * `json.dumps` output for JSON-shaped data. JSON.stringify agrees with Python's escaping and
 * `indent` layout; it differs only on values this API never produces (non-integral floats,
 * NaN/Infinity, which DRF refuses with allow_nan=False, and integer-like object keys, which JS reorders).
 */
export function renderJson(data: unknown, ctx?: RenderContext): string {
  // DRF renders `Response(None)` as an empty body; JS undefined plays that part.
  if (data === undefined) return '';
  const indent = getIndent(ctx);
  return escapeLineSeparators(indent === null ? JSON.stringify(data) : JSON.stringify(data, null, indent));
}

/**
 * The list page `{"count","next","previous","results"}` from rows already serialised as compact
 * JSON objects, concatenated without parsing them again. An indented answer re-parses the rows.
 */
export function renderPageJson(page: PageEnvelope, rowsJson: readonly string[], ctx?: RenderContext): string {
  if (getIndent(ctx) !== null) {
    return renderJson({ ...pickEnvelope(page), results: rowsJson.map((row) => JSON.parse(row) as unknown) }, ctx);
  }
  const head = JSON.stringify(pickEnvelope(page)).slice(0, -1);
  return escapeLineSeparators(`${head},"results":[${rowsJson.join(',')}]}`);
}

const pickEnvelope = ({ count, next, previous }: PageEnvelope): PageEnvelope => ({ count, next, previous });

export const jsonRenderer: Renderer = {
  mediaType: 'application/json',
  format: 'json',
  charset: null,
  render: (data, ctx) => renderJson(data, ctx),
};
