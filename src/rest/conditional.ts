/**
 * Ours (the original has no validators): conditional GET for list views, so that a BI tool
 * refreshing an unchanged list gets a 304 instead of the rows. The ETag is built from the data
 * version (a counter triggers keep, read by `ListRepository.version()`) and the request as parsed,
 * never from the body, so answering `If-None-Match` reads the version and nothing else.
 * If-None-Match is evaluated as RFC 9110 §13.1.2 says: weak comparison, `*`, lists.
 */
import { hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { Condition, OrderTerm } from '../resource/declaration.js';
import type { ListRepository } from '../repository/list-repository.js';
import { NotFound } from './exceptions.js';
import type { PageNumberPagination } from './pagination.js';
import { responseContentType, type AcceptedMediaType, type Renderer } from './renderers/index.js';
import { getIndent, jsonRenderer } from './renderers/json.js';

/** What a 200 of the view is a function of, besides the data: the request as the view reads it. */
export interface ListRequest {
  renderer: Renderer;
  accepted: AcceptedMediaType;
  conditions: readonly Condition[];
  ordering: readonly OrderTerm[];
  query: ReadonlyMap<string, string>;
  /** The page size as resolved (`limit` clamped or defaulted), or `all` for an export. */
  pageSize: number | 'all';
}

/**
 * The ETag of the 200 this request gets (null when the view has no data version, or the request can
 * only fail), and whether If-None-Match fails, which makes the answer a 304; and the data version
 * read for it, which the view hands on to the count (a count cached at it costs no query).
 */
export type Validation =
  | { etag: string; notModified: true; version: string }
  | { etag: string | null; notModified: false; version: string | null };

export interface ConditionalGet {
  /** Reads the data version (and, only for `If-None-Match: *` on a page that may not exist, the count). */
  validate(ifNoneMatch: string | undefined, request: ListRequest): Promise<Validation>;
  /** The ETag of the 200 this request gets at a data version read already (null as in `validate`). */
  etag(version: string | null, request: ListRequest): string | null;
}

export interface ConditionalGetOptions {
  repository: Pick<ListRepository, 'version' | 'count'>;
  pagination: Pick<PageNumberPagination, 'requestedPage' | 'getPage'>;
  /** The view's cap on export rows: above it an export is a 400, so a 304 must not stand in for it. */
  exportMaxRows?: number | undefined;
}

const NO_VALIDATOR: Validation = { etag: null, notModified: false, version: null };

export function createConditionalGet({ repository, pagination, exportMaxRows }: ConditionalGetOptions): ConditionalGet {
  /** The page as `getPage` will read it: `last`, a positive number, or null for a page that is a 404 whatever the data. */
  function requestedPage(query: ReadonlyMap<string, string>, exporting: boolean): string | null {
    const asked = pagination.requestedPage(query);
    if (asked === 'last') return 'last';
    if (asked === null || asked < 1n || (exporting && asked !== 1n)) return null;
    return String(asked);
  }

  /** Whether the request gets a 200 (for `*`): page 1 and the last page always exist; others and capped exports need the count. */
  async function exists(request: ListRequest, page: string, version: string): Promise<boolean> {
    const { pageSize, conditions, query } = request;
    if (pageSize === 'all') return exportMaxRows === undefined || (await repository.count(conditions, { version })) <= exportMaxRows;
    if (page === '1' || page === 'last') return true;
    try {
      pagination.getPage(query, await repository.count(conditions, { version }), pageSize);
      return true;
    } catch (error) {
      if (error instanceof NotFound) return false;
      throw error;
    }
  }

  return {
    etag(version, request) {
      const page = requestedPage(request.query, request.pageSize === 'all');
      return page === null || version === null ? null : entityTag(version, representationKey(request, page, exportMaxRows));
    },

    async validate(ifNoneMatch, request) {
      const page = requestedPage(request.query, request.pageSize === 'all');
      if (page === null) return NO_VALIDATOR;
      const version = await repository.version();
      if (version === null) return NO_VALIDATOR;
      const etag = entityTag(version, representationKey(request, page, exportMaxRows));
      const condition = parseIfNoneMatch(ifNoneMatch);
      if (condition === null) return { etag, notModified: false, version };
      const matches = condition === '*' ? await exists(request, page, version) : condition.some((tag) => weakMatch(tag, etag));
      return matches ? { etag, notModified: true, version } : { etag, notModified: false, version };
    },
  };
}

/**
 * 304 with the ETag and no body; the view's hook adds Vary and Allow. The body is an empty stream,
 * not nothing: Fastify's automatic HEAD route answers an empty payload with `Content-Length: 0`,
 * which a 304 must not carry (RFC 9110 §8.6: it would say the 200 is empty).
 */
export function sendNotModified(reply: FastifyReply, etag: string): FastifyReply {
  return reply.code(304).header('etag', etag).send(Readable.from([]));
}

/**
 * Everything the response's bytes depend on besides the data, canonical: the filters and ordering as
 * parsed (values already normalised: `2022-01-01` and `2022-01-01T00:00:00Z` are one condition),
 * the page and page size as resolved, the renderer and what of the media type it reads.
 */
function representationKey(request: ListRequest, page: string, exportMaxRows: number | undefined): string {
  const { renderer, accepted, conditions, ordering, pageSize } = request;
  const isJson = renderer.mediaType === jsonRenderer.mediaType;
  return JSON.stringify([
    conditions.map((c) => [c.column, c.op, c.sqlType, c.value]),
    ordering.map((t) => [t.column, t.descending]),
    page,
    pageSize,
    renderer.format,
    renderer.variant ?? null,
    responseContentType(renderer, accepted.mediaType),
    isJson ? getIndent(accepted) : null,
    pageSize === 'all' ? (exportMaxRows ?? null) : null,
  ]);
}

/** base64url characters of the request's digest in a tag: 96 bits. */
const DIGEST_CHARS = 16;
/** Every tag `entityTag` makes, as a JSON Schema pattern (the OpenAPI document states the format). */
export const ETAG_PATTERN = `^W/"[0-9]+-[A-Za-z0-9_-]{${DIGEST_CHARS}}"$`;

/** Digests of recent representation keys: a key's digest is the same whatever the version (SHA-256 ~1.7 µs, a lookup ~0.1). */
const digests = new Map<string, string>();
const DIGESTS_KEPT = 1_000;

/**
 * A weak validator (RFC 9110 §8.8.1): two spellings of one request share it though their `next`
 * links repeat each spelling, and an XLSX file's bytes differ from one rendering to the next.
 * The version stays readable; 96 bits of SHA-256 tell the requests apart.
 */
export function entityTag(version: string, key: string): string {
  let digest = digests.get(key);
  if (digest === undefined) {
    digest = hash('sha256', key, 'base64url').slice(0, DIGEST_CHARS);
    // Bounded by dropping them all: the keys in use come back at once, a flood of odd ones costs a hash each.
    if (digests.size >= DIGESTS_KEPT) digests.clear();
    digests.set(key, digest);
  }
  return `W/"${version}-${digest}"`;
}

/** `*`, the entity-tags of the list (malformed members skipped), or null when the header is absent or holds none. */
export function parseIfNoneMatch(value: string | undefined): '*' | string[] | null {
  if (value === undefined) return null;
  if (value.trim() === '*') return '*';
  // entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE. Read tag by tag, not split at commas: etagc includes them.
  const tags = value.match(/(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"/g);
  return tags && tags.length > 0 ? tags : null;
}

/** Weak comparison (RFC 9110 §8.8.3.2): the opaque tags are equal, either or both may be weak. */
export function weakMatch(a: string, b: string): boolean {
  const opaque = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);
  return opaque(a) === opaque(b);
}
