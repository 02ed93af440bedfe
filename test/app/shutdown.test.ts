import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { defaultConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { createMigratedTestDatabase, type TestDatabase } from '../helpers/database.js';
import { WAIT } from '../helpers/wait.js';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });
let database: TestDatabase;
beforeAll(async () => {
  database = await createMigratedTestDatabase();
});
afterAll(async () => database?.drop());

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, refuses new ones, then closes the pool', async () => {
    const config = defaultConfig({ DATABASE_URL: database.url, DB_POOL_MAX: 1, PORT: 0 });
    const db = await openDatabase(config);
    const app = await buildApp(config, { database: db, logStream: quiet });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const inHandler = new Promise<void>((resolve) => (reached = resolve));
    app.get('/test-slow', async () => {
      reached();
      await gate;
      const { rows } = await db.pool.query<{ one: number }>('SELECT 1 AS one');
      return { one: rows[0]!.one };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };

    const inFlight = fetch(`http://127.0.0.1:${port}/test-slow`);
    await inHandler;
    const closing = app.close();
    // Closing has begun (no new connections), the request is still in its handler: the pool stays.
    await vi.waitFor(() => expect(app.server.listening).toBe(false), WAIT);
    expect(db.pool.ended).toBe(false);
    release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ one: 1 });
    await closing;
    expect(db.pool.ended).toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });
});
