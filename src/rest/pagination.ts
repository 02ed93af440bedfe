/**
 * Port of DRF `PageNumberPagination` (`pagination.py`, 3.14) over Django's `Paginator`, with the
 * `next`/`previous` links built as `utils/urls.py` `replace_query_param`/`remove_query_param` do.
 */
import { NotFound } from './exceptions.js';
import { parseQueryLists, urlencode } from '../lib/querystring.js';
import { pythonInt, sortEntriesByKey } from '../lib/python.js';

export interface PageNumberPaginationOptions {
  /** Rows per page when the client asks for nothing valid. */
  pageSize: number;
  /** Upper bound for the client's page size (DRF `max_page_size`). */
  maxPageSize: number;
  pageQueryParam?: string;
  pageSizeQueryParam?: string;
}

export interface Page {
  /** 1-based page number. */
  number: number;
  /** Always at least 1: Django's `allow_empty_first_page`. */
  numPages: number;
  /** Rows to skip. */
  offset: number;
}

/** The absolute URL of the current request, split as Django's `build_absolute_uri()` produces it. */
export interface RequestUrl {
  scheme: string;
  host: string;
  /** Already URI-escaped, as `request.get_full_path()` has it. */
  path: string;
  /** The query string as sent, without `?` or fragment. */
  rawQuery: string;
}

export interface PageNumberPagination {
  readonly pageQueryParam: string;
  readonly pageSizeQueryParam: string;
  getPageSize(query: ReadonlyMap<string, string>): number;
  /** The page asked for, read as `get_page_number` reads it, before the count is known: `last`, or int() of it (null where int() fails). */
  requestedPage(query: ReadonlyMap<string, string>): 'last' | bigint | null;
  getPage(query: ReadonlyMap<string, string>, count: number, pageSize: number): Page;
  getLinks(url: RequestUrl, page: Page): { next: string | null; previous: string | null };
}

const INVALID_PAGE = 'Invalid page.';
// DRF's `last_page_strings`; compared exactly, so `Last` is an invalid page.
export const LAST_PAGE_STRINGS: readonly string[] = ['last'];

export function createPageNumberPagination(options: PageNumberPaginationOptions): PageNumberPagination {
  const { pageSize: defaultPageSize, maxPageSize } = options;
  const pageQueryParam = options.pageQueryParam ?? 'page';
  const pageSizeQueryParam = options.pageSizeQueryParam ?? 'limit';

  /**
   * `_positive_int(value, strict=True, cutoff=max_page_size)`: a KeyError or ValueError (missing,
   * not an `int()`, zero, negative) silently falls back to the default; too large is clamped.
   */
  function getPageSize(query: ReadonlyMap<string, string>): number {
    const raw = query.get(pageSizeQueryParam);
    if (raw === undefined) return defaultPageSize;
    const size = pythonInt(raw);
    if (size === null || size <= 0n) return defaultPageSize;
    return maxPageSize && size > BigInt(maxPageSize) ? maxPageSize : Number(size);
  }

  function requestedPage(query: ReadonlyMap<string, string>): 'last' | bigint | null {
    // DRF 3.14 uses `.get(param, 1)`, so `?page=` (empty) is an invalid page; 3.15 made it page 1.
    const raw = query.get(pageQueryParam) ?? '1';
    // `validate_number` calls int() on the string: `1.0` and `1e0` fail, ` 2 ` and `+2` pass.
    return LAST_PAGE_STRINGS.includes(raw) ? 'last' : pythonInt(raw);
  }

  /** `paginator.page(get_page_number())`, any `InvalidPage` turned into 404 "Invalid page.". */
  function getPage(query: ReadonlyMap<string, string>, count: number, pageSize: number): Page {
    const numPages = Math.max(1, Math.ceil(count / pageSize));
    const asked = requestedPage(query);
    const number = asked === 'last' ? BigInt(numPages) : asked;
    if (number === null || number < 1n || number > BigInt(numPages)) throw new NotFound(INVALID_PAGE);
    const n = Number(number);
    return { number: n, numPages, offset: (n - 1) * pageSize };
  }

  /**
   * DRF re-parses the whole query with `parse_qs`, sets or drops `page`, and re-encodes it with
   * `urlencode(sorted(...), doseq=True)`: keys alphabetised, every value of a repeated key kept,
   * the other parameters (`limit` too) exactly as sent, and no `?` when nothing is left.
   */
  function linkTo(url: RequestUrl, pageNumber: number | null): string {
    const query = parseQueryLists(url.rawQuery);
    if (pageNumber === null) query.delete(pageQueryParam);
    else query.set(pageQueryParam, [String(pageNumber)]);
    const encoded = urlencode(sortEntriesByKey(query.entries()));
    return `${url.scheme}://${url.host}${url.path}${encoded ? `?${encoded}` : ''}`;
  }

  function getLinks(url: RequestUrl, page: Page): { next: string | null; previous: string | null } {
    const next = page.number < page.numPages ? linkTo(url, page.number + 1) : null;
    let previous: string | null = null;
    if (page.number > 1) previous = linkTo(url, page.number === 2 ? null : page.number - 1);
    return { next, previous };
  }

  return { pageQueryParam, pageSizeQueryParam, getPageSize, requestedPage, getPage, getLinks };
}
