/**
 * `src/server.ts` on the embedded database as real processes. The newcomer's path: on an empty
 * DATA_DIR it migrates, seeds, prints a working demo token and serves. One owner per DATA_DIR
 * (issue 10): every npm command run while the server serves works through the server's
 * database, so a key it prints authenticates at once and rows it writes are served at once; a
 * second server on the same DATA_DIR exits 1 naming the owner; a SIGKILLed owner does not block
 * the next, which keeps the data and prints no new token; SIGTERM exits 0.
 * One server is reused across the tests (each start costs seconds of CPU), and one process per
 * entry script shows how its commands reach the server's database: what each command does there
 * is tested in-process (test/cli.test.ts, test/customers/import.test.ts and
 * list-simple.http.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_FILE, readDataDirOwner } from '../../src/db/data-dir-owner.js';
import { entryScript } from '../helpers/entry-scripts.js';
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

/** Runs a script the way its npm script does (entry-scripts.ts), to its end; `env` above unless given another. */
function runWith(runEnv: NodeJS.ProcessEnv, script: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [...entryScript(script), ...args], { cwd: root, env: runEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}
const run = (script: string, ...args: string[]) => runWith(env, script, ...args);
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
  // On the empty DATA_DIR: the first start creates the cluster (initdb).
  server = await startServer();
}, 120_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the first start on an empty DATA_DIR', () => {
  it('migrates, seeds and prints a demo token that works', async () => {
    demoToken = /"demoToken":"([0-9a-f]{40})"/.exec(server.output())?.[1] ?? '';
    expect(demoToken).toMatch(/^[0-9a-f]{40}$/);
    expect(server.output()).toContain(`curl -H 'Authorization: Token ${demoToken}' http://127.0.0.1:${server.port}${LIST}`);
    expect(await get('')).toMatchObject({ status: 200, body: { count: 10, previous: null } });
  });
});

describe('commands while the server owns the embedded DATA_DIR', () => {
  it('the server publishes its PID, HTTP port and database in DATA_DIR', () => {
    expect(readDataDirOwner(dataDir)).toMatchObject({
      pid: server.child.pid, role: 'server', port: server.port, database: expect.stringMatching(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/),
    });
  });

  // src/cli.ts: every command opens the database the same way (user:deactivate/activate and
  // token:revoke against a serving app: test/customers/list-simple.http.test.ts).
  it('token:create prints a key that works at once', async () => {
    const created = await cli('token:create', 'alice');
    expect(created.code, created.err).toBe(0);
    const key = created.out.trim().split('\n').at(-1)!;
    expect((await get('?limit=1', key)).status).toBe(200);
  }, 120_000);

  it('db:generate-customers writes rows the server serves at once', async () => {
    const generated = await run('bench/generate-customers.ts', '--count', '50');
    expect(generated.code, generated.err).toBe(0);
    expect((await get('?limit=1')).body.count).toBe(60);
    const beyondDemo = await get('?id__gt=10&limit=1');
    expect(beyondDemo.body.count).toBe(50);
    expect(beyondDemo.body.results).toHaveLength(1);
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

  it('after the owner is SIGKILLed the next server starts on the same DATA_DIR with the data and the demo token, and prints no new token; SIGTERM removes the owner file', async () => {
    // The token appears in that one start-up line only, whatever was requested with it since.
    expect(server.output().split(demoToken).length - 1).toBe(2);
    server.child.kill('SIGKILL');
    await exited(server.child);
    expect(existsSync(join(dataDir, OWNER_FILE))).toBe(true);
    server = await startServer();
    expect(server.output()).not.toContain('demoToken');
    expect(readDataDirOwner(dataDir)).toMatchObject({ pid: server.child.pid, port: server.port });
    // With the first server's demo token (get's default).
    expect((await get('?limit=1')).body.count).toBe(60);
    server.child.kill('SIGTERM');
    expect(await exited(server.child)).toBe(0);
    expect(existsSync(join(dataDir, OWNER_FILE))).toBe(false);
  }, 120_000);
});

describe('--help', () => {
  it('every npm command prints its usage on stdout and exits 0 without touching DATA_DIR; wrong arguments exit 2', async () => {
    const empty = join(dataDir, '..', `oms-owner-help-${process.pid}`);
    const help = (script: string, ...args: string[]) => runWith({ ...env, DATA_DIR: empty }, script, ...args);
    // One process per entry script: each command's --help and -h are tested in-process (test/cli.test.ts).
    const cases: [string, string[], string][] = [
      ['src/cli.ts', ['token:create', '--help'], 'npm run token:create'],
      ['bench/generate-customers.ts', ['--help'], 'npm run db:generate-customers'],
      ['bench/run.ts', ['--help'], 'npm run bench'],
      ['src/server.ts', ['--help'], 'npm start'],
    ];
    const results = await Promise.all(cases.map(([script, args]) => help(script, ...args)));
    results.forEach((result, i) => {
      expect(result, cases[i]![0]).toMatchObject({ code: 0, err: '' });
      expect(result.out.startsWith(`usage: ${cases[i]![2]} -- [options]`)).toBe(true);
    });
    // bench/run.ts exits on --help and on wrong arguments by the same line (commandLineOrExit's
    // exit code; 2 for an unknown option: test/cli.test.ts).
    const wrong = await help('bench/generate-customers.ts', '--count', 'many');
    expect(wrong).toMatchObject({ code: 2, out: '' });
    expect(wrong.err).toMatch(/^--count must be a whole number of at least 0 \(got "many"\)\nusage: npm run db:generate-customers/);
    expect(existsSync(empty)).toBe(false);
  }, 120_000);
});
