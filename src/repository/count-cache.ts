/**
 * Exact counts kept per (count statement, data version), so that a client walking the pages of one
 * filtered set (a BI tool following `next` links) has it counted once per data change, not once per
 * page. The statement's text and values are the canonical filter: the filterset emits conditions in
 * declaration order with normalised values, so two spellings of one filter are one key. The version
 * is the one read in the same statement as the count (list-repository.ts), so an entry says exactly
 * which committed writes it counted; any later write makes the version larger, and an entry under an
 * older version is then never asked for again and ages out of the LRU.
 */
import { LRUCache } from 'lru-cache';
import type { Sql } from '../resource/list-sql.js';

/** Entries kept: a key is a statement's text and a few values, well under 1 KB, so at most a few MB. */
export const COUNT_CACHE_ENTRIES = 5_000;

export interface CountCache {
  /** The count of `statement` at `version`, if one was counted there. */
  get(statement: Sql, version: string): number | undefined;
  set(statement: Sql, version: string, count: number): void;
  /** The count of `statement` at the latest version it was counted at: a page read checks it against the version it reads. */
  latest(statement: Sql): { version: string; count: number } | undefined;
}

export function createCountCache(max = COUNT_CACHE_ENTRIES): CountCache {
  const entries = new LRUCache<string, number>({ max });
  const latest = new LRUCache<string, { version: string; count: number }>({ max });
  // The unfiltered count is one statement object, asked on every page 1: its key is kept, not rebuilt.
  let lastStatement: Sql | null = null;
  let lastKey = '';
  const filterKey = (statement: Sql) => {
    if (statement !== lastStatement) {
      lastKey = JSON.stringify([statement.text, statement.values]);
      lastStatement = statement;
    }
    return lastKey;
  };
  // The version (digits) first: it is the part that differs between two entries of one filter.
  const key = (statement: Sql, version: string) => `${version} ${filterKey(statement)}`;
  return {
    get: (statement, version) => entries.get(key(statement, version)),
    set(statement, version, count) {
      entries.set(key(statement, version), count);
      const newest = latest.get(filterKey(statement));
      // Versions only grow (a lagging replica may still answer with an older one, which is kept apart above).
      if (!newest || BigInt(version) >= BigInt(newest.version)) latest.set(filterKey(statement), { version, count });
    },
    latest: (statement) => latest.get(filterKey(statement)),
  };
}
