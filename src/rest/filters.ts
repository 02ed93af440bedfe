/**
 * The filter backend: port of django-filter's `DjangoFilterBackend.filter_queryset` for DRF. The
 * resource's filterset parses the query (resource/filters.ts); a rejected query becomes DRF's
 * ValidationError, a 400 whose body is the filterset's errors (`utils.translate_validation`).
 */
import { InvalidQuery, type CompiledResource, type ParsedQuery } from '../resource/declaration.js';
import { ValidationError } from './exceptions.js';

export function filterQuery(resource: CompiledResource, query: ReadonlyMap<string, string>): ParsedQuery {
  try {
    return resource.parseQuery(query);
  } catch (error) {
    if (error instanceof InvalidQuery) throw new ValidationError({ ...error.errors });
    throw error;
  }
}
