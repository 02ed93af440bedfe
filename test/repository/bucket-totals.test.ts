/**
 * The totals cache (src/repository/bucket-totals.ts) with a fake database: it reads a summary only
 * after a statement wanted it and read another version, one read at a time and not more often
 * than its interval, keeps the newest version, and outlives a failed read.
 */
import { raw } from '@prisma/client-runtime-utils';
import { describe, expect, it, vi } from 'vitest';
import { createBucketTotalsCache } from '../../src/repository/bucket-totals.js';
import type { Sql } from '../../src/resource/list-sql.js';

const STATEMENTS = [{ summary: 'blocks', statement: raw('SELECT blocks') }, { summary: 'days', statement: raw('SELECT days') }];

function fakeDatabase() {
  const reads: string[] = [];
  let version = '7';
  let fail = false;
  return {
    reads,
    setVersion: (v: string) => (version = v),
    failNext: () => (fail = true),
    async read(statement: Sql) {
      reads.push(statement.text);
      // An answer takes a while, as a database's does.
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (fail) {
        fail = false;
        throw new Error('connection refused');
      }
      return { v: version, t: [[0, 5], [1000, 3]] };
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('the totals cache', () => {
  it('reads nothing until a statement wants a summary, then that summary alone, after a version is seen', async () => {
    const db = fakeDatabase();
    const cache = createBucketTotalsCache({ statements: STATEMENTS, read: (s) => db.read(s), refreshIntervalMs: 0 });
    cache.seen('7');
    await settle();
    expect(db.reads).toEqual([]);
    expect(cache.of('blocks')).toBeUndefined();
    cache.seen('7');
    await settle();
    expect(db.reads).toEqual(['SELECT blocks']);
    expect(cache.of('blocks')).toEqual({ version: '7', keys: [0, 1000], prefix: [0, 5, 8] });
    // Current: not read again.
    cache.seen('7');
    await settle();
    expect(db.reads).toEqual(['SELECT blocks']);
  });

  it('reads again when a newer version is seen, at most once per interval, and keeps the newest', async () => {
    const db = fakeDatabase();
    const cache = createBucketTotalsCache({ statements: STATEMENTS, read: (s) => db.read(s), refreshIntervalMs: 60_000 });
    cache.of('days');
    cache.seen('7');
    await settle();
    db.setVersion('8');
    cache.of('days');
    cache.seen('8');
    await settle();
    // Within the interval: the totals stay at 7 (statements at 8 sum the summary meanwhile).
    expect(db.reads).toHaveLength(1);
    expect(cache.of('days')?.version).toBe('7');
  });

  it('never replaces totals by older ones (a lagging replica)', async () => {
    const db = fakeDatabase();
    const cache = createBucketTotalsCache({ statements: STATEMENTS, read: (s) => db.read(s), refreshIntervalMs: 0 });
    db.setVersion('9');
    cache.of('days');
    cache.seen('9');
    await settle();
    db.setVersion('8');
    cache.of('days');
    cache.seen('10');
    await settle();
    expect(db.reads).toHaveLength(2);
    expect(cache.of('days')?.version).toBe('9');
  });

  it('runs one read per summary at a time, and a failed read only leaves the totals as they were', async () => {
    const db = fakeDatabase();
    const cache = createBucketTotalsCache({ statements: STATEMENTS, read: (s) => db.read(s), refreshIntervalMs: 0 });
    cache.of('blocks');
    cache.seen('7');
    // While that read runs.
    cache.of('blocks');
    cache.seen('7');
    expect(db.reads).toHaveLength(1);
    await vi.waitFor(() => expect(cache.of('blocks')?.version).toBe('7'));
    db.failNext();
    cache.seen('8');
    await settle();
    expect(db.reads).toHaveLength(2);
    expect(cache.of('blocks')?.version).toBe('7');
  });
});
