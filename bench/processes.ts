/**
 * The processes under test: start one (the service or the floor) on a free loopback port, time
 * its start to the first 200 from /ready, sample its memory, stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Node's flags for the service as `npm start` and the Dockerfile run it (docs/design.md, "Node's flags"); the
 * floor and every build compared get them too.
 */
export const NODE_FLAGS = ['--max-semi-space-size=4', '--single-threaded-gc'];

export interface Started {
  name: string;
  pid: number;
  baseUrl: string;
  /** Spawn to the first 200 from /ready. */
  readyMs: number;
  logPath: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const tail = (path: string) => readFileSync(path, 'utf8').split('\n').slice(-30).join('\n');

export async function startProcess(
  name: string,
  args: string[],
  env: Record<string, string>,
  logPath: string,
  timeoutMs = 30_000,
  /** The port to listen on (a process started again in the place of one stopped); a free one by default. */
  fixedPort?: number,
): Promise<Started> {
  const port = fixedPort ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  const log = openSync(logPath, 'w');
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let exited: string | null = null;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      resolve();
    }),
  );
  for (;;) {
    if (exited) throw new Error(`${name} ${exited} before it was ready; its log (${logPath}):\n${tail(logPath)}`);
    if (performance.now() - started > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`${name} was not ready after ${timeoutMs} ms; its log (${logPath}):\n${tail(logPath)}`);
    }
    const ok = await fetch(`${baseUrl}/ready`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await new Promise((done) => setTimeout(done, 5));
  }
  const readyMs = performance.now() - started;
  return {
    name,
    pid: child.pid!,
    baseUrl,
    readyMs,
    logPath,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

function statusKb(pid: number, key: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Resident memory of `pid` now, in MB (one decimal), or null where /proc cannot tell. */
export function residentMb(pid: number): number | null {
  const kb = statusKb(pid, 'VmRSS');
  return kb === null ? null : Math.round(kb / 102.4) / 10;
}

/**
 * Peak resident memory of `pid` while `work` runs: the kernel's high-water mark, reset first
 * (`clear_refs` 5, Linux ≥ 4.0) where allowed, and RSS sampled every 50 ms either way.
 */
export async function withPeakRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakRssMb: number | null; startRssMb: number | null }> {
  let reset = false;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    reset = true;
  } catch {
    // Not Linux or not allowed: sampling alone.
  }
  const start = statusKb(pid, 'VmRSS');
  let peak = start ?? 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, statusKb(pid, 'VmRSS') ?? 0);
  }, 50);
  try {
    const result = await work();
    const hwm = reset ? statusKb(pid, 'VmHWM') : null;
    peak = Math.max(peak, hwm ?? 0, statusKb(pid, 'VmRSS') ?? 0);
    const mb = (kb: number | null) => (kb ? Math.round(kb / 102.4) / 10 : null);
    return { result, peakRssMb: mb(peak), startRssMb: mb(start) };
  } finally {
    clearInterval(timer);
  }
}
