import { describe, expect, it } from 'vitest';
import { jsonRenderer, renderJson } from '../../src/rest/renderers/json.js';
import type { PageEnvelope, RenderContext, Row } from '../../src/rest/renderers/index.js';
import { rowsOnly, thingsContext } from '../helpers/things.js';
import { collect } from '../../src/rest/renderers/tabular.js';

const accepted = (indent?: string): RenderContext =>
  indent === undefined
    ? thingsContext('application/json')
    : { ...thingsContext(`application/json; indent=${indent}`), params: { indent } };

async function* batchesOf(batches: Row[][]) {
  for (const batch of batches) yield batch;
}

const rows: Row[] = [
  { id: 1, name: 'İpek 😀', nested: null, tags: [] },
  { id: 2, name: 'line\u2028sep\u2029para "quoted"\n', nested: { a: [1, 2] }, tags: ['x'] },
  { id: 3, name: '', nested: {}, tags: [{}] },
];
const envelope: PageEnvelope = { count: 3, next: null, previous: null };

describe('JSON renderer: streaming limit=all', () => {
  it.each([undefined, '0', '1', '2', '4', '8', '12', 'x'])(
    'writes exactly what renderJson writes for the whole page (indent=%s)',
    async (indent) => {
      for (const batches of [[], [[]], [rows.slice(0, 1)], [[], rows.slice(0, 2), [], rows.slice(2)], [rows]]) {
        const all = batches.flat();
        const head = { ...envelope, count: all.length };
        const streamed = await collect(await jsonRenderer.stream(head, rowsOnly(batchesOf(batches)), accepted(indent)));
        expect(streamed.toString('utf8')).toBe(renderJson({ ...head, results: all }, accepted(indent)));
      }
    },
  );

  it('writes the envelope as {"count":N,"next":null,"previous":null,"results":[...]}', async () => {
    const streamed = await collect(await jsonRenderer.stream(envelope, rowsOnly(batchesOf([[{ id: 1 }], [{ id: 2 }, { id: 3 }]])), accepted()));
    expect(streamed.toString('utf8')).toBe('{"count":3,"next":null,"previous":null,"results":[{"id":1},{"id":2},{"id":3}]}');
  });
});
