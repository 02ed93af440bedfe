/**
 * The OpenAPI document (src/rest/openapi.ts): valid OpenAPI 3.1 by swagger-parser, derived from
 * the declaration it describes, and with every example valid against its own schema.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { charFilter, datetime, defineResource, integer, numberFilter, orderingFilter, string } from '../../src/resource/declaration.js';
import { createListViewDocument, type ListViewDocumentOptions, type OpenApiDocument } from '../../src/rest/openapi.js';
import { createPageNumberPagination } from '../../src/rest/pagination.js';
import { createRenderers } from '../../src/rest/renderers/index.js';
import { createMetadata } from '../../src/rest/metadata.js';
import { customerResource } from '../../src/customers/customer.resource.js';
import { createResponseValidator, customerDocument } from '../helpers/openapi.js';
import { defaultConfig } from '../../src/config.js';
import { createCustomerOpenApi } from '../../src/customers/customer.openapi.js';
import { entityTag, ETAG_PATTERN } from '../../src/rest/conditional.js';

const PATH = '/api/v1/oms/customers/list-simple/';

/** A second resource, to show the document follows whatever the declaration says. */
const gadgets = defineResource({
  name: 'gadget-list',
  table: 'gadget',
  defaultOrdering: ['id'],
  fields: { id: integer({ readOnly: true }), label: string({ maxLength: 12, nullable: true }), made: datetime() },
  filters: [
    orderingFilter({ param: 'order', fields: { made: 'Made' } }),
    numberFilter('id', { lookups: ['gte', 'lt'] }),
    charFilter('label'),
  ],
});

function gadgetDocument(extra: Partial<ListViewDocumentOptions> = {}): Promise<OpenApiDocument> {
  const renderers = createRenderers();
  return createListViewDocument({
    ...extra,
    title: 'Gadgets', version: '1', path: '/gadgets/', resource: gadgets, itemName: 'Gadget', downloadName: 'gadgets',
    renderers, pagination: createPageNumberPagination({ pageSize: 7, maxPageSize: 70, pageQueryParam: 'p', pageSizeQueryParam: 'n' }),
    pageSize: 7, maxPageSize: 70, exportAll: 'all',
    metadata: createMetadata(gadgets, { renders: renderers.map((r) => r.mediaType) }),
    exampleRows: [
      { id: 1, label: 'one', made: '2024-01-02T03:04:05.123456Z' },
      { id: 2, label: null, made: '2024-01-02T03:04:05Z' },
      { id: 3, label: 'three', made: '2024-01-03T00:00:00Z' },
    ],
    exampleOrigin: 'http://gadgets.test',
  });
}

