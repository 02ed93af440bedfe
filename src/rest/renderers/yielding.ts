/**
 * How a streamed export lets requests someone waits on go first: it asks the render context's
 * `yieldTo` (http/foreground.ts) before encoding each batch (or passing on each chunk the database wrote).
 */

/** The batches, each taken only once `yieldTo` lets the export go on; all of them at once without one. */
export async function* yieldingBatches<T>(batches: AsyncIterable<T>, yieldTo: (() => Promise<void> | undefined) | undefined): AsyncGenerator<T> {
  if (!yieldTo) return yield* batches;
  for await (const batch of batches) {
    const wait = yieldTo();
    if (wait) await wait;
    yield batch;
  }
}
