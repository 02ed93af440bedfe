/**
 * The replica set (src/db/replicas.ts) against what npm test has: a server that is not a standby
 * and a port nobody listens on. Streaming replicas themselves (round-robin, lag, a replica stopped
 * under reads) are in test/scale/scale.test.ts, on the topology of npm run test:scale.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReplicaSet, type ReplicaSet } from '../../src/db/replicas.js';
import { createTestDatabase, createTestPool, type TestDatabase } from '../helpers/database.js';
import { closedPort } from '../helpers/redis.js';

let database: TestDatabase;
let primary: pg.Pool;
beforeAll(async () => {
  database = await createTestDatabase();
  primary = createTestPool(database, 1);
});
afterAll(async () => {
  await primary?.end();
  await database?.drop();
});

const POOL = { max: 1, statementTimeoutMs: 0, connectTimeoutMs: 2_000 };

async function withSet<T>(urls: string[], work: (set: ReplicaSet, clock: { ms: number }) => Promise<T>, backoffMs = 5_000): Promise<T> {
  const clock = { ms: 1_000_000 };
  const set = createReplicaSet({ urls, maxLagMs: 5_000, backoffMs, checkIntervalMs: 0, pool: POOL, now: () => clock.ms });
  try {
    return await work(set, clock);
  } finally {
    await set.close();
  }
}

describe('createReplicaSet', () => {
  it('sets a refused replica aside and reads from the primary, reporting where it is without credentials', async () => {
    const url = `postgresql://reader:secret@127.0.0.1:${await closedPort()}/oms`;
    await withSet([url], async (set) => {
      await set.check();
      const [report] = set.report();
      expect(report).toMatchObject({ replica: expect.stringMatching(/^127\.0\.0\.1:\d+\/oms$/), state: 'failed', lagMs: null });
      expect(report!.error).toMatch(/ECONNREFUSED|connect/);
      expect(JSON.stringify(set.report())).not.toContain('secret');
      expect(set.usable()).toEqual([]);
      const { rows } = await set.read(primary, (pool) => pool.query<{ one: number }>('SELECT 1 AS one'));
      expect(rows).toEqual([{ one: 1 }]);
    });
  });

  it('takes no reads on a server that is not in recovery', async () => {
    await withSet([database.url], async (set) => {
      await set.check();
      expect(set.report()).toEqual([{ replica: expect.any(String), state: 'not-standby', lagMs: null }]);
      expect(set.usable()).toEqual([]);
    });
  });

  it('measures a replica set aside again only after its back-off', async () => {
    await withSet([database.url], async (set, clock) => {
      set.setAside(set.replicas[0]!, new Error('connection reset'));
      await set.check();
      expect(set.report()[0]).toMatchObject({ state: 'failed', error: 'connection reset' });
      clock.ms += 5_000;
      await set.check();
      expect(set.report()[0]).toMatchObject({ state: 'not-standby' });
    });
  });

  it('passes on errors that are not the replica failing', async () => {
    await withSet([], async (set) => {
      await expect(set.read(primary, (pool) => pool.query('SELECT no_such_column'))).rejects.toMatchObject({ code: '42703' });
    });
  });
});
