/**
 * Examples for the OpenAPI document, produced by running the policies themselves: a page built by
 * the pagination from sample rows and rendered by each renderer, the filterset's 400 for bad
 * values, and every error body as its exception writes it. None is typed out by hand, so none can
 * disagree with what the service answers.
 */
import type { CompiledResource } from '../resource/declaration.js';
import { InvalidQuery } from '../resource/query.js';
import { HttpError, type ErrorBody } from '../http/errors.js';
import { InvalidHost } from '../http/host.js';
import { createTokenAuthentication } from './authentication.js';
import { MethodNotAllowed, NotAuthenticated, ServiceUnavailable, Throttled } from './exceptions.js';
import { selectRenderer } from './negotiation.js';
import type { PageNumberPagination } from './pagination.js';
import type { PageEnvelope, Renderer, Row } from './renderers/renderer.js';

export interface Example { summary: string; value: unknown }
export type Examples = Record<string, Example>;

export type Page = PageEnvelope & { results: Row[] };

/** Page 1 of `rows` at `limit` rows a page, links and all, as the view would answer `?limit=…`. */
export function pageExample(
  pagination: PageNumberPagination, url: { origin: string; path: string }, resource: CompiledResource, rows: readonly Row[], limit: number,
): Page {
  const rawQuery = `${pagination.pageSizeQueryParam}=${limit}`;
  const query = new Map([[pagination.pageSizeQueryParam, String(limit)]]);
  const pageSize = pagination.getPageSize(query);
  const page = pagination.getPage(query, rows.length, pageSize);
  const { protocol, host } = new URL(url.origin);
  const links = pagination.getLinks({ scheme: protocol.slice(0, -1), host, path: url.path, rawQuery }, page);
  // In the serializer's field order, whatever order the sample rows have.
  const results = rows.slice(page.offset, page.offset + pageSize)
    .map((row) => Object.fromEntries(resource.fields.map((f) => [f.name, row[f.name] ?? null])));
  return { count: rows.length, ...links, results };
}

/** The page as a text renderer (CSV) writes it; undefined for binary formats. */
export async function renderedExample(renderer: Renderer, page: Page, resource: CompiledResource, title: string): Promise<string | undefined> {
  if (!renderer.charset) return undefined;
  const body = await renderer.render(page, { mediaType: renderer.mediaType, params: {}, fields: resource.fields, title });
  return typeof body === 'string' ? body : body.toString('utf8');
}

/** A value each kind of filter refuses; text filters accept anything. */
const BAD_VALUES = { number: 'abc', datetime: 'yesterday' } as const;

/** The filterset's own 400 body for a bad value in every filter that can have one; undefined if none can. */
export function filterErrorsExample(resource: CompiledResource): ErrorBody | undefined {
  const query = new Map<string, string>();
  for (const filter of resource.filters) {
    if (filter.kind === 'ordering') query.set(filter.param, 'unknown');
    else if (filter.valueKind !== 'text') query.set(filter.lookups[0]!.param, BAD_VALUES[filter.valueKind]);
  }
  try {
    resource.parseQuery(query);
  } catch (error) {
    if (error instanceof InvalidQuery) return { ...error.errors };
    throw error;
  }
  return undefined;
}

/** The body of the HttpError `make` throws; a policy that stopped throwing fails the start-up loudly. */
async function bodyOf(make: () => unknown): Promise<ErrorBody> {
  try {
    await make();
  } catch (error) {
    if (error instanceof HttpError) return error.body();
    throw error;
  }
  throw new Error('expected the policy to refuse the example request');
}

const INACTIVE_KEY = 'inactive';

/** Every `{"detail"}` answer, by status, from the exception that writes it. */
export async function errorExamples(renderers: readonly Renderer[], pagination: PageNumberPagination): Promise<Record<number, Examples>> {
  const auth = createTokenAuthentication({
    findByKey: async (key) => (key === INACTIVE_KEY ? { userId: 0, username: '', isActive: false } : null),
  });
  const example = async (summary: string, make: () => unknown): Promise<Example> => ({ summary, value: await bodyOf(make) });
  return {
    400: {
      host: await example('Host not allowed (ALLOWED_HOSTS)', () => { throw new InvalidHost(); }),
    },
    401: {
      missing: await example('No Authorization header, or another scheme', () => { throw new NotAuthenticated(); }),
      empty: await example('`Token` without a key', () => auth.authenticate('Token')),
      unknown: await example('Unknown or revoked key', () => auth.authenticate('Token 0123456789abcdef')),
      inactive: await example('The key of an inactive user', () => auth.authenticate(`Token ${INACTIVE_KEY}`)),
    },
    404: {
      page: await example('A page that does not exist', () => pagination.getPage(new Map([[pagination.pageQueryParam, '0']]), 0, 1)),
      format: await example('An unknown `format`', () => selectRenderer(renderers, undefined, 'xml')),
    },
    405: { method: await example('Any method but GET, HEAD and OPTIONS', () => { throw new MethodNotAllowed('POST'); }) },
    406: { accept: await example('An Accept header no renderer satisfies', () => selectRenderer(renderers, 'text/html', undefined)) },
    429: { throttled: await example('THROTTLE_RATE spent, or an export cap reached', () => { throw new Throttled(42); }) },
    503: { unavailable: await example('The database is unavailable or too slow', () => { throw new ServiceUnavailable(); }) },
  };
}
