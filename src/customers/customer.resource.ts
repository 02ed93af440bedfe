/**
 * THE declaration of `list-simple`: the serializer's fields and the filterset of the original
 * service, in their output and declaration order. Everything else (validation, SQL, OPTIONS,
 * CSV/XLSX columns) is derived from it.
 */
import {
  charFilter, dateTimeFilter, datetime, defineResource, email, integer, numberFilter, orderingFilter, pk, string,
} from '../resource/declaration.js';

export const customerResource = defineResource({
  name: 'list-simple',
  table: 'customer',
  primaryKey: 'id',
  defaultOrdering: ['id'],
  fields: {
    id: integer({ label: 'ID', readOnly: true }),
    created_date: datetime({ readOnly: true }),
    modified_date: datetime({ readOnly: true }),
    omnitron_id: integer({ required: true, minValue: -2147483648, maxValue: 2147483647 }),
    email: email({ required: true, maxLength: 254 }),
    first_name: string({ maxLength: 255 }),
    last_name: string({ maxLength: 255 }),
    phone_number: string({ maxLength: 128, nullable: true }),
    erp_code: string({ label: 'Partner customer code', maxLength: 64, nullable: true }),
    channel: pk({ column: 'channel_id', nullable: true }),
  },
  filters: [
    orderingFilter({ param: 'sort', label: 'Sort', fields: { id: 'ID', modified_date: 'Modified Date' } }),
    numberFilter('id', { type: 'integer', lookups: ['gt', 'gte', 'lt', 'lte'], listing: 'per-lookup' }),
    charFilter('first_name'),
    charFilter('last_name'),
    charFilter('email'),
    charFilter('phone_number'),
    charFilter('erp_code'),
    // Listed as "string" in the original's OPTIONS, though it parses as a number.
    numberFilter('channel_id'),
    dateTimeFilter('modified_date', { lookups: ['exact', 'gt', 'gte', 'lt', 'lte'] }),
  ],
});
