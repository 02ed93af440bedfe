/**
 * A pooled connection that dies while idle (server restart, backend terminated by an operator) is
 * replaced on the next checkout, and the loss is logged rather than swallowed.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestPool, hasRealServer } from '../helpers/database.js';
import { WAIT } from '../helpers/wait.js';

describe.skipIf(!hasRealServer())('an idle pooled connection that dies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  const page = () =>
    t.app.inject({ method: 'GET', url: '/api/v1/oms/customers/list-simple/', headers: { authorization: `Token ${t.token}` } });

  it('is logged as a warning, and the next request is served on a new connection', async () => {
    expect((await page()).statusCode).toBe(200);
    expect(t.db.pool.idleCount).toBeGreaterThan(0);
    const admin = createTestPool(t.database);
    try {
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'oms-customers' AND state = 'idle'`,
      );
      expect(rows.length).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    await vi.waitFor(() => expect(t.logs()).toContain('an idle database connection was lost'), WAIT);
    const line = t.logs().split('\n').find((l) => l.includes('an idle database connection was lost'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 40, pool: 'api' });
    expect((await page()).statusCode).toBe(200);
  });
});
