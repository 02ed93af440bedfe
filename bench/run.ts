/**
 * `npm run bench [-- --quick] [--duration S] [--warmup S] [--rounds N] [--connections N] [--profile]`
 * (or `-- --soak [--minutes N]`, bench/soak.ts; `-- --reads`, bench/reads.ts; `-- --latency`, bench/latency.ts): the
 * service against the Node floor and PostgreSQL's COPY on the real PostgreSQL at DATABASE_URL.
 * Builds, starts `node dist/server.js` in production mode, drives it with autocannon from another
 * process and writes bench/results/latest.json (quick: quick.json) and bench/RESULTS.md.
 * Exits non-zero only when the harness itself cannot run, never because of a number.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { commandLineOrExit, usage, wholeNumber, type CommandSpec } from '../src/command-line.js';
import { prepareBenchDatabase, type BenchDatabase } from './databases.js';
import { buildScenarios, exportStatement, LIST_PATH, type Scenario } from './scenarios.js';
import { explainScenarios } from './explain.js';
import { NODE_FLAGS, residentMb, startProcess, withPeakRss, type Started } from './processes.js';
import { copyOut, download, median, repeatFor, runAutocannon, type Measured } from './load.js';
import { compareBodies, probe } from './checks.js';
import { writeReport, type ExportMeasure, type Results, type ScenarioResult } from './report.js';
import { runSoak, SOAK_ROWS, writeSoakReport } from './soak.js';
import { READS_SCENARIOS, runReads, writeReadsReport } from './reads.js';
import { freshToken } from './databases.js';
import { measureExportCsv, measurePage1, type CompressionResult } from './compression.js';
import { cpuTimes, stealShare, withSteal } from './cpu-steal.js';
import { latencySection, LOOP_DELAY_FLAGS, measureLatencyUnderLoad, writeLatencySection, type LatencyResult } from './latency.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'results');
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const BENCH_COMMAND: CommandSpec = {
  script: 'bench',
  summary: "Benchmarks the service against the Node floor and PostgreSQL's COPY on the real PostgreSQL at DATABASE_URL " +
    '(creates and fills databases oms_bench_* there); writes bench/results/ and bench/RESULTS.md.',
  options: {
    quick: { type: 'boolean', text: 'small datasets and short runs (a smoke test, minutes)' },
    duration: { type: 'string', value: 'S', text: 'measured seconds per scenario (default 20, quick 3)' },
    warmup: { type: 'string', value: 'S', text: 'warm-up seconds per scenario (default 5, quick 1)' },
    rounds: { type: 'string', value: 'N', text: 'alternating rounds the measured seconds are split into (default 4, quick 1)' },
    connections: { type: 'string', value: 'N', text: 'concurrent connections (default 32)' },
    profile: { type: 'boolean', text: 'run the large service under --cpu-prof' },
    soak: { type: 'boolean', text: 'instead of the scenarios: everything at once for --minutes on 200,000 customers (bench/soak.ts)' },
    minutes: { type: 'string', value: 'N', text: 'soak duration in minutes (default 10)' },
    reads: { type: 'boolean', text: 'instead of the scenarios: pages with DB_READ_CLIENT=pg vs =prisma vs the floor, alternating (bench/reads.ts)' },
    latency: { type: 'boolean', text: "instead of the scenarios: only page-1 latency under load, paced at half the floor's rate, alone and during an XLSX export (bench/latency.ts)" },
    rate: { type: 'string', value: 'N', text: 'with --latency: offer page 1 at N req/s instead; printed and written to results/latency-rate.json, RESULTS.md left as it is' },
  },
  env: ['DATABASE_URL'],
  notes: ['Refuses to run (exit 2) without DATABASE_URL: the embedded database says nothing about production speed.'],
};

const args = commandLineOrExit(BENCH_COMMAND, process.argv.slice(2));
if ('exitCode' in args) process.exit(args.exitCode);
const argv = args.values;

/** A non-negative number of seconds, or the default; exits 2 with the usage on anything else. */
function option(name: string, fallback: number, parse: (raw: string) => number | string): number {
  const raw = argv[name];
  if (raw === undefined) return fallback;
  const value = parse(String(raw));
  if (typeof value === 'number') return value;
  process.stderr.write(`${value}\n${usage(BENCH_COMMAND)}`);
  process.exit(2);
}
const seconds = (name: string) => (raw: string) =>
  /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : `--${name} must be a number of seconds (got ${JSON.stringify(raw)})`;

