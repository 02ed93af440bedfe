/**
 * Reads a readable stream's items in order, with backpressure, and only then throws its error.
 * `for await` over a stream drops what it had buffered once the stream is destroyed, so a parser
 * that fails on record 5 of a chunk would lose records 1–4 (their problems and their lines).
 */
import type { Readable } from 'node:stream';

export async function* itemsThenError<T>(stream: Readable): AsyncGenerator<T> {
  let failure: Error | null = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const onError = (error: Error) => {
    failure = error;
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  // 'close' too: a stream destroyed without an error never ends.
  stream.on('readable', notify).on('end', onEnd).on('close', onEnd).on('error', onError);
  try {
    for (;;) {
      // A destroyed stream still hands out what it had buffered.
      for (let item = stream.read() as T | null; item !== null; item = stream.read() as T | null) yield item;
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('readable', notify).off('end', onEnd).off('close', onEnd).off('error', onError);
    if (!ended) stream.destroy();
  }
}
