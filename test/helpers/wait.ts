/**
 * Waiting on conditions instead of sleeping a fixed time: on two shared cores a fixed sleep is
 * either too short (flaky) or wastes time. For "X happens" use vitest's `vi.waitFor`/`expect.poll`;
 * this covers "X stops happening", where there is no event to wait for.
 */

/**
 * Resolves with `read()` once it has returned the same value `quietPolls` times in a row, polling
 * every `intervalMs`; throws if it keeps changing for `timeoutMs`. A slow machine makes it wait
 * longer, never pass early with a value still on the move.
 */
export async function settledValue<T>(
  read: () => T,
  { quietPolls = 5, intervalMs = 20, timeoutMs = 15_000 }: { quietPolls?: number; intervalMs?: number; timeoutMs?: number } = {},
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last = read();
  let quiet = 0;
  while (quiet < quietPolls) {
    if (Date.now() > until) throw new Error(`still changing after ${timeoutMs} ms (last value ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const value = read();
    quiet = Object.is(value, last) ? quiet + 1 : 0;
    last = value;
  }
  return last;
}

/**
 * Rejects after `ms` with `what`: raced against a stream or download, one that stops for good
 * fails its test at once, by name, not at the test's timeout.
 */
export const stalled = (ms: number, what = `no end after ${ms} ms`) =>
  new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what)), ms).unref());

/** Options for `vi.waitFor`: its 1 s default is too short on two shared cores. */
export const WAIT = { timeout: 10_000, interval: 10 } as const;
