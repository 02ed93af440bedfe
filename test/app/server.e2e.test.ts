/**
 * The newcomer's path, as a real process: `src/server.ts` on the embedded
 * database with an empty data directory migrates, seeds, prints a working demo
 * token, serves, and exits cleanly on SIGTERM; a restart keeps the data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { createTestDatabase, createTestPool } from '../helpers/database.js';
import { environmentWithout, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const root = new URL('../..', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'oms-e2e-'));
// Servers still running when a test fails are killed, so no process outlives the suite.
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function start(env: Record<string, string>): Promise<ServerProcess> {
  return startServerProcess({ ...environmentWithout('DATABASE_URL', 'TEST_DATABASE_URL'), PORT: '0', LOG_LEVEL: 'info', DATA_DIR: dataDir, ...env }, children);
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

describe('server process on the embedded database', () => {
  it('first start migrates, seeds and prints a demo token that works; SIGTERM exits 0; a restart keeps the data', async () => {
    const first = await start({});
    const token = /"demoToken":"([0-9a-f]{40})"/.exec(first.output())?.[1];
    expect(token).toBeDefined();
    expect(first.output()).toContain(`curl -H 'Authorization: Token ${token}' http://127.0.0.1:`);
    const url = `http://127.0.0.1:${first.port}/api/v1/oms/customers/list-simple/`;
    const res = await fetch(url, { headers: { authorization: `Token ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ count: 10, previous: null });
    expect(await stop(first.child)).toBe(0);
    // The token appears in that one start-up line only.
    expect(first.output().split(token!).length - 1).toBe(2);

    const second = await start({});
    expect(second.output()).not.toContain('demoToken');
    const again = await fetch(`http://127.0.0.1:${second.port}/api/v1/oms/customers/list-simple/?limit=1`, {
      headers: { authorization: `Token ${token}` },
    });
    expect((await again.json()) as unknown).toMatchObject({ count: 10 });
    expect(await stop(second.child)).toBe(0);
  }, 120_000);

  it('refuses a bad configuration with one clear line and exit code 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: root,
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
