/**
 * Request throttling: port of DRF 3.14 `throttling.py` (`SimpleRateThrottle` with
 * `UserRateThrottle`/`AnonRateThrottle` keys) and of `views.check_throttles`. A throttle keeps,
 * per key, the history of the request times inside its window (a sliding log, as DRF keeps in
 * the cache) in a HistoryStore: in process, or shared by several processes in Redis.
 */
import { LRUCache } from 'lru-cache';
import type { Rate } from '../lib/rate.js';
import { Throttled } from './exceptions.js';

export { parseRate, type Rate } from '../lib/rate.js';

/** One key's window as a store saw it: the time, and the history left after dropping expired entries. */
export interface WindowState {
  /** Whether the history had room (and, when recording, the request was added). */
  allowed: boolean;
  /** The store's clock, ms. */
  now: number;
  /** Entries in the window after this call (a recorded request included, as DRF's `self.history`). */
  count: number;
  /** The oldest entry's time after this call, ms (`history[-1]`), or null for an empty history. */
  oldest: number | null;
}

/** Where histories live. Implementations drop entries older than the window on every call. */
export interface HistoryStore {
  /**
   * Drops the entries at or before `now - durationMs`; then, when fewer than `limit` remain and
   * `record` is set, appends `now`. Null when the store cannot answer (the caller fails open).
   */
  hit(key: string, limit: number, durationMs: number, record: boolean): Promise<WindowState | null>;
  close(): Promise<void>;
}

/** `SimpleRateThrottle`: one per request, as DRF instantiates them, so `wait()` reads its own history. */
export class SimpleRateThrottle {
  private state: WindowState | null = null;

  constructor(
    private readonly rate: Rate,
    private readonly store: HistoryStore,
    /** `cache_format = 'throttle_%(scope)s_%(ident)s'`. */
    private readonly key: string,
  ) {}

  /** `allow_request`: true when the history has room (and records this request). */
  async allowRequest(): Promise<boolean> {
    return this.check(true);
  }

  /** Ours: whether a request would be allowed, without counting it. */
  async wouldAllow(): Promise<boolean> {
    return this.check(false);
  }

  private async check(record: boolean): Promise<boolean> {
    this.state = await this.store.hit(this.key, this.rate.numRequests, this.rate.durationSeconds * 1000, record);
    return this.state?.allowed ?? true;
  }

  /** `wait()`: seconds until a request is allowed again, spread over what is left of the window. */
  wait(): number | null {
    const { numRequests, durationSeconds } = this.rate;
    const state = this.state;
    const remaining = state && state.oldest !== null ? durationSeconds - (state.now - state.oldest) / 1000 : durationSeconds;
    const available = numRequests - (state?.count ?? 0) + 1;
    // 3.14: a history longer than the rate (the rate was lowered) has no meaningful wait.
    if (available <= 0) return null;
    return remaining / available;
  }
}

/**
 * `check_throttles`: every throttle is asked (each records its hit); when some refuse, the
 * longest of their waits is reported (`max(durations, default=None)`, None waits left out).
 */
export async function checkThrottles(throttles: readonly SimpleRateThrottle[]): Promise<void> {
  const waits: (number | null)[] = [];
  for (const throttle of throttles) {
    if (!(await throttle.allowRequest())) waits.push(throttle.wait());
  }
  if (waits.length === 0) return;
  const known = waits.filter((w): w is number => w !== null);
  throw new Throttled(known.length > 0 ? Math.max(...known) : null);
}

/** The throttles of one view, keyed as DRF keys them. */
export interface ViewThrottling {
  /**
   * Ours, before the token is looked up: 429 for an address that has spent its budget on
   * requests without a valid token, so a flood of bad tokens costs no database lookups.
   */
  beforeAuthentication(address: string): Promise<void>;
  /** `AnonRateThrottle`: a request without a valid token counts against its address. */
  anonymous(address: string): Promise<void>;
  /** `UserRateThrottle`: an authenticated request counts against its user (`ident = user.pk`). */
  authenticated(userId: number): Promise<void>;
}

export interface ViewThrottlingOptions {
  rate: Rate;
  store: HistoryStore;
  /** Most addresses remembered as having sent requests without a valid token. */
  maxSuspects?: number;
}

export function createViewThrottling({ rate, store, maxSuspects = 10_000 }: ViewThrottlingOptions): ViewThrottling {
  const throttle = (scope: string, ident: string | number) => new SimpleRateThrottle(rate, store, `throttle_${scope}_${ident}`);
  // Addresses with a failed request inside the window. Only they pay the extra look at their
  // history before authentication; everyone else keeps DRF's order and one store call.
  const suspects = new LRUCache<string, true>({ max: maxSuspects, ttl: rate.durationSeconds * 1000 });

  return {
    async beforeAuthentication(address) {
      if (!suspects.has(address)) return;
      const anon = throttle('anon', address);
      if (!(await anon.wouldAllow())) throw new Throttled(anon.wait());
    },
    async anonymous(address) {
      suspects.set(address, true);
      await checkThrottles([throttle('anon', address)]);
    },
    async authenticated(userId) {
      await checkThrottles([throttle('user', userId)]);
    },
  };
}
