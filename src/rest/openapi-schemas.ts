/**
 * JSON Schemas (draft 2020-12, the dialect of OpenAPI 3.1) derived from a compiled declaration:
 * the item a serializer writes, the page envelope, the error bodies, and one schema per query
 * parameter of the filterset. Read by openapi.ts; nothing here is written by hand per resource.
 */
import type { CompiledField, CompiledOrderingFilter, CompiledResource, CompiledValueFilter, CompiledLookup } from '../resource/declaration.js';
import { NUMBER_FILTER_MAX } from '../resource/filters.js';
import { DRF_TIMESTAMP_PATTERN } from '../lib/timestamp.js';

export type JsonSchema = Record<string, unknown>;

/** A schema that admits null too, as OpenAPI 3.1 spells `nullable`. */
function orNull(schema: JsonSchema): JsonSchema {
  return { ...schema, type: [schema.type, 'null'] };
}

/** One field as `to_representation` writes it: the kind's JSON type, its bounds, null where allowed. */
export function fieldSchema(field: CompiledField): JsonSchema {
  const schema: JsonSchema = { title: field.label };
  if (field.helpText) schema.description = field.helpText;
  switch (field.kind) {
    case 'integer':
    case 'pk':
      schema.type = 'integer';
      if (field.minValue !== undefined) schema.minimum = field.minValue;
      if (field.maxValue !== undefined) schema.maximum = field.maxValue;
      break;
    case 'datetime':
      // DRF's isoformat() in UTC: microseconds exactly, or no fraction at all when they are zero.
      Object.assign(schema, { type: 'string', format: 'date-time', pattern: DRF_TIMESTAMP_PATTERN });
      break;
    case 'email':
    case 'string':
      schema.type = 'string';
      // Django's EmailValidator as the importer runs it lets Unicode into the local part: RFC 6531.
      if (field.kind === 'email') schema.format = 'idn-email';
      // Django counts characters (code points), as JSON Schema's length keywords do.
      if (field.minLength !== undefined) schema.minLength = field.minLength;
      if (field.maxLength !== undefined) schema.maxLength = field.maxLength;
      break;
  }
  if (field.readOnly) schema.readOnly = true;
  return field.nullable ? orNull(schema) : schema;
}

/** The serializer's item: every field present, in declaration order, nothing else. */
export function itemSchema(resource: CompiledResource): JsonSchema {
  return {
    type: 'object',
    properties: Object.fromEntries(resource.fields.map((f) => [f.name, fieldSchema(f)])),
    required: resource.fields.map((f) => f.name),
    additionalProperties: false,
  };
}

/** `get_paginated_response`'s envelope around items given by `$ref`. */
export function pageSchema(itemRef: string): JsonSchema {
  const link = { type: ['string', 'null'], format: 'uri' };
  return {
    type: 'object',
    properties: {
      count: { type: 'integer', minimum: 0, description: 'Rows matching the filters, on every page.' },
      next: { ...link, description: 'The next page, absolute; null on the last.' },
      previous: { ...link, description: 'The previous page, absolute; null on the first.' },
      results: { type: 'array', items: { $ref: itemRef } },
    },
    required: ['count', 'next', 'previous', 'results'],
    additionalProperties: false,
  };
}

/** Every error but a filter's: `{"detail": "…"}`. */
export const detailSchema: JsonSchema = {
  type: 'object',
  properties: { detail: { type: 'string' } },
  required: ['detail'],
  additionalProperties: false,
};

/** django-filter's ValidationError body: failing query parameters → their messages. */
export function filterErrorsSchema(resource: CompiledResource): JsonSchema {
  return {
    type: 'object',
    propertyNames: { enum: [...resource.filterParams] },
    additionalProperties: { type: 'array', items: { type: 'string' }, minItems: 1 },
    minProperties: 1,
  };
}

/** One query parameter of a value filter, as the filterset parses it. */
export function lookupSchema(filter: CompiledValueFilter): JsonSchema {
  switch (filter.valueKind) {
    case 'number':
      // A DecimalField: `1.5` and `1e3` parse (truncated toward zero), above 1e50 is refused.
      return { type: 'number', maximum: NUMBER_FILTER_MAX };
    case 'datetime':
      return { type: 'string', examples: ['2023-06-19T10:52:42.410357+03:00', '2023-06-19T07:52:42Z', '2023-06-19 00:00'] };
    case 'text':
      return { type: 'string' };
  }
}

const LOOKUP_WORDS: Record<CompiledLookup['lookup'], string> = {
  exact: 'equal to', gt: 'greater than', gte: 'at least', lt: 'less than', lte: 'at most',
};

const VALUE_WORDS: Record<CompiledValueFilter['valueKind'], string> = {
  number: 'A number; decimals and exponents are truncated toward zero.',
  text: 'Exact and case-sensitive; surrounding whitespace is stripped.',
  datetime: 'An instant in ISO 8601 (`+` encoded as `%2B`); without an offset it is UTC.',
};

export function lookupDescription(filter: CompiledValueFilter, lookup: CompiledLookup): string {
  return `\`${filter.column}\` ${LOOKUP_WORDS[lookup.lookup]} the value. ${VALUE_WORDS[filter.valueKind]} Empty means no filter.`;
}

/** django-filter's OrderingFilter: a comma-separated list of its choices. */
export function orderingSchema(filter: CompiledOrderingFilter): JsonSchema {
  return { type: 'array', items: { type: 'string', enum: filter.choices.map(([value]) => value) } };
}

export function orderingDescription(filter: CompiledOrderingFilter): string {
  const choices = filter.choices.map(([value, label]) => `\`${value}\` (${label})`).join(', ');
  return `Comma-separated, applied in order; the primary key breaks ties. Choices: ${choices}.`;
}

/** The OPTIONS body (metadata.ts): DRF's `SimpleMetadata` shape, one `actions.GET` entry per field. */
export function metadataSchema(resource: CompiledResource): JsonSchema {
  const strings = { type: 'array', items: { type: 'string' } };
  const [text, flag] = [{ type: 'string' }, { type: 'boolean' }];
  const fieldInfo = {
    type: 'object',
    properties: { type: text, required: flag, read_only: flag, label: text },
    required: ['type', 'required', 'read_only', 'label'],
  };
  const filterInfo = {
    type: 'object',
    properties: { label: text, field_name: text, type: text, lookup_expr: strings, extra: { type: 'object' } },
    required: ['label', 'field_name', 'type', 'lookup_expr', 'extra'],
  };
  const get = {
    type: 'object',
    properties: Object.fromEntries(resource.fields.map((f) => [f.name, fieldInfo])),
    required: resource.fields.map((f) => f.name),
    additionalProperties: false,
  };
  return {
    type: 'object',
    properties: {
      name: { const: resource.name }, renders: strings, parses: strings,
      actions: { type: 'object', properties: { GET: get }, required: ['GET'] },
      filters: { type: 'array', items: filterInfo },
    },
    required: ['name', 'renders', 'parses', 'actions', 'filters'],
    additionalProperties: false,
  };
}
