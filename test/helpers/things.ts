/**
 * A small resource for the renderer tests: an integer, a nullable text and a datetime column,
 * as `thingsContext(mediaType)` renders them (file name and sheet `things`).
 */
import { datetime, defineResource, integer, string } from '../../src/resource/declaration.js';
import type { ExportSource, RenderContext, Row } from '../../src/rest/renderers/index.js';

export const things = defineResource({
  name: 'things',
  table: 'thing',
  defaultOrdering: ['id'],
  fields: { id: integer(), name: string({ nullable: true }), at: datetime() },
  filters: [],
});

export const thingsContext = (mediaType: string): RenderContext => ({ mediaType, params: {}, fields: things.fields, title: 'things' });

/** An export source that has rows only, as on a database that cannot write CSV itself. */
export const rowsOnly = (batches: AsyncIterable<readonly Row[]>): ExportSource => ({ rows: () => batches, csvLines: async () => null });
