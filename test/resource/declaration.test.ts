import { describe, expect, it } from 'vitest';
import {
  charFilter, dateTimeFilter, defineResource, integer, numberFilter, orderingFilter, pk, string,
  type ResourceSpec,
} from '../../src/resource/declaration.js';

const spec: ResourceSpec = {
  name: 'things',
  table: 'thing',
  defaultOrdering: ['-id'],
  fields: {
    id: integer({ label: 'ID', readOnly: true }),
    display_name: string({ column: 'name', required: true, maxLength: 10, nullable: true }),
  },
  filters: [
    numberFilter('id', { type: 'integer', lookups: ['gt', 'lt'], listing: 'per-lookup' }),
    charFilter('display_name', { label: 'Name' }),
    orderingFilter({ param: 'o', fields: { display_name: 'Name' } }),
  ],
};

describe('defineResource compiles a declaration once', () => {
  const resource = defineResource(spec);

  it('compiles fields in declaration order with Django-derived defaults', () => {
    expect(resource.fields).toEqual([
      { name: 'id', column: 'id', kind: 'integer', type: 'integer', valueType: 'integer', label: 'ID',
        required: false, readOnly: true, nullable: false },
      { name: 'display_name', column: 'name', kind: 'string', type: 'string', valueType: 'text', label: 'Display name',
        required: true, readOnly: false, nullable: true, maxLength: 10 },
    ]);
    expect(resource.select).toEqual(['id', 'name']);
  });

  it('names query parameters `field` for exact and `field__lookup` otherwise, in declaration order', () => {
    expect(resource.filterParams).toEqual(['id__gt', 'id__lt', 'display_name', 'o']);
  });

  it('compiles filters: columns, SQL types, django-filter choice order, default labels', () => {
    const [id, name, order] = resource.filters;
    expect(id).toMatchObject({ kind: 'value', column: 'id', sqlType: 'bigint', label: 'Id', type: 'integer',
      listing: 'per-lookup', lookups: [{ param: 'id__gt', lookup: 'gt', op: '>' }, { param: 'id__lt', lookup: 'lt', op: '<' }] });
    expect(name).toMatchObject({ kind: 'value', column: 'name', sqlType: 'text', label: 'Name', type: 'string' });
    expect(order).toMatchObject({ kind: 'ordering', param: 'o', label: 'Sort', type: 'dropdown',
      choices: [['display_name', 'Name'], ['-display_name', 'Name (descending)']] });
  });

  it('uses the default ordering, tie-broken on the primary key', () => {
    expect(resource.defaultOrdering).toEqual([{ column: 'id', descending: true }]);
    expect(resource.parseQuery(new Map())).toEqual({ conditions: [], ordering: [{ column: 'id', descending: true }] });
    expect(resource.parseQuery(new Map([['o', 'display_name']])).ordering)
      .toEqual([{ column: 'name', descending: false }, { column: 'id', descending: false }]);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(resource)).toBe(true);
    expect(Object.isFrozen(resource.fields[1])).toBe(true);
    expect(Object.isFrozen(resource.filterParams)).toBe(true);
    expect(() => (resource.select as string[]).push('x')).toThrow(TypeError);
  });

  it('gives datetime and pk fields their OPTIONS types', () => {
    const r = defineResource({ ...spec, fields: { id: integer(), at: spec.fields.id!, ch: pk({ column: 'ch_id' }) }, filters: [] });
    expect(r.fields.map((f) => [f.type, f.valueType])).toEqual([['integer', 'integer'], ['integer', 'integer'], ['pk field', 'integer']]);
    const withDate = defineResource({ ...spec, fields: { ...spec.fields, at: { kind: 'datetime', options: {} } },
      filters: [dateTimeFilter('at', { lookups: ['exact', 'gte'] })] });
    expect(withDate.fields[2]).toMatchObject({ type: 'datetime', valueType: 'datetime', label: 'At' });
    expect(withDate.filterParams).toEqual(['at', 'at__gte']);
    expect(withDate.filters[0]).toMatchObject({ sqlType: 'timestamptz', listing: 'grouped', label: 'At' });
  });
});

describe('defineResource refuses inconsistent declarations at start-up', () => {
  it.each<[string, Partial<ResourceSpec>, RegExp]>([
    ['a filter on an undeclared column', { filters: [charFilter('nope')] }, /column "nope"/],
    ['a sort on an undeclared field', { filters: [orderingFilter({ fields: { nope: 'N' } })] }, /"nope" is not a declared field/],
    ['two filters with one query name', { filters: [charFilter('id'), numberFilter('id')] }, /"id" is declared twice/],
    ['an unknown default ordering', { defaultOrdering: ['-nope'] }, /defaultOrdering/],
    ['an empty default ordering', { defaultOrdering: [] }, /must not be empty/],
    ['an unknown primary key', { primaryKey: 'pk' }, /primaryKey/],
    ['a column that is not a plain identifier', { fields: { id: integer({ column: 'id"; --' }) } }, /Column/],
    ['an integer-like field name', { fields: { 1: integer() } }, /Field "1"/],
    ['two fields on one column', { fields: { id: integer(), other: integer({ column: 'id' }) } }, /declared by two fields/],
    ['two ordering filters', { filters: [orderingFilter({ fields: {} }), orderingFilter({ param: 's', fields: {} })] }, /one ordering/],
  ])('%s', (_, override, message) => {
    expect(() => defineResource({ ...spec, ...override })).toThrow(message);
  });
});
