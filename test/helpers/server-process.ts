/**
 * `src/server.ts` as a real process (transpiled as tsx transpiles it for the npm scripts, see
 * entry-scripts.ts), for the tests that need the process itself: its exit codes, its signals, its
 * log. Resolves once it logged that it is ready and where it listens; rejects with its output if
 * it exits first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { entryScript } from './entry-scripts.js';

export const PROJECT_ROOT = new URL('../..', import.meta.url).pathname;

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** `http://127.0.0.1:PORT` */
  base: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
}

/** Starts the server with exactly `env` (nothing inherited that the caller did not pass); `children` collects it for clean-up. */
export function startServerProcess(env: NodeJS.ProcessEnv, children?: Set<ChildProcess>): Promise<ServerProcess> {
  const child = spawn(process.execPath, entryScript('src/server.ts'), { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children?.add(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /oms-customers ready/.test(out) && /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (match) resolve({ child, port: Number(match[1]), base: `http://127.0.0.1:${match[1]}`, output: () => out });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

/** The environment of this process without the variables named, e.g. the test database's. */
export function environmentWithout(...names: string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !names.includes(k)));
}
