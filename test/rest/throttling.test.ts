import { describe, expect, it } from 'vitest';
import { checkThrottles, createViewThrottling, parseRate, SimpleRateThrottle } from '../../src/rest/throttling.js';
import { Throttled } from '../../src/rest/exceptions.js';
import { createMemoryHistoryStore } from '../../src/cache/memory-history.js';

/** A memory store on a clock the test moves. */
function clockedStore(options: { maxKeys?: number } = {}) {
  const clock = { now: 1_000_000 };
  const store = createMemoryHistoryStore({ ...options, now: () => clock.now });
  return { clock, store };
}

describe('parseRate (DRF parse_rate)', () => {
  it.each([
    ['100/second', 100, 1],
    ['100/s', 100, 1],
    ['1000/minute', 1000, 60],
    ['1000/min', 1000, 60],
    ['5/hour', 5, 3600],
    ['20/day', 20, 86400],
    [' 7/d ', 7, 86400],
  ])('reads %s as %i per %i s, by the period’s first letter', (text, numRequests, durationSeconds) => {
    expect(parseRate(text)).toEqual({ numRequests, durationSeconds });
  });

  it.each(['', '100', '100/', '/minute', '100/week', '100/10s', '100 per minute', '-1/s', '1.5/s', '100/Minute', '0/s'])(
    'refuses %j with a message saying what it must look like',
    (text) => {
      expect(() => parseRate(text)).toThrow(/must/);
    },
  );
});

describe('Throttled (DRF exceptions.Throttled)', () => {
  it('says "1 second" for a wait of exactly one second, with Retry-After: 1', () => {
    const error = new Throttled(1);
    expect(error.statusCode).toBe(429);
    expect(error.body()).toEqual({ detail: 'Request was throttled. Expected available in 1 second.' });
    expect(error.headers).toEqual({ 'Retry-After': '1' });
  });

  it('rounds the wait up (math.ceil) and says "seconds" otherwise', () => {
    expect(new Throttled(0.2).body()).toEqual({ detail: 'Request was throttled. Expected available in 1 second.' });
    expect(new Throttled(1.01).body()).toEqual({ detail: 'Request was throttled. Expected available in 2 seconds.' });
    expect(new Throttled(59.5).headers).toEqual({ 'Retry-After': '60' });
  });

  it('says "0 seconds" and sends no Retry-After for a zero wait, as exception_handler skips a falsy wait', () => {
    const error = new Throttled(0);
    expect(error.body()).toEqual({ detail: 'Request was throttled. Expected available in 0 seconds.' });
    expect(error.headers).toEqual({});
  });

  it('has no "Expected available" sentence and no Retry-After without a wait', () => {
    expect(new Throttled(null).body()).toEqual({ detail: 'Request was throttled.' });
    expect(new Throttled(null).headers).toEqual({});
  });
});

describe('SimpleRateThrottle on the in-process store', () => {
  const rate = parseRate('3/minute');

  it('allows num_requests in the window, then refuses with the time until the oldest leaves it', async () => {
    const { clock, store } = clockedStore();
    const allowed: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      allowed.push(await new SimpleRateThrottle(rate, store, 'k').allowRequest());
      clock.now += 10_000;
    }
    expect(allowed).toEqual([true, true, true, false]);
    const refused = new SimpleRateThrottle(rate, store, 'k');
    expect(await refused.allowRequest()).toBe(false);
    // The oldest hit was 40 s ago: 20 s left in its window, one request becomes available then.
    expect(refused.wait()).toBeCloseTo(20, 6);
  });

  it('frees a place once the oldest request is a full window old (sliding, not fixed)', async () => {
    const { clock, store } = clockedStore();
    for (let i = 0; i < 3; i++) {
      await new SimpleRateThrottle(rate, store, 'k').allowRequest();
      clock.now += 1_000;
    }
    clock.now += 56_999;
    expect(await new SimpleRateThrottle(rate, store, 'k').allowRequest()).toBe(false);
    clock.now += 1;
    expect(await new SimpleRateThrottle(rate, store, 'k').allowRequest()).toBe(true);
    expect(await new SimpleRateThrottle(rate, store, 'k').allowRequest()).toBe(false);
  });

  it('does not count refused requests, and keeps keys apart', async () => {
    const { store } = clockedStore();
    for (let i = 0; i < 10; i++) await new SimpleRateThrottle(rate, store, 'a').allowRequest();
    expect(await new SimpleRateThrottle(rate, store, 'b').allowRequest()).toBe(true);
    expect((await store.hit('a', 3, 60_000, false))?.count).toBe(3);
  });

  it('spreads the wait over the places left when the history is short (DRF wait())', async () => {
    const { store } = clockedStore();
    const throttle = new SimpleRateThrottle(parseRate('4/minute'), store, 'k');
    await throttle.allowRequest();
    // one in history: 60 s left of the window, 4 - 1 + 1 = 4 places → 15 s
    expect(throttle.wait()).toBeCloseTo(15, 6);
  });

  it('lets requests through when the store cannot answer (fail open)', async () => {
    const broken = { hit: async () => null, close: async () => {} };
    const throttle = new SimpleRateThrottle(rate, broken, 'k');
    expect(await throttle.allowRequest()).toBe(true);
    await expect(checkThrottles([throttle])).resolves.toBeUndefined();
  });
});