const quick = argv.quick === true;
const settings = {
  mode: quick ? ('quick' as const) : ('full' as const),
  rows: quick ? { small: 10_000, large: 50_000 } : { small: 100_000, large: 1_000_000 },
  durationS: option('duration', quick ? 3 : 20, seconds('duration')),
  /** The measured seconds of a scenario are split into this many alternating rounds. */
  rounds: option('rounds', quick ? 1 : 4, (raw) => wholeNumber('rounds', raw, { min: 1 })),
  warmupS: option('warmup', quick ? 1 : 5, seconds('warmup')),
  connections: option('connections', 32, (raw) => wholeNumber('connections', raw, { min: 1 })),
  starts: quick ? 1 : 3,
};

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

function startService(db: BenchDatabase, tag: string, profile = false, env: Record<string, string> = {}, extraFlags: string[] = []): Promise<Started> {
  const flags = [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${join(OUT, 'profiles')}`] : []), ...extraFlags];
  return startProcess('service', [...NODE_FLAGS, ...flags, join(ROOT, 'dist', 'server.js')], {
    // Empty means unset: no cap on a full export, whatever .env says.
    NODE_ENV: 'production', LOG_LEVEL: 'warn', DATABASE_URL: db.url, SEED_DEMO_DATA: 'false', EXPORT_MAX_ROWS: '', ...env,
  }, join(OUT, `service-${tag}.log`));
}

function startFloor(db: BenchDatabase): Promise<Started> {
  return startProcess('floor', [...NODE_FLAGS, '--import', 'tsx', join(ROOT, 'bench', 'floor-server.ts')], {
    NODE_ENV: 'production', DATABASE_URL: db.url, POOL_MAX: String(loadConfig().DB_POOL_MAX),
  }, join(OUT, 'floor.log'));
}

/**
 * Each target warmed up, then `rounds` alternating rounds (service, floor, service, floor, …) so
 * that other work on a shared machine hits both alike; each target's best round is its result
 * (interference only ever slows a round down), every round's req/s is kept.
 */
interface Target {
  process: Started;
  token: string;
}

async function measure(targets: readonly Target[], scenario: Scenario): Promise<Measured[]> {
  const headers = (t: Target) => ({ ...scenario.headers, authorization: `Token ${t.token}` });
  const connections = scenario.connections ?? settings.connections;
  const url = (t: Target) => `${t.process.baseUrl}${LIST_PATH}${scenario.query ? `?${scenario.query}` : ''}`;
  if (settings.warmupS > 0) for (const t of targets) await runAutocannon(url(t), headers(t), connections, settings.warmupS);
  const rounds: Measured[][] = targets.map(() => []);
  for (let round = 0; round < settings.rounds; round++) {
    for (const [i, t] of targets.entries()) {
      const loadAvg1m = loadavg()[0]!;
      const seconds = settings.durationS / settings.rounds;
      const { result: { result, peakRssMb }, steal } = await withSteal(() => withPeakRss(t.process.pid, () => runAutocannon(url(t), headers(t), connections, seconds)));
      rounds[i]!.push({ ...result, peakRssMb, loadAvg1m, steal, roundsRps: [] });
    }
  }
  return rounds.map((runs) => {
    const best = runs.reduce((a, b) => (b.rps > a.rps ? b : a));
    const peaks = runs.map((r) => r.peakRssMb).filter((m): m is number => m !== null);
    return { ...best, peakRssMb: peaks.length ? Math.max(...peaks) : null, roundsRps: runs.map((r) => Math.round(r.rps)) };
  });
}

async function measureExport(service: Started, scenario: Scenario, db: BenchDatabase): Promise<ExportMeasure> {
  const url = `${service.baseUrl}${LIST_PATH}?${scenario.query}`;
  const { result: runs, peakRssMb, startRssMb } = await withPeakRss(service.pid, () =>
    repeatFor(settings.durationS, !quick, () => download(url, { authorization: `Token ${db.token}` })));
  const bad = runs.find((r) => r.status !== 200);
  // CSV: one line per row plus the header; XLSX rows cannot be counted without unzipping.
  const rows = scenario.format === 'csv' ? runs[0]!.lines - 1 : db.rows;
  const ms = median(runs.map((r) => r.ms));
  return {
    runs: runs.length, rows, bytes: runs[0]!.bytes, ms, rowsPerSec: rows / (ms / 1000),
    bytesPerSec: runs[0]!.bytes / (ms / 1000), peakRssMb, startRssMb, errors: bad ? `HTTP ${bad.status}` : null,
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.DATABASE_URL) {
    log('refusing to run: DATABASE_URL is not set, so the service would use its embedded PGlite database,');
    log('which is single-connection WebAssembly PostgreSQL and says nothing about production speed.');
    log('Point DATABASE_URL at a real PostgreSQL server, e.g.');
    log('  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres npm run bench');
    log('(the benchmark creates and fills its own databases oms_bench_* on that server).');
    process.exit(2);
  }
  mkdirSync(OUT, { recursive: true });
  if (argv.soak) return soak(config.DATABASE_URL);
  if (argv.reads) return reads(config.DATABASE_URL);
  if (argv.latency) return latencyOnly(config.DATABASE_URL);
  const started = Date.now();
  const loadAtStart = loadavg()[0]!;
  const cpuAtStart = cpuTimes();
  log(`${settings.mode} run: ${settings.rows.large} and ${settings.rows.small} customers, ${settings.connections} connections, ` +
    `${settings.warmupS} s warm-up + ${settings.durationS} s per scenario`);
  const large = await prepareBenchDatabase(config.DATABASE_URL, settings.rows.large, log);
  const small = await prepareBenchDatabase(config.DATABASE_URL, settings.rows.small, log);
  try {
    log('building (npm run build)');
    await run('npm', ['run', '-s', 'build']);
    const scenarios = await buildScenarios(large.pool, large.rows);
    const plans = await explainScenarios(large.pool, scenarios);
    for (const p of plans.filter((p) => p.seqScan)) log(`SEQUENTIAL SCAN in ${p.scenario} (${p.statement}):\n${p.plan}`);

    const readyMs: number[] = [];
    for (let i = 1; i < settings.starts; i++) {
      const s = await startService(large, 'start');
      readyMs.push(s.readyMs);
      await s.stop();
    }
    const service = await startService(large, 'large', argv.profile === true);
    readyMs.push(service.readyMs);
    log(`service ready in ${readyMs.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    const floor = await startFloor(large);
    // Page 1 on the small dataset runs in the same alternation as on the large one, for a fair ratio.
    const smallService = await startService(small, 'small');
    const results: ScenarioResult[] = [];
    let bodyChecks;
    let compression: CompressionResult | undefined;
    let latency: LatencyResult | undefined;
    try {
      bodyChecks = await compareBodies(service, floor, scenarios.filter((s) => s.floor && !s.format), large.token);
      for (const c of bodyChecks.filter((c) => !c.identical)) log(`floor body differs for ${c.scenario}: ${c.detail}`);
      for (const scenario of scenarios) {
        const unavailable = await probe(service, scenario, large.token);
        if (unavailable) {
          log(`${scenario.id}: not available (the service does not serve ${scenario.query} yet: ${unavailable})`);
          results.push({ scenario, dataset: large.rows, available: false, unavailable });
          continue;
        }
        log(`${scenario.id}: ${scenario.title}`);
        if (scenario.kind === 'requests') {
          const onLarge = { process: service, token: large.token };
          const onFloor = { process: floor, token: large.token };
          const onSmall = { process: smallService, token: small.token };
          const [s, f, sm] = await measure([onLarge, ...(scenario.floor ? [onFloor] : []), ...(scenario.scaling ? [onSmall] : [])], scenario);
          results.push({ scenario, dataset: large.rows, available: true, service: s!, floor: scenario.floor ? f! : null });
          if (scenario.scaling) results.push({ scenario, dataset: small.rows, available: true, service: (scenario.floor ? sm : f)! });
        } else {
          // A fresh process: V8 keeps the heap earlier scenarios grew, which would count as the export's.
          const fresh = await startService(large, scenario.id);
          let s: ExportMeasure;
          try {
            s = await measureExport(fresh, scenario, large);
          } finally {
            await fresh.stop();
          }
          const copies = await repeatFor(settings.durationS, !quick, () => copyOut(large.pool, exportStatement()));
          const ms = median(copies.map((c) => c.ms));
          const c = copies[0]!;
          results.push({
            scenario, dataset: large.rows, available: true, export: s,
            copy: { runs: copies.length, rows: c.rows, bytes: c.bytes, ms, rowsPerSec: c.rows / (ms / 1000), bytesPerSec: c.bytes / (ms / 1000) },
          });
        }
      }
      log('compression: page 1 and the full CSV export, gzip against none, alternating');
      const page1 = await measurePage1(service, large.token, settings);
      const fresh = await startService(large, 'compression');
      try {
        compression = { page1, exportCsv: await measureExportCsv(fresh, large.token, settings.durationS) };
      } finally {
        await fresh.stop();
      }
      const floorPage1 = results.find((r) => r.scenario.id === 'page1' && r.dataset === large.rows && r.available && r.floor);
      if (floorPage1?.available && floorPage1.floor) latency = await measureLatency(large, floorPage1.floor.rps, floor);
    } finally {
      await smallService.stop();
      await floor.stop();
      await service.stop();
    }

    const { rows: [pgVersion] } = await large.pool.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    const commit = gitCommit();
    const report: Results = {
      date: new Date().toISOString(),
      commit,
      mode: settings.mode,
      machine: { loadAvg1m: { start: loadAtStart, end: loadavg()[0]! }, steal: stealShare(cpuAtStart, cpuTimes()), cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, postgres: pgVersion!.v, platform: process.platform },
      settings: { ...settings, nodeFlags: NODE_FLAGS, generatedSeconds: { large: large.generatedSeconds, small: small.generatedSeconds } },
      startup: { readyMs, medianMs: median(readyMs) },
      scenarios: results,
      bodyChecks,
      ...(compression ? { compression } : {}),
      plans,
      elapsedSeconds: (Date.now() - started) / 1000,
    };
    const written = writeReport(report, ROOT);
    if (latency) written.push(...writeLatency(latency, written[1]!, large.rows, `npm run bench${quick ? ' -- --quick' : ''}`));
    log(`done in ${report.elapsedSeconds.toFixed(0)} s: ${written.join(', ')}`);
  } finally {
    await large.pool.end();
    await small.pool.end();
  }
}

/** `--soak`: everything at once for `--minutes` (bench/soak.ts), instead of the measured scenarios. */
async function soak(serverUrl: string): Promise<void> {
  const db = await prepareBenchDatabase(serverUrl, SOAK_ROWS, log);
  try {
    log('building (npm run build)');
    await run('npm', ['run', '-s', 'build']);
    const result = await runSoak({ minutes: option('minutes', 10, (raw) => wholeNumber('minutes', raw, { min: 1 })), db, start: () => startService(db, 'soak'), log });
    const written = writeSoakReport(result, ROOT, gitCommit());
    log(`soak ${result.passed ? 'passed' : 'MISSED a goal'}: ${result.unexpected5xx} unexpected 5xx, ${result.restarts} restarts, ` +
      `RSS growth ${result.rssMb.growthPct}%; ${written.join(', ')}`);
  } finally {
    await db.pool.end();
  }
}

/** `--reads`: the same pages with the list's reads on pg and through Prisma, against the floor (bench/reads.ts). */
async function reads(serverUrl: string): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  const db = await prepareBenchDatabase(serverUrl, settings.rows.large, log);
  try {
    log('building (npm run build)');
    await run('npm', ['run', '-s', 'build']);
    // A user of its own: a benchmark started meanwhile renews the `bench` user's key, not this one.
    const token = await freshToken(db.pool, 'bench-reads');
    const scenarios = (await buildScenarios(db.pool, db.rows)).filter((s) => (READS_SCENARIOS as readonly string[]).includes(s.id));
    const profile = argv.profile === true;
    const services = {
      pg: await startService(db, 'reads-pg', profile, { DB_READ_CLIENT: 'pg' }),
      prisma: await startService(db, 'reads-prisma', profile, { DB_READ_CLIENT: 'prisma' }),
    };
    const floor = await startFloor(db);
    try {
      const result = await runReads({
        services, floor, token, scenarios, compareBodies, residentMb, log,
        measure: (targets, scenario) => measure(targets.map((p) => ({ process: p, token })), scenario),
        firstPage: async (service) => {
          const res = await download(`${service.baseUrl}${LIST_PATH}`, { authorization: `Token ${token}` });
          if (res.status !== 200) throw new Error(`${service.name}: first page answered ${res.status}`);
        },
      });
      const written = writeReadsReport(result, {
        commit: gitCommit(), rows: db.rows, connections: settings.connections, warmupS: settings.warmupS,
        durationS: settings.durationS, rounds: settings.rounds, loadAvg1m: { start: loadAtStart, end: loadavg()[0]! },
      }, ROOT);
      log(`done: ${written.join(', ')}`);
    } finally {
      await floor.stop();
      await services.prisma.stop();
      await services.pg.stop();
    }
  } finally {
    await db.pool.end();
  }
}

