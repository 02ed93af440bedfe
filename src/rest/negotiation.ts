/**
 * Content negotiation deals with selecting an appropriate renderer given the incoming request.
 * Port of DRF 3.14 `DefaultContentNegotiation.select_renderer` (`negotiation.py`) and of
 * `utils/mediatypes.py`, whose `_MediaType` parses with Django 3.2's `parse_header`.
 */
import { NotAcceptable, NotFound } from './exceptions.js';
import { pyStrip } from '../lib/python.js';

/** What negotiation needs to know of a renderer. */
export interface Negotiable {
  readonly mediaType: string;
  readonly format: string;
  /** Further media types that select this renderer (ours; DRF has one per renderer). */
  readonly alsoAccepts?: readonly string[];
  /** Further `?format=` values that select this renderer (ours; DRF has one `format` per renderer). */
  readonly formatAliases?: readonly string[];
}

export interface Negotiated<R> {
  renderer: R;
  /** DRF's `accepted_media_type`: the client's own string when it is the more specific one. */
  mediaType: string;
  /** Parameters of `mediaType` (e.g. `indent`), names lower-cased. */
  params: Readonly<Record<string, string>>;
}

/** 3 `type/sub; param=v`, 2 `type/sub`, 1 `type/*`, 0 `*\/*`. */
type Precedence = 0 | 1 | 2 | 3;

interface MediaType {
  mainType: string;
  subType: string;
  params: Map<string, string>;
  precedence: Precedence;
}

// Python's bytes.strip(): ASCII whitespace only.
const stripAscii = (text: string): string => text.replace(/^[ \t\n\r\x0b\x0c]+|[ \t\n\r\x0b\x0c]+$/g, '');

/** Django's `_parse_header_params`: split on `;` outside double quotes. */
function splitParams(text: string): string[] {
  const parts: string[] = [];
  let rest = `;${text}`;
  while (rest.startsWith(';')) {
    rest = rest.slice(1);
    let end = rest.indexOf(';');
    while (end > 0 && (rest.slice(0, end).split('"').length - 1) % 2) end = rest.indexOf(';', end + 1);
    if (end < 0) end = rest.length;
    parts.push(stripAscii(rest.slice(0, end)));
    rest = rest.slice(end);
  }
  return parts;
}

/**
 * `_MediaType(text)` via Django's `parse_header`. Returns null where DRF would raise a
 * UnicodeError and answer 500 (non-Latin-1 text, non-ASCII type or parameter names); such a
 * media range simply matches nothing here.
 */
function parseMediaType(text: string): MediaType | null {
  if (/[^\x00-\xff]/.test(text)) return null;
  const [fullType = '', ...rawParams] = splitParams(text);
  if (/[^\x00-\x7f]/.test(fullType)) return null;
  const params = new Map<string, string>();
  for (const param of rawParams) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    let name = stripAscii(param.slice(0, eq)).toLowerCase();
    if (/[^\x00-\x7f]/.test(name)) return null;
    // RFC 2231 `name*=charset'lang'value` loses its star; the value is not decoded here.
    if (name.endsWith('*')) name = name.slice(0, -1);
    let value = stripAscii(param.slice(eq + 1));
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1).replaceAll('\\\\', '\\').replaceAll('\\"', '"');
    }
    params.set(name, value);
  }
  const lower = fullType.toLowerCase();
  const slash = lower.indexOf('/');
  const mainType = slash < 0 ? lower : lower.slice(0, slash);
  const subType = slash < 0 ? '' : lower.slice(slash + 1);
  let precedence: Precedence = 3;
  if (mainType === '*') precedence = 0;
  else if (subType === '*') precedence = 1;
  else if (params.size === 0 || (params.size === 1 && params.has('q'))) precedence = 2;
  return { mainType, subType, params, precedence };
}

/** `_MediaType.match`: does the renderer's type satisfy the client's range? q is never looked at. */
function matches(renderer: MediaType, client: MediaType): boolean {
  for (const [key, value] of renderer.params) {
    if (key !== 'q' && client.params.get(key) !== value) return false;
  }
  if (renderer.subType !== '*' && client.subType !== '*' && client.subType !== renderer.subType) return false;
  if (renderer.mainType !== '*' && client.mainType !== '*' && client.mainType !== renderer.mainType) return false;
  return true;
}

/** Each renderer's own media types, parsed once: they are constants, and parsing them was most of a negotiation's work. */
const parsedOwnTypes = new WeakMap<Negotiable, readonly MediaType[]>();

