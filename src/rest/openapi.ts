/**
 * The OpenAPI 3.1 document of a list view, built from what the view itself is made of: the
 * compiled declaration (fields, filters, lookups, ordering choices), the pagination, the renderer
 * list and the exceptions. Ours (DRF 3.14's schema generator writes OpenAPI 3.0 from serializers
 * and knows nothing of django-filter's lookups or of this service's errors).
 */
import type { CompiledResource } from '../resource/declaration.js';
import type { Metadata } from './metadata.js';
import { LAST_PAGE_STRINGS, type PageNumberPagination } from './pagination.js';
import type { Renderer, Row } from './renderers/renderer.js';
import { errorExamples, filterErrorsExample, pageExample, renderedExample, type Examples } from './openapi-examples.js';
import {
  detailSchema, filterErrorsSchema, itemSchema, lookupDescription, lookupSchema, metadataSchema, orderingDescription, orderingSchema, pageSchema,
  type JsonSchema,
} from './openapi-schemas.js';
import {
  compressionNote, conditionalRefs, etagHeader, ETAG, ifNoneMatchParameter, IF_NONE_MATCH, notModifiedResponse, NOT_MODIFIED,
  type CompressionDescription,
} from './openapi-conditional.js';

export interface ListViewDocumentOptions {
  title: string;
  version: string;
  description?: string;
  /** The view's full path, with its trailing slash. */
  path: string;
  resource: CompiledResource;
  /** Schema name of one row (`Customer`). */
  itemName: string;
  /** What the rows are called: the download's file name (`customers`). */
  downloadName: string;
  renderers: readonly Renderer[];
  pagination: PageNumberPagination;
  pageSize: number;
  maxPageSize: number;
  /** The value of the page size parameter that asks for every row (`limit=all`). */
  exportAll: string;
  metadata: Metadata;
  /** Rows the examples show (two of them, in a page of their own). */
  exampleRows: readonly Row[];
  /** The origin example links are written with. */
  exampleOrigin: string;
  /** Whether the view answers conditional GET, i.e. its repository keeps a data version: ETag, If-None-Match, 304. */
  conditionalGet?: boolean | undefined;
  /** The app's response compression, when on (a note in the description: it is transport, not a parameter). */
  compression?: CompressionDescription | undefined;
}

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

/** DRF's URL_FORMAT_OVERRIDE, the query parameter the view hands to negotiation. */
const FORMAT_PARAM = 'format';
const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** Every query parameter of the view: the filterset's, then pagination and format. */
function parameters(o: ListViewDocumentOptions): Record<string, JsonSchema> {
  const params: Record<string, JsonSchema> = {};
  for (const filter of o.resource.filters) {
    if (filter.kind === 'ordering') {
      params[filter.param] = {
        name: filter.param, in: 'query', style: 'form', explode: false,
        description: `${filter.label}. ${orderingDescription(filter)}`, schema: orderingSchema(filter),
      };
      continue;
    }
    for (const lookup of filter.lookups) {
      params[lookup.param] = {
        name: lookup.param, in: 'query', description: `${filter.label}: ${lookupDescription(filter, lookup)}`, schema: lookupSchema(filter),
      };
    }
  }
  const { pageQueryParam, pageSizeQueryParam } = o.pagination;
  params[pageQueryParam] = {
    name: pageQueryParam, in: 'query',
    description: `1-based page number, or ${LAST_PAGE_STRINGS.map((s) => `\`${s}\``).join(', ')}. Anything else that is not a page is a 404 \`Invalid page.\`.`,
    schema: { oneOf: [{ type: 'integer', minimum: 1 }, { type: 'string', enum: [...LAST_PAGE_STRINGS] }], default: 1 },
  };
  params[pageSizeQueryParam] = {
    name: pageSizeQueryParam, in: 'query',
    description: `Rows per page. Above ${o.maxPageSize} it is clamped; 0, negative or not a number means the default, as in DRF. ` +
      `\`${o.exportAll}\` (ours): every matching row in one response, streamed from one snapshot.`,
    schema: { oneOf: [{ type: 'integer', minimum: 1 }, { type: 'string', enum: [o.exportAll] }], default: o.pageSize },
  };
  params[FORMAT_PARAM] = {
    name: FORMAT_PARAM, in: 'query',
    description: 'Narrows the renderers to one (an unknown value is a 404); otherwise the Accept header chooses.',
    schema: { type: 'string', enum: o.renderers.flatMap((r) => [r.format, ...(r.formatAliases ?? [])]) },
  };
  return params;
}

