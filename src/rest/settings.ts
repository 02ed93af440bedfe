/**
 * The defaults every list view gets from the configuration: port of DRF's `api_settings`
 * (`DEFAULT_RENDERER_CLASSES`, `DEFAULT_PAGINATION_CLASS` with `PAGE_SIZE`). Pure, so the OpenAPI
 * document is built from the same parts without a database (plugins/list-policies.ts builds the
 * rest of the policies, which need one).
 */
import type { Config } from '../config.js';
import { createPageNumberPagination, type PageNumberPagination } from './pagination.js';
import { createRenderers } from './renderers/index.js';
import type { Renderer } from './renderers/renderer.js';

export function listRenderers(config: Pick<Config, 'CSV_FORMULA_GUARD'>): readonly Renderer[] {
  return createRenderers({ csvFormulaGuard: config.CSV_FORMULA_GUARD });
}

/** Page-number pagination as the original configured it: `page` and `limit`. */
export function listPagination(config: Pick<Config, 'PAGE_SIZE' | 'MAX_PAGE_SIZE'>): PageNumberPagination {
  return createPageNumberPagination({
    pageSize: config.PAGE_SIZE,
    maxPageSize: config.MAX_PAGE_SIZE,
    pageQueryParam: 'page',
    pageSizeQueryParam: 'limit',
  });
}