function ownTypes(renderer: Negotiable): readonly MediaType[] {
  let own = parsedOwnTypes.get(renderer);
  if (!own) {
    // A renderer's own type that did not parse would match nothing, as a client's does not.
    own = [renderer.mediaType, ...(renderer.alsoAccepts ?? [])].flatMap((t) => parseMediaType(t) ?? []);
    parsedOwnTypes.set(renderer, own);
  }
  return own;
}

/**
 * Given the renderers in preference order, the Accept header and `?format=`, return the renderer
 * and the accepted media type. Throws NotFound for an unknown format, NotAcceptable otherwise.
 */
export function selectRenderer<R extends Negotiable>(
  renderers: readonly R[],
  accept: string | undefined,
  format: string | undefined,
): Negotiated<R> {
  let candidates = renderers;
  // `?format=` with an empty value does not narrow anything (`if format:`).
  if (format) {
    candidates = renderers.filter((renderer) => renderer.format === format || renderer.formatAliases?.includes(format));
    // DRF 3.14 raises Http404 here (3.15 changed it to 406).
    if (candidates.length === 0) throw new NotFound();
  }

  // Ours: an empty header counts as absent (`*/*`); DRF parses '' as a type matching nothing.
  const header = accept === undefined || stripAscii(accept) === '' ? '*/*' : accept;
  // DRF groups by precedence in sets: q-values neither order nor exclude anything (`q=0` still
  // matches). Within a group we keep the header's order where Python's set order is arbitrary.
  type Range = { text: string; type: MediaType };
  const byPrecedence: [Range[], Range[], Range[], Range[]] = [[], [], [], []];
  const seen = new Set<string>();
  for (const token of header.split(',')) {
    const text = pyStrip(token);
    if (seen.has(text)) continue;
    seen.add(text);
    const type = parseMediaType(text);
    if (type) byPrecedence[type.precedence].push({ text, type });
  }

  // Most specific first.
  for (const group of byPrecedence.toReversed()) {
    for (const renderer of candidates) {
      const own = ownTypes(renderer);
      for (const client of group) {
        const served = own.find((type) => matches(type, client.type));
        if (!served) continue;
        if (served.precedence > client.type.precedence) {
          // Client sent `*/*` or `type/*`: the renderer's type is accepted. DRF 3.14 appends the
          // client's params as Python bytes reprs (`indent=b'2'`) that its own get_indent cannot
          // read, so they are dropped here: `*/*; indent=2` renders compact there too.
          return { renderer, mediaType: renderer.mediaType, params: {} };
        }
        return { renderer, mediaType: client.text, params: Object.fromEntries(client.type.params) };
      }
    }
  }
  throw new NotAcceptable();
}

/** Most outcomes a negotiator remembers, and the longest Accept header it remembers one for. */
export const NEGOTIATION_CACHE_ENTRIES = 256;
export const NEGOTIATION_CACHE_MAX_ACCEPT = 512;

/**
 * `selectRenderer` over one list of renderers, its successful outcomes remembered per Accept header
 * and `format`: clients send a handful of distinct headers, and every request of one gets the same
 * answer. Bounded (oldest forgotten first, long headers never kept); failures (404, 406) are not
 * kept, they are computed again. The outcomes are frozen: every request shares them.
 */
export function createNegotiator<R extends Negotiable>(renderers: readonly R[]) {
  const outcomes = new Map<string, Negotiated<R>>();
  return function negotiate(accept: string | undefined, format: string | undefined): Negotiated<R> {
    if (accept !== undefined && accept.length > NEGOTIATION_CACHE_MAX_ACCEPT) return selectRenderer(renderers, accept, format);
    // The format's length first, so that no two pairs share a key; an absent header or format
    // negotiates as an empty one does.
    const given = format ?? '';
    const key = `${given.length}:${given}${accept ?? ''}`;
    let outcome = outcomes.get(key);
    if (outcome) return outcome;
    const { renderer, mediaType, params } = selectRenderer(renderers, accept, format);
    outcome = Object.freeze({ renderer, mediaType, params: Object.freeze({ ...params }) });
    if (outcomes.size >= NEGOTIATION_CACHE_ENTRIES) {
      const oldest = outcomes.keys().next();
      if (!oldest.done) outcomes.delete(oldest.value);
    }
    outcomes.set(key, outcome);
    return outcome;
  };
}
