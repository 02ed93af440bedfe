/**
 * Throttle histories in this process (Django's LocMemCache, as DRF's default cache): one
 * sorted list of request times per key, dropped when idle for its window. Memory is bounded
 * twice: at most `maxKeys` keys and `maxEntries` request times in all (the least recently used
 * keys go first), so neither a stream of new addresses nor a high rate can grow it.
 */
import { LRUCache } from 'lru-cache';
import type { HistoryStore, WindowState } from '../rest/throttling.js';

export interface MemoryHistoryOptions {
  maxKeys?: number;
  maxEntries?: number;
  /** The clock, ms; tests move it. */
  now?: () => number;
}

export function createMemoryHistoryStore({ maxKeys = 100_000, maxEntries = 1_000_000, now = Date.now }: MemoryHistoryOptions = {}): HistoryStore {
  const histories = new LRUCache<string, number[]>({ max: maxKeys, maxSize: maxEntries, sizeCalculation: (h) => h.length + 1 });

  return {
    async hit(key, limit, durationMs, record): Promise<WindowState> {
      const at = now();
      // Oldest first; entries at or before the window's start are gone, as DRF pops them.
      const history = histories.get(key) ?? [];
      const kept = history.findIndex((time) => time > at - durationMs);
      const expired = kept === -1 ? history.length : kept;
      if (expired > 0) history.splice(0, expired);
      const allowed = history.length < limit;
      if (allowed && record) history.push(at);
      // Set anew, not in place: lru-cache re-measures an entry's size only for a new value.
      histories.delete(key);
      if (history.length > 0) histories.set(key, history, { ttl: durationMs });
      return { allowed, now: at, count: history.length, oldest: history[0] ?? null };
    },
    async close() {
      histories.clear();
    },
  };
}
