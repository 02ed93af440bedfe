/**
 * What every streaming renderer owes a `limit=all` export, whatever it writes: it pulls the next
 * batch of rows only when the client has taken the last one (so a slow client slows the
 * database, not memory), and destroying its stream ends the iteration (so a client that went
 * away frees the connection).
 */
import { describe, expect, it, vi } from 'vitest';
import { jsonRenderer } from '../../src/rest/renderers/json.js';
import { createCsvRenderer } from '../../src/rest/renderers/csv.js';
import type { Renderer } from '../../src/rest/renderers/index.js';
import { rowsOnly, thingsContext } from '../helpers/things.js';
import { settledValue, WAIT } from '../helpers/wait.js';

const rows = Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: i % 2 ? `n,${i}` : null, at: '2020-01-01T00:00:00Z' }));
const envelope = { count: 0, next: null, previous: null };

describe.each([
  ['JSON', jsonRenderer, 'application/json'],
  ['CSV', createCsvRenderer({ formulaGuard: true }), 'text/csv'],
] as [string, Renderer, string][])('%s renderer stream', (_name, renderer, mediaType) => {
  const ctx = thingsContext(mediaType);

  it('reads the next batch only when the last one has been taken', async () => {
    let pulled = 0;
    async function* many() {
      for (let b = 0; b < 50; b++) {
        pulled += 1;
        yield rows;
      }
    }
    const stream = await renderer.stream(envelope, rowsOnly(many()), ctx);
    await stream[Symbol.asyncIterator]().next();
    // Without backpressure all 50 batches are read; with it, reading stops a few batches ahead.
    expect(await settledValue(() => pulled)).toBeLessThanOrEqual(3);
    stream.destroy();
  });

  it('ends the iteration when destroyed (the client went away)', async () => {
    let finished = false;
    async function* endless() {
      try {
        for (;;) yield rows;
      } finally {
        finished = true;
      }
    }
    const stream = await renderer.stream(envelope, rowsOnly(endless()), ctx);
    await stream[Symbol.asyncIterator]().next();
    stream.destroy();
    await vi.waitFor(() => expect(finished).toBe(true), WAIT);
  });
});
