/**
 * One owner per embedded DATA_DIR, as real processes (issue 10): every npm command run while
 * `src/server.ts` serves the embedded database works through the server's database, so a
 * key it prints authenticates at once and rows it writes are served at once; a second server
 * on the same DATA_DIR exits 1 naming the owner; a SIGKILLed owner does not block the next.
 * One server is reused across the command tests (each cold start costs seconds of CPU).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPGlite } from '../../src/db/embedded.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_FILE, readDataDirOwner } from '../../src/db/data-dir-owner.js';
import { embeddedTemplate } from '../helpers/database.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const root = new URL('../..', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'oms-owner-e2e-'));
const LIST = '/api/v1/oms/customers/list-simple/';
const children = new Set<ChildProcess>();
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !['DATABASE_URL', 'TEST_DATABASE_URL'].includes(k))),
  PORT: '0',
  LOG_LEVEL: 'info',
  DATA_DIR: dataDir,
};

const startServer = () => startServerProcess(env, children);

/** Runs a script the way its npm script does (tsx), to its end. */
function run(script: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}
const cli = (...args: string[]) => run('src/cli.ts', ...args);

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolve(code));
  });

let server: ServerProcess;
let demoToken: string;
const get = async (query: string, token = demoToken) => {
  const res = await fetch(`http://127.0.0.1:${server.port}${LIST}${query}`, { headers: { authorization: `Token ${token}` } });
  return { status: res.status, body: (await res.json()) as { count: number; results: { id: number }[]; detail?: string } };
};

beforeAll(async () => {
  // A cluster from the cached template instead of initdb on the first start (seconds of CPU).
  const db = await openPGlite({ dataDir, loadDataDir: await embeddedTemplate() });
  await db.close();
  server = await startServer();
  demoToken = /"demoToken":"([0-9a-f]{40})"/.exec(server.output())![1]!;
}, 120_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('commands while the server owns the embedded DATA_DIR', () => {
  it('the server publishes its PID, HTTP port and database in DATA_DIR', () => {
    expect(readDataDirOwner(dataDir)).toMatchObject({
      pid: server.child.pid, role: 'server', port: server.port, database: expect.stringMatching(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/),
    });
  });

  it('token:create prints a key that works at once; user:deactivate/activate and token:revoke take effect at once', async () => {
    const created = await cli('token:create', 'alice');
    expect(created.code, created.err).toBe(0);
    const key = created.out.trim().split('\n').at(-1)!;
    expect((await get('?limit=1', key)).status).toBe(200);

    expect((await cli('user:deactivate', 'alice')).code).toBe(0);
    expect(await get('?limit=1', key)).toMatchObject({ status: 401, body: { detail: 'User inactive or deleted.' } });
    expect((await cli('user:activate', 'alice')).code).toBe(0);
    expect((await get('?limit=1', key)).status).toBe(200);

    expect((await cli('token:revoke', key)).out.trim()).toBe('token revoked');
    expect((await get('?limit=1', key)).status).toBe(401);
  }, 120_000);

  it('db:migrate and db:seed work on the served database', async () => {
    expect(await cli('migrate')).toMatchObject({ code: 0, out: 'no pending migrations\n' });
    const seeded = await cli('seed');
    expect(seeded.code).toBe(0);
    expect(seeded.out).toMatch(/^demo data: 0 customer\(s\) inserted\n/);
  }, 60_000);

  it('db:generate-customers and customers:import write rows the server serves at once', async () => {
    const generated = await run('bench/generate-customers.ts', '--count', '50');
    expect(generated.code, generated.err).toBe(0);
    expect((await get('?limit=1')).body.count).toBe(60);
    const beyondDemo = await get('?id__gt=10&limit=1');
    expect(beyondDemo.body.count).toBe(50);
    expect(beyondDemo.body.results).toHaveLength(1);

    const file = join(dataDir, '..', `oms-owner-import-${process.pid}.jsonl`);
    writeFileSync(file, `${JSON.stringify({
      id: 5000, created_date: '2022-01-02T03:04:05.123456Z', modified_date: '2022-02-03T04:05:06Z', omnitron_id: 5000,
      email: 'imported@example.com', first_name: 'Im', last_name: 'Ported', phone_number: null, erp_code: null, channel: 1,
    })}\n`);
    try {
      const imported = await cli('customers:import', file);
      expect(imported.code, imported.err).toBe(0);
    } finally {
      rmSync(file, { force: true });
    }
    expect((await get('?id__gt=4999')).body).toMatchObject({ count: 1, results: [{ id: 5000 }] });
  }, 120_000);
});

describe('one server per DATA_DIR', () => {
  it('a second server on the same DATA_DIR exits 1 with one line naming the owner (PID, port)', async () => {
    const second = await run('src/server.ts');
    expect(second.code).toBe(1);
    expect(second.err).toBe(
      `oms-customers failed to start: DATA_DIR ${dataDir} is in use by the oms-customers server (PID ${server.child.pid}, port ${server.port}); ` +
        'one process at a time owns an embedded database\n',
    );
    // The owner is untouched.
    expect((await get('?limit=1')).status).toBe(200);
  }, 60_000);

  it('after the owner is SIGKILLed the next server starts on the same DATA_DIR with the data; SIGTERM removes the owner file', async () => {
    server.child.kill('SIGKILL');
    await exited(server.child);
    expect(existsSync(join(dataDir, OWNER_FILE))).toBe(true);
    server = await startServer();
    expect(readDataDirOwner(dataDir)).toMatchObject({ pid: server.child.pid, port: server.port });
    expect((await get('?limit=1')).body.count).toBe(61);
    server.child.kill('SIGTERM');
    expect(await exited(server.child)).toBe(0);
    expect(existsSync(join(dataDir, OWNER_FILE))).toBe(false);
  }, 120_000);
});

describe('--help', () => {
  it('every npm command prints its usage on stdout and exits 0 without touching DATA_DIR; wrong arguments exit 2', async () => {
    const empty = join(dataDir, '..', `oms-owner-help-${process.pid}`);
    const help = (script: string, ...args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, env: { ...env, DATA_DIR: empty } });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('close', (code) => resolve({ code, out, err }));
      });
    const cases: [string, string[], string][] = [
      ['src/cli.ts', ['token:create', '--help'], 'npm run token:create'],
      ['src/cli.ts', ['migrate', '-h'], 'npm run db:migrate'],
      ['bench/generate-customers.ts', ['--help'], 'npm run db:generate-customers'],
      ['bench/run.ts', ['--help'], 'npm run bench'],
      ['src/server.ts', ['--help'], 'npm start'],
    ];
    const results = await Promise.all(cases.map(([script, args]) => help(script, ...args)));
    results.forEach((result, i) => {
      expect(result, cases[i]![0]).toMatchObject({ code: 0, err: '' });
      expect(result.out.startsWith(`usage: ${cases[i]![2]} -- [options]`)).toBe(true);
    });
    const wrong = await Promise.all([help('bench/generate-customers.ts', '--count', 'many'), help('bench/run.ts', '--nope')]);
    for (const result of wrong) expect(result).toMatchObject({ code: 2, out: '' });
    expect(wrong[0]!.err).toMatch(/^--count must be a whole number of at least 0 \(got "many"\)\nusage: npm run db:generate-customers/);
    expect(existsSync(empty)).toBe(false);
  }, 120_000);
});