/** Page-1 latency under load (bench/latency.ts) on a fresh service that records its event-loop delay. */
async function measureLatency(db: BenchDatabase, floorPage1Rps: number, floor: Started, rate?: number): Promise<LatencyResult> {
  const loopDelayFile = join(OUT, 'loop-delay.jsonl');
  rmSync(loopDelayFile, { force: true });
  const service = await startService(db, 'latency', false, { LOOP_DELAY_FILE: loopDelayFile }, LOOP_DELAY_FLAGS);
  try {
    return await measureLatencyUnderLoad({
      service, floor, token: db.token, loopDelayFile, floorPage1Rps, seconds: settings.durationS, warmupS: settings.warmupS, log,
      ...(rate === undefined ? {} : { rate }),
    });
  } finally {
    await service.stop();
    rmSync(loopDelayFile, { force: true });
  }
}

/**
 * The result into bench/results/`json` (latency(-quick).json by default), and its section into the
 * report `md`, or printed when `md` is null (a `--rate` run, which is not the issue's rate).
 */
function writeLatency(r: LatencyResult, md: string | null, rows: number, command: string, json = join(OUT, settings.mode === 'full' ? 'latency.json' : 'latency-quick.json')): string[] {
  const date = new Date().toISOString();
  const commit = gitCommit();
  writeFileSync(json, `${JSON.stringify({ date, commit, rows, ...r }, null, 2)}\n`);
  const section = latencySection(r, { commit, date, rows, command });
  if (md === null) process.stdout.write(`${section}\n`);
  else writeLatencySection(md, section);
  return [json];
}