const header = (description: string, schema: JsonSchema = { type: 'string' }) => ({ description, schema });

/** 200: one entry per media type a renderer answers with, each with the page it would write. */
async function okResponse(o: ListViewDocumentOptions): Promise<JsonSchema> {
  const page = pageExample(o.pagination, { origin: o.exampleOrigin, path: o.path }, o.resource, o.exampleRows, 2);
  const content: Record<string, JsonSchema> = {};
  for (const renderer of o.renderers) {
    const text = renderer.download ? await renderedExample(renderer, page, o.resource, o.downloadName) : undefined;
    for (const mediaType of [renderer.mediaType, ...(renderer.alsoAccepts ?? [])]) {
      if (!renderer.download) {
        content[mediaType] = { schema: ref('schemas', `${o.itemName}Page`), examples: { page: { summary: 'Page 1 at limit=2', value: page } } };
      } else if (text !== undefined) {
        content[mediaType] = { schema: { type: 'string' }, examples: { page: { summary: 'Page 1 at limit=2', value: text } } };
      } else {
        content[mediaType] = { schema: { type: 'string', contentMediaType: mediaType } };
      }
    }
  }
  const files = o.renderers.filter((r) => r.download).map((r) => `\`${o.downloadName}.${r.download!.extension}\``).join(', ');
  return {
    description: 'A page, or with `limit=all` every matching row.',
    headers: {
      ...(o.conditionalGet ? { ETag: conditionalRefs.etag } : {}),
      'X-Total-Count': header('File formats only: `count`.', { type: 'integer', minimum: 0 }),
      Link: header('File formats only: the `next` and `previous` links (RFC 8288, `rel="next"`, `rel="prev"`).'),
      'Content-Disposition': header(`File formats only: an attachment, ${files}.`),
    },
    content,
  };
}

const json = (schema: JsonSchema, examples: Examples) => ({ 'application/json': { schema, examples } });

async function errorResponses(o: ListViewDocumentOptions): Promise<Record<string, JsonSchema>> {
  const examples = await errorExamples(o.renderers, o.pagination);
  const filterErrors = filterErrorsExample(o.resource);
  const retryAfter = { 'Retry-After': ref('headers', 'RetryAfter') };
  const errors = ref('schemas', 'Error');
  return {
    BadRequest: {
      description: 'Invalid filter values (every failing parameter at once, in declaration order), or a Host not allowed.',
      content: json({ oneOf: [ref('schemas', 'FilterErrors'), errors] }, {
        ...(filterErrors ? { filters: { summary: 'Invalid filter values', value: filterErrors } } : {}),
        ...examples[400],
      }),
    },
    Unauthorized: {
      description: 'No usable token.',
      headers: { 'WWW-Authenticate': header('`Token`.') },
      content: json(errors, examples[401]!),
    },
    NotFound: { description: 'No such page, or an unknown `format`.', content: json(errors, examples[404]!) },
    MethodNotAllowed: { description: 'Any method but GET, HEAD and OPTIONS (after authentication).', content: json(errors, examples[405]!) },
    NotAcceptable: { description: 'No renderer satisfies the Accept header.', content: json(errors, examples[406]!) },
    TooManyRequests: { description: 'Over THROTTLE_RATE, or over an export concurrency cap.', headers: retryAfter, content: json(errors, examples[429]!) },
    ServiceUnavailable: { description: 'The database is unavailable, saturated or too slow.', headers: retryAfter, content: json(errors, examples[503]!) },
  };
}

