/**
 * Throttle histories in this process (Django's LocMemCache, as DRF's default cache): one
 * sorted list of request times per key, dropped when idle for its window, at most `maxKeys`
 * keys (the least recently used go first), so a stream of new addresses cannot grow memory.
 */
import { LRUCache } from 'lru-cache';
import type { HistoryStore, WindowState } from '../rest/throttling.js';

export interface MemoryHistoryOptions {
  maxKeys?: number;
  /** The clock, ms; tests move it. */
  now?: () => number;
}

export function createMemoryHistoryStore({ maxKeys = 100_000, now = Date.now }: MemoryHistoryOptions = {}): HistoryStore {
  const histories = new LRUCache<string, number[]>({ max: maxKeys });

  return {
    async hit(key, limit, durationMs, record): Promise<WindowState> {
      const at = now();
      // Oldest first; entries at or before the window's start are gone, as DRF pops them.
      const history = histories.get(key) ?? [];
      let expired = 0;
      while (expired < history.length && history[expired]! <= at - durationMs) expired++;
      if (expired > 0) history.splice(0, expired);
      const allowed = history.length < limit;
      if (allowed && record) history.push(at);
      if (history.length > 0) histories.set(key, history, { ttl: durationMs });
      else histories.delete(key);
      return { allowed, now: at, count: history.length, oldest: history[0] ?? null };
    },
    async close() {
      histories.clear();
    },
  };
}
