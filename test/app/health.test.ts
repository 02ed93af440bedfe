import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { defaultConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { Writable } from 'node:stream';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.drop());

describe('GET /health and GET /ready', () => {
  it('/health answers 200 without auth; /ready is 503 until migrations are applied, then 200', async () => {
    const config = defaultConfig({ DATABASE_URL: database.url, DB_POOL_MAX: 1 });
    const db = await openDatabase(config);
    const app = await buildApp(config, { database: db, logStream: quiet });
    try {
      expect((await app.inject({ url: '/health' })).body).toBe('{"status":"ok"}');
      const before = await app.inject({ url: '/ready' });
      expect(before.statusCode).toBe(503);
      expect(before.json()).toMatchObject({ status: 'unavailable', reason: expect.stringContaining('pending migrations') });
      await migrate(db.pool);
      const after = await app.inject({ url: '/ready' });
      expect([after.statusCode, after.body]).toEqual([200, '{"status":"ready"}']);
      // Outside the API: no API headers, no auth.
      expect(after.headers.allow).toBeUndefined();
    } finally {
      await app.close();
    }
  });

  it('/ready is 503 when the database is unreachable', async () => {
    const config = defaultConfig({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none', DB_CONNECT_TIMEOUT_MS: 500 });
    const app = await buildApp(config, { logStream: quiet });
    try {
      const res = await app.inject({ url: '/ready' });
      expect([res.statusCode, res.json()]).toEqual([503, { status: 'unavailable', reason: 'database unreachable' }]);
      expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('/ready reports each read replica without its credentials, and stays 200 while the primary serves', async () => {
    const config = defaultConfig({
      DATABASE_URL: database.url,
      DB_POOL_MAX: 1,
      DB_CONNECT_TIMEOUT_MS: 500,
      DATABASE_REPLICA_URLS: ['postgresql://reader:secret@127.0.0.1:1/replica'],
    });
    const db = await openDatabase(config);
    const app = await buildApp(config, { database: db, logStream: quiet });
    try {
      await migrate(db.pool);
      const res = await app.inject({ url: '/ready' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'ready', replicas: [{ replica: '127.0.0.1:1/replica', state: 'failed', lagMs: null }] });
      expect(res.body).not.toContain('secret');
    } finally {
      await app.close();
    }
  });
});
