/**
 * The count of requests in flight that exports yield to (src/http/foreground.ts): a yield waits
 * while any request is in, ends when the last one leaves, and never outlasts its bound.
 */
import { describe, expect, it } from 'vitest';
import { createForeground } from '../../src/http/foreground.js';

const settled = async (promise: Promise<void>, withinMs: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), withinMs))]);

describe('foreground requests', () => {
  it('asks nothing of an export while no request is in', () => {
    const foreground = createForeground({ maxWaitMs: 1000 });
    expect(foreground.yieldTo()).toBeUndefined();
    const leave = foreground.enter();
    leave();
    expect(foreground.inFlight).toBe(0);
    expect(foreground.yieldTo()).toBeUndefined();
  });

  it('holds a yield until the last request leaves, whichever leaves last', async () => {
    const foreground = createForeground({ maxWaitMs: 60_000 });
    const first = foreground.enter();
    const second = foreground.enter();
    const waiting = foreground.yieldTo()!;
    const other = foreground.yieldTo()!;
    first();
    expect(await settled(waiting, 50)).toBe(false);
    second();
    expect(await settled(waiting, 1000)).toBe(true);
    expect(await settled(other, 1000)).toBe(true);
  });

  it('counts a request out once, however often it leaves', () => {
    const foreground = createForeground({ maxWaitMs: 1000 });
    const leave = foreground.enter();
    foreground.enter();
    leave();
    leave();
    expect(foreground.inFlight).toBe(1);
  });

  it('ends a yield after maxWaitMs when a request never leaves: the export still moves', async () => {
    const foreground = createForeground({ maxWaitMs: 30 });
    foreground.enter();
    const started = performance.now();
    for (let i = 0; i < 3; i++) await foreground.yieldTo();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(3 * 29);
    expect(elapsed).toBeLessThan(3000);
  });

  it('never waits with maxWaitMs 0', () => {
    const foreground = createForeground({ maxWaitMs: 0 });
    foreground.enter();
    expect(foreground.yieldTo()).toBeUndefined();
  });
});