/** `--latency`: the floor's best page-1 rate, then page-1 latency under load at half of it (bench/latency.ts), into RESULTS.md. */
async function latencyOnly(serverUrl: string): Promise<void> {
  const fixedRate = argv.rate === undefined ? undefined : option('rate', 0, (raw) => wholeNumber('rate', raw, { min: 1 }));
  const db = await prepareBenchDatabase(serverUrl, settings.rows.large, log);
  try {
    log('building (npm run build)');
    await run('npm', ['run', '-s', 'build']);
    const page1 = (await buildScenarios(db.pool, db.rows)).find((s) => s.id === 'page1')!;
    const floor = await startFloor(db);
    let result: LatencyResult;
    try {
      log(`floor: page 1, ${settings.connections} connections`);
      const [{ rps: floorRps }] = (await measure([{ process: floor, token: db.token }], page1)) as [Measured];
      result = await measureLatency(db, floorRps, floor, fixedRate);
    } finally {
      await floor.stop();
    }
    // A --rate run is not the issue's rate: printed beside the regenerated section, never in its place.
    const written = fixedRate === undefined
      ? writeLatency(result, join(ROOT, 'bench', 'RESULTS.md'), db.rows, `npm run bench -- --latency${quick ? ' --quick' : ''}`)
      : writeLatency(result, null, db.rows, `npm run bench -- --latency --rate ${fixedRate}`, join(OUT, 'latency-rate.json'));
    log(`latency at ${result.offeredRps} req/s: p99 ${result.idle.p99} ms alone, ${result.duringExport.p99} ms during an XLSX export, ${result.duringCsvExport?.p99} ms during a CSV export; ${written.join(', ')}`);
  } finally {
    await db.pool.end();
  }
}

function gitCommit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  // The run's own outputs (written before the latency phase names the commit) are not changes to what is measured.
  const changed = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/RESULTS.md', ':!bench/results');
  return `${git('rev-parse', '--short', 'HEAD')}${changed ? ' + uncommitted changes' : ''}`;
}

main().catch((error: unknown) => {
  log(`harness failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
