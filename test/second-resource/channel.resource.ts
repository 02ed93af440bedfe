/**
 * A second list resource, over the existing `channel` table: the declaration is the whole of
 * what it takes, with channel.routes.ts. Nothing shared changes for it.
 */
import { charFilter, defineResource, integer, numberFilter, orderingFilter, string } from '../../src/resource/declaration.js';

export const channelResource = defineResource({
  name: 'channel-list',
  table: 'channel',
  defaultOrdering: ['id'],
  fields: {
    id: integer({ label: 'ID', readOnly: true }),
    name: string({ required: true, maxLength: 255 }),
    omnitron_id: integer({ nullable: true }),
    channel_type: string({ maxLength: 64, nullable: true }),
  },
  filters: [
    orderingFilter({ fields: { id: 'ID', name: 'Name' } }),
    numberFilter('id', { type: 'integer', lookups: ['gt', 'lt'] }),
    charFilter('name'),
  ],
});