const ERRORS = { 400: 'BadRequest', 401: 'Unauthorized', 404: 'NotFound', 406: 'NotAcceptable', 429: 'TooManyRequests', 503: 'ServiceUnavailable' };

/** The same statuses without bodies, for HEAD. */
const bodiless = (responses: Record<string, JsonSchema>) =>
  Object.fromEntries(Object.entries(responses).map(([status, { description, headers }]) => [status, { description, ...(headers ? { headers } : {}) }]));

export async function createListViewDocument(o: ListViewDocumentOptions): Promise<OpenApiDocument> {
  const params = parameters(o);
  const paramRefs = Object.keys(params).map((name) => ref('parameters', name));
  const listParamRefs = o.conditionalGet ? [...paramRefs, conditionalRefs.parameter] : paramRefs;
  const notModified = o.conditionalGet ? { 304: conditionalRefs.notModified } : {};
  const responses = await errorResponses(o);
  const ok = await okResponse(o);
  const errorRefs = (statuses: number[]) => Object.fromEntries(statuses.map((s) => [String(s), ref('responses', ERRORS[s as keyof typeof ERRORS])]));
  const errorsInline = (statuses: number[]) =>
    Object.fromEntries(statuses.map((s) => [String(s), responses[ERRORS[s as keyof typeof ERRORS]]!]));
  const tags = [o.resource.name];
  const id = o.resource.name.replace(/[-_](.)/g, (_m, c: string) => c.toUpperCase()).replace(/^./, (c) => c.toUpperCase());
  return {
    openapi: '3.1.0',
    info: { title: o.title, version: o.version, ...(o.description ? { description: o.description } : {}) },
    tags: [{ name: o.resource.name }],
    security: [{ Token: [] }],
    paths: {
      [o.path]: {
        get: {
          tags, operationId: `get${id}`, summary: `List ${o.downloadName}`,
          ...(o.compression ? { description: compressionNote(o.compression) } : {}),
          parameters: listParamRefs,
          responses: { 200: ok, ...notModified, ...errorRefs([400, 401, 404, 406, 429, 503]) },
        },
        head: {
          tags, operationId: `head${id}`, summary: `Headers of the same GET, without the body`, parameters: listParamRefs,
          responses: bodiless({ 200: ok, ...(o.conditionalGet ? { 304: notModifiedResponse } : {}), ...errorsInline([400, 401, 404, 406, 429, 503]) }),
        },
        options: {
          tags, operationId: `options${id}`, summary: 'Metadata: fields, renderers and filters',
          responses: {
            200: { description: 'The metadata, always JSON.', content: json(ref('schemas', 'Metadata'), { metadata: { summary: 'This view', value: o.metadata.body } }) },
            ...errorRefs([401, 404, 406, 429, 503]),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        Token: {
          type: 'apiKey', in: 'header', name: 'Authorization',
          description: 'DRF TokenAuthentication: the value is `Token <key>` (the word Token, a space, the 40-character key).',
        },
      },
      parameters: o.conditionalGet ? { ...params, [IF_NONE_MATCH]: ifNoneMatchParameter } : params,
      headers: {
        RetryAfter: header('Seconds to wait before trying again.', { type: 'integer', minimum: 1 }),
        ...(o.conditionalGet ? { [ETAG]: etagHeader } : {}),
      },
      schemas: {
        [o.itemName]: itemSchema(o.resource),
        [`${o.itemName}Page`]: pageSchema(`#/components/schemas/${o.itemName}`),
        FilterErrors: filterErrorsSchema(o.resource),
        Error: detailSchema,
        Metadata: metadataSchema(o.resource),
      },
      responses: o.conditionalGet ? { ...responses, [NOT_MODIFIED]: notModifiedResponse } : responses,
    },
  };
}
