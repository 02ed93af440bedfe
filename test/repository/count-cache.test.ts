/**
 * repository/count-cache.ts on its own: counts kept per (statement, version), and the latest count
 * of each statement, whichever statement object asks (the repository reuses one for the unfiltered
 * count and builds a new one for every filtered read).
 */
import { describe, expect, it } from 'vitest';
import { raw, sql } from '@prisma/client-runtime-utils';
import { createCountCache } from '../../src/repository/count-cache.js';

describe('createCountCache', () => {
  it('keeps each statement its own counts when reads alternate between them', () => {
    const cache = createCountCache(100);
    const unfiltered = raw('SELECT n FROM "customer_count"');
    const byEmail = (email: string) => sql`SELECT count(*) AS n FROM customer WHERE email = ${email}`;
    cache.set(unfiltered, '7', 1_000);
    cache.set(byEmail('a@example.com'), '7', 1);
    expect(cache.latest(unfiltered)).toEqual({ version: '7', count: 1_000 });
    expect(cache.latest(byEmail('a@example.com'))).toEqual({ version: '7', count: 1 });
    expect(cache.latest(byEmail('b@example.com'))).toBeUndefined();
    expect(cache.latest(unfiltered)).toEqual({ version: '7', count: 1_000 });
    // A statement object equal to another by text and values is the same filter.
    expect(cache.latest(raw('SELECT n FROM "customer_count"'))).toEqual({ version: '7', count: 1_000 });
    expect(cache.get(byEmail('a@example.com'), '7')).toBe(1);
    expect(cache.get(byEmail('a@example.com'), '8')).toBeUndefined();
  });

  it('moves latest forward with the version and never back', () => {
    const cache = createCountCache(100);
    const statement = raw('SELECT n FROM "customer_count"');
    cache.set(statement, '9', 90);
    cache.set(statement, '8', 80);
    expect(cache.latest(statement)).toEqual({ version: '9', count: 90 });
    expect(cache.get(statement, '8')).toBe(80);
    cache.set(statement, '10', 100);
    expect(cache.latest(statement)).toEqual({ version: '10', count: 100 });
  });
});
