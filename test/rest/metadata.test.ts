import { describe, expect, it } from 'vitest';
import { charFilter, defineResource, integer, numberFilter, orderingFilter, string } from '../../src/resource/declaration.js';
import { createMetadata } from '../../src/rest/metadata.js';

const resource = defineResource({
  name: 'things',
  table: 'thing',
  defaultOrdering: ['id'],
  fields: {
    id: integer({ label: 'ID', readOnly: true, minValue: 1 }),
    name: string({ required: true, maxLength: 10, minLength: 2, helpText: 'Said\u2028aloud', label: 'Näme' }),
  },
  filters: [
    orderingFilter({ fields: { id: 'ID' } }),
    numberFilter('id', { type: 'integer', lookups: ['gt', 'lte'], listing: 'per-lookup' }),
    charFilter('name', { lookups: ['exact', 'gt'] }),
  ],
});

describe('createMetadata (DRF SimpleMetadata as Akinon varies it)', () => {
  const metadata = createMetadata(resource, { renders: ['application/json', 'text/csv'] });

  it('builds the whole OPTIONS body from the declaration', () => {
    expect(metadata.body).toEqual({
      name: 'things',
      renders: ['application/json', 'text/csv'],
      parses: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'],
      actions: { GET: {
        id: { type: 'integer', required: false, read_only: true, label: 'ID', min_value: 1 },
        name: { type: 'string', required: true, read_only: false, label: 'Näme', help_text: 'Said\u2028aloud',
          min_length: 2, max_length: 10 },
      } },
      filters: [
        { label: 'Sort', field_name: 'sort', type: 'dropdown', lookup_expr: ['exact'],
          extra: { choices: [['id', 'ID'], ['-id', 'ID (descending)']], help_text: '', null_label: null, required: false } },
        { label: 'Id Gt', field_name: 'id', type: 'integer', lookup_expr: ['gt'], extra: { required: false } },
        { label: 'Id Lte', field_name: 'id', type: 'integer', lookup_expr: ['lte'], extra: { required: false } },
        { label: 'Name', field_name: 'name', type: 'string', lookup_expr: ['exact', 'gt'], extra: { required: false } },
      ],
    });
  });

  it('emits field keys in get_field_info order', () => {
    expect(Object.keys(metadata.body.actions.GET.name!))
      .toEqual(['type', 'required', 'read_only', 'label', 'help_text', 'min_length', 'max_length']);
  });

  it('pre-renders compact JSON as DRF does: raw non-ASCII, U+2028 escaped', () => {
    expect(metadata.json).toContain('"label":"Näme","help_text":"Said\\u2028aloud"');
    expect(JSON.parse(metadata.json)).toEqual(metadata.body);
    expect(metadata.json).toBe(JSON.stringify(metadata.body).replace('\u2028', '\\u2028'));
  });

  it('takes parser media types when given, and is frozen', () => {
    expect(createMetadata(resource, { renders: [], parses: ['application/json'] }).body.parses).toEqual(['application/json']);
    expect(Object.isFrozen(metadata.body.filters[0]!.extra)).toBe(true);
  });
});
