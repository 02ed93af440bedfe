/**
 * `DATABASE_URL=… TOKEN=… tsx bench/cpu-per-request.ts [--requests N] [--rounds R] [--query Q]
 *  [--service NAME=path/to/server.js …]`: CPU the server process spends per request on the list
 * path (page 1 by default), read from /proc/PID/stat (utime + stime) around a fixed number of
 * requests (`autocannon -a N -c 32`), for the service build(s) given (default `dist/server.js`)
 * and the floor (bench/floor-server.ts), in alternating rounds so that other work on the machine
 * hits each alike. Prints every round, and each target's median and best round, with floor/target: the req/s
 * ratio to expect when both are CPU-bound. TOKEN is a key of DATABASE_URL's token table.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { nodeOutput } from './load.js';
import { startProcess, type Started } from './processes.js';
import { createRequire } from 'node:module';

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
const ROOT = join(import.meta.dirname, '..');
const PATH = '/api/v1/oms/customers/list-simple/';
const NODE_FLAGS = ['--max-semi-space-size=4'];

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    query: { type: 'string', default: '' },
    service: { type: 'string', multiple: true },
  },
});
const { DATABASE_URL, TOKEN } = process.env;
if (!DATABASE_URL || !TOKEN) {
  process.stderr.write('usage: DATABASE_URL=… TOKEN=… tsx bench/cpu-per-request.ts [--service name=path/server.js]…\n');
  process.exit(2);
}
const requests = Number(values.requests);
const services = (values.service ?? ['service=dist/server.js']).map((spec) => {
  const [name = spec, path = spec] = spec.includes('=') ? spec.split('=', 2) : [spec, spec];
  return { name, path: join(ROOT, path) };
});

/** utime and stime of a process, in clock ticks (100 per second on Linux). */
function cpuTicks(pid: number): { user: number; system: number } {
  // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) };
}
const TICK_US = 10_000;

async function load(target: Started, amount: number): Promise<{ errors: number; non2xx: number }> {
  const args = [AUTOCANNON, '-c', values.connections, '-a', String(amount), '-j', '-n', '-H', `authorization=Token ${TOKEN}`];
  args.push(`${target.baseUrl}${PATH}${values.query ? `?${values.query}` : ''}`);
  const result = JSON.parse(await nodeOutput(args, 'autocannon')) as { errors: number; non2xx: number };
  return { errors: result.errors, non2xx: result.non2xx };
}

const env = { NODE_ENV: 'production', LOG_LEVEL: 'warn', SEED_DEMO_DATA: 'false', DATABASE_URL, EXPORT_MAX_ROWS: '' };
const targets: Started[] = [];
try {
  for (const { name, path } of services) {
    targets.push(await startProcess(name, [...NODE_FLAGS, path], env, join(tmpdir(), `cpu-per-request-${name}.log`)));
  }
  targets.push(await startProcess('floor', [...NODE_FLAGS, '--import', 'tsx', join(ROOT, 'bench', 'floor-server.ts')],
    { ...env, POOL_MAX: '10' }, join(tmpdir(), 'cpu-per-request-floor.log')));
  for (const target of targets) await load(target, Number(values.warmup));

  const perRequest = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const target of targets) {
      const before = cpuTicks(target.pid);
      const { errors, non2xx } = await load(target, requests);
      const after = cpuTicks(target.pid);
      const [user, system] = [after.user - before.user, after.system - before.system].map((ticks) => (ticks * TICK_US) / requests);
      const us = (user ?? 0) + (system ?? 0);
      perRequest.get(target.name)?.push(us);
      process.stdout.write(`round ${round} ${target.name.padEnd(16)} ${us.toFixed(0).padStart(5)} µs CPU/request ` +
        `(user ${user?.toFixed(0)}, system ${system?.toFixed(0)})${errors + non2xx ? `  (${errors} errors, ${non2xx} non-2xx)` : ''}\n`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  // The best round too (other work on the machine only ever adds CPU), and floor/target paired
  // within each round, which cancels what a round's load did to both.
  const floor = perRequest.get('floor') ?? [];
  for (const [name, xs] of perRequest) {
    const [m, best] = [median(xs), Math.min(...xs)];
    const paired = median(xs.map((x, i) => (floor[i] ?? NaN) / x));
    process.stdout.write(`${name.padEnd(16)} median ${m.toFixed(0).padStart(5)} µs CPU/request, best ${best.toFixed(0).padStart(5)} µs; ` +
      `floor/${name} median of rounds ${paired.toFixed(2)}\n`);
  }
} finally {
  for (const target of targets) await target.stop();
}
