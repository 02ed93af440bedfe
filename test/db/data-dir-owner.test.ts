/**
 * The owner file of an embedded DATA_DIR (src/db/data-dir-owner.ts): one owner at a
 * time, a dead or unreachable owner's file taken over, a live one's left alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimDataDir, describeOwner, OWNER_FILE, readDataDirOwner, type OwnerRecord } from '../../src/db/data-dir-owner.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oms-owner-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ownerFile = () => join(dir, OWNER_FILE);
const writeOwner = (owner: OwnerRecord) => writeFileSync(ownerFile(), JSON.stringify(owner));

/** A PID that was just in use and is not any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

/** A live process other than this one, for the test's duration. */
function liveProcess() {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  return { pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

describe('claimDataDir', () => {
  it('creates the owner file with this PID, refuses a second claim while it is held, and removes it on release', async () => {
    const first = await claimDataDir(dir, { role: 'command', name: 'token:create' });
    if (!('lock' in first)) throw new Error('expected the lock');
    expect(readDataDirOwner(dir)).toMatchObject({ pid: process.pid, role: 'command', name: 'token:create' });
    const second = await claimDataDir(dir, { role: 'server' });
    expect(second).toEqual({ owner: first.lock.record });
    first.lock.update({ database: 'postgresql://postgres@127.0.0.1:1/postgres', port: 8000 });
    expect(readDataDirOwner(dir)).toMatchObject({ pid: process.pid, port: 8000 });
    first.lock.release();
    expect(existsSync(ownerFile())).toBe(false);
  });

  it('takes over the file of an owner whose process is gone (killed)', async () => {
    writeOwner({ pid: await deadPid(), started: '2026-01-01T00:00:00.000Z', role: 'server', port: 8000 });
    const claim = await claimDataDir(dir, { role: 'server' });
    expect('lock' in claim).toBe(true);
    expect(readDataDirOwner(dir)?.pid).toBe(process.pid);
  });

  it('takes over the file of a live PID whose published database does not answer (the PID was reused)', async () => {
    const other = liveProcess();
    try {
      const listener = createServer();
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      const { port } = listener.address() as { port: number };
      await new Promise((resolve) => listener.close(resolve));
      writeOwner({ pid: other.pid, started: 'x', role: 'server', port: 8000, database: `postgresql://postgres@127.0.0.1:${port}/postgres` });
      expect('lock' in (await claimDataDir(dir, { role: 'command', name: 'db:seed' }))).toBe(true);
    } finally {
      other.stop();
    }
  });

  it('leaves a live owner alone: a starting server (no database yet) or a command', async () => {
    const other = liveProcess();
    try {
      const starting: OwnerRecord = { pid: other.pid, started: 'x', role: 'server' };
      writeOwner(starting);
      expect(await claimDataDir(dir, { role: 'server' })).toEqual({ owner: starting });
      expect(readFileSync(ownerFile(), 'utf8')).toBe(JSON.stringify(starting));
      expect(describeOwner(starting)).toBe(`the oms-customers server (PID ${other.pid}, starting)`);
      expect(describeOwner({ ...starting, port: 8000, database: 'postgresql://x' })).toBe(`the oms-customers server (PID ${other.pid}, port 8000)`);
      expect(describeOwner({ pid: 7, started: 'x', role: 'command', name: 'db:seed' })).toBe('npm run db:seed (PID 7)');
    } finally {
      other.stop();
    }
  });

  it('does not remove an owner file that is no longer its own', async () => {
    const claim = await claimDataDir(dir, { role: 'server' });
    if (!('lock' in claim)) throw new Error('expected the lock');
    const next: OwnerRecord = { pid: process.pid, started: 'later', role: 'server' };
    writeOwner(next);
    claim.lock.release();
    expect(readDataDirOwner(dir)).toEqual(next);
  });
});