type Node = Record<string, any>;

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 for swagger-parser', async () => {
    const document = await customerDocument();
    expect(document.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
    await expect(SwaggerParser.validate(structuredClone(await gadgetDocument()) as never)).resolves.toBeTruthy();
    const conditional = await gadgetDocument({ conditionalGet: true, compression: { encodings: ['gzip'], threshold: 10, mediaTypes: ['text/csv'] } });
    await expect(SwaggerParser.validate(structuredClone(conditional) as never)).resolves.toBeTruthy();
  });

  it('has every example valid against the schema beside it', async () => {
    for (const document of [await customerDocument(), await gadgetDocument()]) {
      const validator = await createResponseValidator(document);
      let checked = 0;
      for (const [path, item] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(item as Node)) {
          for (const status of Object.keys((operation as Node).responses)) {
            const content = validator.response(method, path, Number(status))?.content ?? {};
            for (const [mediaType, media] of Object.entries(content as Node)) {
              for (const [name, example] of Object.entries((media.examples ?? {}) as Node)) {
                expect([method, status, mediaType, name, validator.errors(method, path, Number(status), mediaType, example.value)])
                  .toEqual([method, status, mediaType, name, null]);
                checked++;
              }
            }
          }
        }
      }
      expect(checked).toBeGreaterThan(10);
    }
  });

  it('lists exactly the declaration’s filter parameters, then page, limit and format', async () => {
    const doc = (await gadgetDocument({ conditionalGet: true })) as Node;
    const names = doc.paths['/gadgets/'].get.parameters.map((p: Node) => p.$ref.split('/').at(-1));
    expect(names).toEqual([...gadgets.filterParams, 'p', 'n', 'format', 'IfNoneMatch']);
    const params = doc.components.parameters;
    expect(params.order).toMatchObject({ style: 'form', explode: false, schema: { type: 'array', items: { enum: ['made', '-made'] } } });
    expect(params.id__gte.schema).toEqual({ type: 'number', maximum: 1e50 });
    expect(params.label.schema).toEqual({ type: 'string' });
    expect(params.n.schema).toEqual({ oneOf: [{ type: 'integer', minimum: 1 }, { type: 'string', enum: ['all'] }], default: 7 });
    expect(params.format.schema.enum).toEqual(['json', 'csv', 'xls', 'xlsx']);
    const customerParams = Object.keys((await customerDocument()).components as Node).length && ((await customerDocument()) as Node).components.parameters;
    expect(Object.keys(customerParams)).toEqual([...customerResource.filterParams, 'page', 'limit', 'format', 'IfNoneMatch']);
  });

  it('gives the item every field, in order, with its kind, bounds and nullability', async () => {
    const doc = (await gadgetDocument()) as Node;
    expect(doc.components.schemas.Gadget).toEqual({
      type: 'object',
      properties: {
        id: { title: 'Id', type: 'integer', readOnly: true },
        label: { title: 'Label', type: ['string', 'null'], maxLength: 12 },
        made: { title: 'Made', type: 'string', format: 'date-time', pattern: expect.any(String) },
      },
      required: ['id', 'label', 'made'],
      additionalProperties: false,
    });
    const customer = ((await customerDocument()) as Node).components.schemas.Customer;
    expect(Object.keys(customer.properties)).toEqual(customerResource.fields.map((f) => f.name));
    expect(customer.properties.omnitron_id).toMatchObject({ minimum: -2147483648, maximum: 2147483647 });
    expect(customer.properties.erp_code).toMatchObject({ type: ['string', 'null'], maxLength: 64, title: 'Partner customer code' });
  });

  it('holds timestamps to DRF’s text: UTC, six fractional digits or none', async () => {
    const validator = await createResponseValidator(await customerDocument());
    const page = (modified: string) => ({
      count: 1, next: null, previous: null,
      results: [{ id: 1, created_date: '2023-10-06T08:42:53.427023Z', modified_date: modified, omnitron_id: 1, email: 'a@b.co', first_name: '', last_name: '', phone_number: null, erp_code: null, channel: null }],
    });
    const valid = (modified: string) => validator.errors('GET', PATH, 200, 'application/json', page(modified)) === null;
    expect(['2023-10-06T08:42:53.427050Z', '2021-05-26T19:20:20Z'].map(valid)).toEqual([true, true]);
    expect(['2023-10-06T08:42:53.427Z', '2023-10-06T08:42:53.427050+00:00', '2023-10-06 08:42:53Z'].map(valid)).toEqual([false, false, false]);
  });

  it('describes the 400 body by the filter parameters it can name', async () => {
    const validator = await createResponseValidator(await customerDocument());
    const errors = (body: unknown) => validator.errors('GET', PATH, 400, 'application/json', body);
    expect(errors({ id__gt: ['Enter a number.'], sort: ['Select a valid choice. x is not one of the available choices.'] })).toBeNull();
    expect(errors({ detail: 'Invalid Host header.' })).toBeNull();
    expect(errors({ created_date: ['Enter a valid date/time.'] })).not.toBeNull();
    expect(errors({ id__gt: [] })).not.toBeNull();
  });

  it('describes conditional GET only for a view whose repository keeps a data version', async () => {
    const plain = (await gadgetDocument()) as Node;
    const conditional = (await gadgetDocument({ conditionalGet: true })) as Node;
    for (const method of ['get', 'head']) {
      expect(Object.keys(plain.paths['/gadgets/'][method].responses)).not.toContain('304');
      expect(plain.paths['/gadgets/'][method].parameters.map((p: Node) => p.$ref)).not.toContain('#/components/parameters/IfNoneMatch');
      expect(plain.paths['/gadgets/'][method].responses[200].headers).not.toHaveProperty('ETag');
      expect(Object.keys(conditional.paths['/gadgets/'][method].responses)).toContain('304');
    }
    expect(conditional.components.parameters.IfNoneMatch).toMatchObject({ name: 'If-None-Match', in: 'header' });
    expect(conditional.paths['/gadgets/'].options.responses).not.toHaveProperty('304');
    // The customers' repository keeps one (customer.routes.ts), so their document says so.
    const customers = (await customerDocument()) as Node;
    expect(customers.paths[PATH].get.responses[304]).toEqual({ $ref: '#/components/responses/NotModified' });
    expect(customers.paths[PATH].get.responses[200].headers.ETag).toEqual({ $ref: '#/components/headers/ETag' });
  });

  it('gives a 304 no body, and the ETag the format entityTag writes', async () => {
    const doc = (await gadgetDocument({ conditionalGet: true })) as Node;
    const validator = await createResponseValidator(doc as OpenApiDocument);
    for (const method of ['GET', 'HEAD']) {
      expect(validator.response(method, '/gadgets/', 304)).not.toHaveProperty('content');
      expect(Object.keys(validator.response(method, '/gadgets/', 304)!.headers)).toEqual(['ETag', 'Vary']);
    }
    expect(doc.components.headers.ETag.schema).toEqual({ type: 'string', pattern: ETAG_PATTERN });
    const tags = ['0', '1', '98765432109876543210'].map((version) => entityTag(version, `key ${version}`));
    expect(tags.map((tag) => validator.headerErrors('GET', '/gadgets/', 200, 'ETag', tag))).toEqual([null, null, null]);
    for (const bad of ['"1-AAAAAAAAAAAAAAAA"', 'W/"1-AAAA"', 'W/"x-AAAAAAAAAAAAAAAA"']) {
      expect(validator.headerErrors('GET', '/gadgets/', 304, 'ETag', bad), bad).not.toBeNull();
    }
  });

  it('notes compression on GET as the configuration has it, and nowhere when it is off', async () => {
    const on = (await createCustomerOpenApi({ ...defaultConfig(), COMPRESSION: true })) as Node;
    expect(on.paths[PATH].get.description).toMatch(/^Bodies in `application\/json`, `text\/csv` of 1024 bytes or more are compressed with `br`, `gzip`/);
    expect(JSON.stringify(on.components.parameters)).not.toMatch(/Accept-Encoding/);
    const off = (await createCustomerOpenApi({ ...defaultConfig(), COMPRESSION: false })) as Node;
    expect(off.paths[PATH].get).not.toHaveProperty('description');
  });
});