describe('checkThrottles (DRF views.check_throttles)', () => {
  it('reports the longest wait of the throttles that refuse', async () => {
    const { store } = clockedStore();
    const perSecond = () => new SimpleRateThrottle(parseRate('1/second'), store, 's');
    const perHour = () => new SimpleRateThrottle(parseRate('1/hour'), store, 'h');
    await checkThrottles([perSecond(), perHour()]);
    const error = await checkThrottles([perSecond(), perHour()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Throttled);
    expect((error as Throttled).wait).toBe(3600);
  });
});

describe('the in-process store stays bounded', () => {
  it('keeps at most maxKeys keys, dropping the least recently used', async () => {
    const { store } = clockedStore({ maxKeys: 2 });
    for (const key of ['a', 'b', 'c']) await store.hit(key, 1, 60_000, true);
    // 'a' was evicted: it has room again; 'c' has not.
    expect((await store.hit('a', 1, 60_000, false))?.allowed).toBe(true);
    expect((await store.hit('c', 1, 60_000, false))?.allowed).toBe(false);
  });

  it('keeps at most maxEntries request times in all, dropping the least recently used keys', async () => {
    const clock = { now: 0 };
    const store = createMemoryHistoryStore({ maxEntries: 10, now: () => clock.now });
    for (let i = 0; i < 4; i++, clock.now++) await store.hit('a', 100, 60_000, true);
    for (let i = 0; i < 4; i++, clock.now++) await store.hit('b', 100, 60_000, true);
    // 'a' (4 + 1) and 'b' (4 + 1) fill the budget; a third key pushes 'a' out.
    await store.hit('c', 100, 60_000, true);
    expect((await store.hit('a', 100, 60_000, false))?.count).toBe(0);
    expect((await store.hit('b', 100, 60_000, false))?.count).toBe(4);
  });

  it('forgets a key whose window has passed', async () => {
    const { clock, store } = clockedStore();
    await store.hit('a', 1, 1_000, true);
    clock.now += 1_000;
    expect(await store.hit('a', 1, 1_000, false)).toMatchObject({ allowed: true, count: 0, oldest: null });
  });
});

describe('createViewThrottling keys', () => {
  it('counts a user and an address separately, and checks an address before authentication only once it failed', async () => {
    const { store } = clockedStore();
    const seen: string[] = [];
    const spy = { hit: (key: string, ...rest: [number, number, boolean]) => (seen.push(key), store.hit(key, ...rest)), close: store.close };
    const throttling = createViewThrottling({ rate: parseRate('1/minute'), store: spy });
    await throttling.beforeAuthentication('10.0.0.1');
    expect(seen).toEqual([]);
    await throttling.authenticated(7);
    await expect(throttling.authenticated(7)).rejects.toBeInstanceOf(Throttled);
    await throttling.anonymous('10.0.0.1');
    await expect(throttling.anonymous('10.0.0.1')).rejects.toBeInstanceOf(Throttled);
    await expect(throttling.beforeAuthentication('10.0.0.1')).rejects.toThrow('Expected available in 60 seconds.');
    expect(seen).toEqual(['throttle_user_7', 'throttle_user_7', 'throttle_anon_10.0.0.1', 'throttle_anon_10.0.0.1', 'throttle_anon_10.0.0.1']);
  });
});
