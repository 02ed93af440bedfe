/**
 * The server's start: as a real process, a bad configuration is refused with exit code 2;
 * on a DATABASE_URL with SEED_DEMO_DATA unset it migrates and seeds nothing. The newcomer's
 * path on the embedded database (migrate, seed, demo token, restart, SIGTERM) is tested in
 * test/app/embedded-owner.e2e.test.ts, on the server processes started there (each start
 * costs seconds of CPU).
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { createTestDatabase, createTestPool } from '../helpers/database.js';
import { entryScript } from '../helpers/entry-scripts.js';
import { PROJECT_ROOT } from '../helpers/server-process.js';

describe('server process', () => {
  it('refuses a bad configuration with one clear line and exit code 2', async () => {
    const child = spawn(process.execPath, entryScript('src/server.ts'), {
      cwd: PROJECT_ROOT,
      env: { ...process.env, PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(err.trim()).toBe('Invalid configuration: PORT must be a whole number (got "eighty")');
  }, 30_000);
});

describe('server start on a DATABASE_URL', () => {
  it('with SEED_DEMO_DATA unset migrates but creates no user, no token and no customers', async () => {
    const database = await createTestDatabase();
    try {
      const app = await startServer(parseConfig({ DATABASE_URL: database.url, PORT: '0', LOG_LEVEL: 'silent' }));
      const health = await app.inject({ url: '/ready' });
      await app.close();
      expect(health.statusCode).toBe(200);
      const pool = createTestPool(database, 1);
      try {
        const { rows } = await pool.query(
          'SELECT (SELECT count(*) FROM api_user) AS users, (SELECT count(*) FROM api_token) AS tokens, (SELECT count(*) FROM customer) AS customers',
        );
        expect(rows[0]).toEqual({ users: '0', tokens: '0', customers: '0' });
      } finally {
        await pool.end();
      }
    } finally {
      await database.drop();
    }
  }, 60_000);
});
