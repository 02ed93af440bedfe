/**
 * One owner per embedded DATA_DIR. PGlite keeps the cluster in memory and
 * writes its files back; two processes on the same files corrupt them. The
 * owner is recorded in DATA_DIR/oms-owner.json, which appears atomically
 * (written to a temporary file, then hard-linked: link() fails if the name
 * exists, and the file is never seen half written):
 *   {"pid":…,"started":…,"role":"server"|"command","name":…,"database":…,"port":…}
 * A server adds `database` (its PGlite's loopback postgresql:// URL) and `port`
 * (HTTP) once it is serving, and removes `database` again when it starts to
 * shut down; commands run while it is there use that database instead of the
 * files (db/database.ts).
 *
 * A SIGKILLed owner cannot remove its file, so a file whose PID is not alive,
 * or whose published database does not answer, is stale and taken over: moved
 * aside under a unique name (rename is atomic), checked to be the one judged
 * stale, then deleted. No library found did exactly this: proper-lockfile
 * judges staleness by mtime (a killed owner blocks for its `stale` period and
 * a live owner must keep touching the file) and records no PID or address.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export const OWNER_FILE = 'oms-owner.json';

export interface OwnerRecord {
  pid: number;
  /** ISO time the owner took DATA_DIR. */
  started: string;
  role: 'server' | 'command';
  /** The npm script of a command owner. */
  name?: string;
  /** A serving server's embedded database, postgresql://postgres@127.0.0.1:PORT/postgres. */
  database?: string;
  /** A serving server's HTTP port. */
  port?: number;
}

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly owner: OwnerRecord,
  ) {
    super(`DATA_DIR ${dataDir} is in use by ${describeOwner(owner)}; one process at a time owns an embedded database`);
  }
}

export function describeOwner(owner: OwnerRecord): string {
  if (owner.role === 'command') return `npm run ${owner.name ?? 'command'} (PID ${owner.pid})`;
  const state = owner.database ? `port ${owner.port}` : owner.port === undefined ? 'starting' : `port ${owner.port}, stopping`;
  return `the oms-customers server (PID ${owner.pid}, ${state})`;
}

export interface OwnerLock {
  readonly record: OwnerRecord;
  /** Replaces the record's published fields (atomically: other processes see the old or the new file). */
  update(fields: Pick<OwnerRecord, 'database' | 'port'>): void;
  /** Removes the file if it is still ours. Idempotent; also done on process exit. */
  release(): void;
}

const ownerPath = (dataDir: string) => join(dataDir, OWNER_FILE);
const tempPath = (dataDir: string, what: string) => join(dataDir, `${OWNER_FILE}.${what}.${process.pid}.${randomBytes(4).toString('hex')}`);

function readOwner(path: string): { text: string; owner: OwnerRecord } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    return { text, owner: JSON.parse(text) as OwnerRecord };
  } catch {
    // Not ours to interpret (hand-edited): treat as an owner that is gone.
    return { text, owner: { pid: 0, started: '', role: 'command', name: 'unknown' } };
  }
}

function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, but another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether something accepts TCP connections at the database URL's host:port (loopback: refused at once when nothing listens). */
function answers(database: string, timeoutMs = 2000): Promise<boolean> {
  const { hostname, port } = new URL(database);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether the recorded owner still holds DATA_DIR. */
export async function ownerAlive(owner: OwnerRecord): Promise<boolean> {
  if (owner.pid === process.pid) return true;
  if (!pidAlive(owner.pid)) return false;
  // The PID may have been reused since its owner was killed; a published database tells.
  return owner.database === undefined || (await answers(owner.database));
}

/** Creates the owner file with `record`; false if one exists. */
function tryCreate(dataDir: string, record: OwnerRecord): boolean {
  const temp = tempPath(dataDir, 'new');
  writeFileSync(temp, JSON.stringify(record));
  try {
    linkSync(temp, ownerPath(dataDir));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
}

/** Removes the owner file if it still holds `staleText`; another process may have replaced it meanwhile. */
function removeStale(dataDir: string, staleText: string): void {
  const aside = tempPath(dataDir, 'stale');
  try {
    renameSync(ownerPath(dataDir), aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (readFileSync(aside, 'utf8') !== staleText) {
    // A live owner's fresh file: put it back (unless yet another one appeared, which then owns DATA_DIR).
    try {
      linkSync(aside, ownerPath(dataDir));
    } catch {
      // EEXIST: leave that one.
    }
  }
  unlinkSync(aside);
}

/**
 * Takes DATA_DIR for this process, or returns the live owner that holds it.
 * A stale owner file (its process gone) is taken over.
 */
export async function claimDataDir(
  dataDir: string,
  who: Pick<OwnerRecord, 'role' | 'name'>,
): Promise<{ lock: OwnerLock } | { owner: OwnerRecord }> {
  const record: OwnerRecord = { pid: process.pid, started: new Date().toISOString(), ...who };
  // Bounded: each round either creates the file, finds a live owner, or removes a stale one.
  for (let attempt = 0; attempt < 10; attempt++) {
    if (tryCreate(dataDir, record)) return { lock: ownerLock(dataDir, record) };
    const found = readOwner(ownerPath(dataDir));
    if (!found) continue;
    if (await ownerAlive(found.owner)) return { owner: found.owner };
    removeStale(dataDir, found.text);
  }
  throw new Error(`could not take DATA_DIR ${dataDir}: ${OWNER_FILE} keeps changing`);
}

function ownerLock(dataDir: string, initial: OwnerRecord): OwnerLock {
  let record = initial;
  let released = false;
  const path = ownerPath(dataDir);
  const ours = () => {
    const found = readOwner(path);
    return found !== null && found.owner.pid === record.pid && found.owner.started === record.started;
  };
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (ours()) unlinkSync(path);
    } catch {
      // Best effort: a file left behind is stale once this process is gone.
    }
  };
  // process.exit() and fatal errors skip finally blocks; a SIGKILL skips this too (hence staleness).
  process.on('exit', release);
  return {
    get record() {
      return record;
    },
    update(fields) {
      const { database: _database, port: _port, ...base } = record;
      record = { ...base, ...fields };
      const temp = tempPath(dataDir, 'update');
      writeFileSync(temp, JSON.stringify(record));
      renameSync(temp, path);
    },
    release,
  };
}

/** The current owner of DATA_DIR, if the file exists (alive or not). */
export function readDataDirOwner(dataDir: string): OwnerRecord | null {
  return readOwner(ownerPath(dataDir))?.owner ?? null;
}
