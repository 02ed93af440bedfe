/**
 * `DATABASE_URL=… TOKEN=… tsx bench/cpu-per-request.ts [--requests N] [--rounds R] [--query Q]
 *  [--service NAME=path/to/server.js …]`: CPU the server process spends per request on the list
 * path (page 1 by default), read from /proc/PID/stat (utime + stime) around a fixed number of
 * requests (`autocannon -a N -c 32`), for the service build(s) given (default `dist/server.js`)
 * and the floor (bench/floor-server.ts), in alternating rounds so that other work on the machine
 * hits each alike. Prints every round, and each target's median and best round, with floor/target: the req/s
 * ratio to expect when both are CPU-bound. TOKEN is a key of DATABASE_URL's token table.
 *
 * Beside the server's own CPU, each round gives PostgreSQL's (every process of its user, read the
 * same way) and the whole machine's (/proc/stat: all cores, the load generator included): a
 * closed-loop req/s is the machine's cores over the machine's CPU per request, so the three say
 * which process a difference between two targets lives in.
 *
 * A `.ts` target runs under tsx. `--service canned=bench/canned-service.ts --service
 * bare=bench/canned-bare.ts` measures the service's own path with no database work (bench/canned-page.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuTimes } from './cpu-steal.js';
import { nodeOutput } from './load.js';
import { NODE_FLAGS, startProcess, type Started } from './processes.js';
import { createRequire } from 'node:module';

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
const ROOT = join(import.meta.dirname, '..');
const PATH = '/api/v1/oms/customers/list-simple/';

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

/** Calls `visit` with the pid of each process running now; one that ends while visited is skipped. */
function eachProcess(visit: (pid: number) => void): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      visit(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
}

/** utime + stime of each process `uid` owns (PostgreSQL's server and backends), in clock ticks, by pid. */
function userTicks(uid: number): Map<number, number> {
  const ticks = new Map<number, number>();
  eachProcess((pid) => {
    if (statSync(`/proc/${pid}`).uid !== uid) return;
    const { user, system } = cpuTicks(pid);
    ticks.set(pid, user + system);
  });
  return ticks;
}

/**
 * Ticks spent between two readings by the processes alive at the second: a backend started
 * meanwhile counts from zero; one that ended meanwhile (a pool closing an idle connection) is
 * left out rather than subtracted.
 */
function ticksBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let ticks = 0;
  for (const [pid, total] of after) ticks += total - (before.get(pid) ?? 0);
  return ticks;
}

/** Busy ticks of all cores together (user, nice, system, irq, softirq), from /proc/stat. */
function machineTicks(): number {
  return cpuTimes()?.busy ?? 0;
}

/** The uid PostgreSQL runs as: the owner of a `postgres` process, if one is found here. */
function postgresUid(): number | null {
  let uid: number | null = null;
  eachProcess((pid) => {
    if (uid === null && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') uid = statSync(`/proc/${pid}`).uid;
  });
  return uid;
}
const pgUid = postgresUid();

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
    targets.push(await startProcess(name, [...NODE_FLAGS, ...(path.endsWith('.ts') ? ['--import', 'tsx'] : []), path], env, join(tmpdir(), `cpu-per-request-${name}.log`)));
  }
  targets.push(await startProcess('floor', [...NODE_FLAGS, '--import', 'tsx', join(ROOT, 'bench', 'floor-server.ts')],
    { ...env, POOL_MAX: '10' }, join(tmpdir(), 'cpu-per-request-floor.log')));
  for (const target of targets) await load(target, Number(values.warmup));

  const perRequest = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const postgresPerRequest = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const machinePerRequest = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const perRequestUs = (ticks: number) => (ticks * TICK_US) / requests;
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const target of targets) {
      const before = cpuTicks(target.pid);
      const [postgresBefore, machineBefore] = [pgUid === null ? null : userTicks(pgUid), machineTicks()];
      const { errors, non2xx } = await load(target, requests);
      const after = cpuTicks(target.pid);
      const postgres = pgUid === null || postgresBefore === null ? NaN : perRequestUs(ticksBetween(postgresBefore, userTicks(pgUid)));
      const machine = perRequestUs(machineTicks() - machineBefore);
      const [user, system] = [after.user - before.user, after.system - before.system].map(perRequestUs);
      const us = (user ?? 0) + (system ?? 0);
      perRequest.get(target.name)?.push(us);
      postgresPerRequest.get(target.name)?.push(postgres);
      machinePerRequest.get(target.name)?.push(machine);
      process.stdout.write(`round ${round} ${target.name.padEnd(16)} ${us.toFixed(0).padStart(5)} µs CPU/request ` +
        `(user ${user?.toFixed(0)}, system ${system?.toFixed(0)}); PostgreSQL ${postgres.toFixed(0)} µs, machine ${machine.toFixed(0)} µs` +
        `${errors + non2xx ? `  (${errors} errors, ${non2xx} non-2xx)` : ''}\n`);
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
      `floor/${name} median of rounds ${paired.toFixed(2)}; medians: PostgreSQL ${median(postgresPerRequest.get(name) ?? []).toFixed(0)} µs, ` +
      `machine ${median(machinePerRequest.get(name) ?? []).toFixed(0)} µs\n`);
  }
} finally {
  for (const target of targets) await target.stop();
}
