/**
 * `npm run bench -- --reads`: the list's reads through Prisma (`$queryRaw`) against the same reads
 * on `pg`, and both against the Node floor. Two services on the same database, one started with
 * DB_READ_CLIENT=pg and one with DB_READ_CLIENT=prisma, and the floor, measured in alternating
 * rounds in one run (pg, prisma, floor, pg, …) so that other work on the machine hits all three
 * alike: the ratios are what to read, not the absolute req/s. Also the resident memory of each
 * service idle after start and after its first page (Prisma's client is created at the first
 * read). Writes bench/results/reads.json and a "## Read clients" section in bench/RESULTS.md
 * (before "## Soak run"; a full run keeps it, as it keeps everything from "## Analysis" on).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BodyCheck } from './checks.js';
import type { Started } from './processes.js';
import { median, roundRatios, type Measured } from './load.js';
import type { Scenario } from './scenarios.js';

/** The scenarios measured: page 1 (the issue's target), a larger page, and a filtered one (a real count). */
export const READS_SCENARIOS = ['page1', 'page1-limit100', 'email'] as const;

export type ReadClient = 'pg' | 'prisma';

export interface ReadsRun {
  /** The services, by client, and the floor, all started on the same database. */
  services: Record<ReadClient, Started>;
  floor: Started;
  token: string;
  scenarios: readonly Scenario[];
  /** The harness's alternating measurement (bench/run.ts), targets in the order given. */
  measure(targets: readonly Started[], scenario: Scenario): Promise<Measured[]>;
  compareBodies(a: Started, b: Started, scenarios: readonly Scenario[], token: string): Promise<BodyCheck[]>;
  firstPage(service: Started): Promise<void>;
  residentMb(pid: number): number | null;
  log(line: string): void;
}

export interface ReadsResult {
  date: string;
  memoryMb: Record<ReadClient, { idle: number | null; afterFirstPage: number | null }>;
  /** Prisma's answers against pg's, byte for byte. */
  bodyChecks: BodyCheck[];
  scenarios: { id: string; title: string; query: string; pg: Measured; prisma: Measured; floor: Measured }[];
}

export async function runReads(run: ReadsRun): Promise<ReadsResult> {
  const { services, floor } = run;
  const memoryMb = {} as ReadsResult['memoryMb'];
  for (const client of ['pg', 'prisma'] as const) {
    const idle = run.residentMb(services[client].pid);
    await run.firstPage(services[client]);
    memoryMb[client] = { idle, afterFirstPage: run.residentMb(services[client].pid) };
    run.log(`${client} reads: ${idle} MB idle, ${memoryMb[client].afterFirstPage} MB after the first page`);
  }
  const bodyChecks = await run.compareBodies(services.prisma, services.pg, run.scenarios, run.token);
  for (const c of bodyChecks.filter((c) => !c.identical)) run.log(`prisma and pg answers differ for ${c.scenario}: ${c.detail}`);
  const scenarios: ReadsResult['scenarios'] = [];
  for (const scenario of run.scenarios) {
    run.log(`${scenario.id}: ${scenario.title} (pg, prisma, floor)`);
    const [pg, prisma, fl] = await run.measure([services.pg, services.prisma, floor], scenario);
    scenarios.push({ id: scenario.id, title: scenario.title, query: scenario.query, pg: pg!, prisma: prisma!, floor: fl! });
    run.log(`${scenario.id}: pg ${Math.round(pg!.rps)}, prisma ${Math.round(prisma!.rps)}, floor ${Math.round(fl!.rps)} req/s`);
  }
  return { date: new Date().toISOString(), memoryMb, bodyChecks, scenarios };
}

const f0 = (n: number) => Math.round(n).toLocaleString('en');
const pct = (n: number) => `${Math.round(n * 100)}%`;
const rps = (m: Measured) => `${f0(m.rps)} (${m.roundsRps.map(f0).join(', ')})`;
/** Each round's ratio, a / b, and their median (load.ts roundRatios). */
function pairedRounds(a: Measured, b: Measured): string {
  const ratios = roundRatios(a.roundsRps, b.roundsRps);
  return `median ${pct(median(ratios))}; ${ratios.map(pct).join(', ')}`;
}

export interface ReadsSettings {
  commit: string;
  rows: number;
  connections: number;
  warmupS: number;
  durationS: number;
  rounds: number;
  loadAvg1m: { start: number; end: number };
}

/** bench/results/reads.json, and the "## Read clients" section of RESULTS.md (replaced, the rest kept). */
export function writeReadsReport(r: ReadsResult, settings: ReadsSettings, root: string): string[] {
  const json = join(root, 'bench', 'results', 'reads.json');
  writeFileSync(json, `${JSON.stringify({ ...settings, ...r }, null, 2)}\n`);
  const md = join(root, 'bench', 'RESULTS.md');
  const previous = existsSync(md) ? readFileSync(md, 'utf8') : '';
  const rows = r.scenarios.map((s) => `| ${s.title} | \`${s.query || '(none)'}\` | ${rps(s.pg)} | ${rps(s.prisma)} | ${rps(s.floor)} | ` +
    `${pct(s.pg.rps / s.floor.rps)} (${pairedRounds(s.pg, s.floor)}) | ${pct(s.prisma.rps / s.floor.rps)} (${pairedRounds(s.prisma, s.floor)}) | ` +
    `${pct(s.prisma.rps / s.pg.rps)} (${pairedRounds(s.prisma, s.pg)}) | ${s.pg.p50} / ${s.pg.p99} | ${s.prisma.p50} / ${s.prisma.p99} |`);
  const mem = (c: ReadClient) => `${r.memoryMb[c].idle ?? 'n/a'} MB idle, ${r.memoryMb[c].afterFirstPage ?? 'n/a'} MB after the first page`;
  const section = `## Read clients: pg vs Prisma

\`npm run bench -- --reads\` (bench/reads.ts) at ${settings.commit}, ${r.date}: ${f0(settings.rows)} customers,
${settings.connections} connections, ${settings.warmupS} s warm-up then ${settings.durationS} s per target in ${settings.rounds} alternating
rounds (the service with \`DB_READ_CLIENT=pg\`, the service with \`DB_READ_CLIENT=prisma\`, the floor, again…);
best round reported, every round in brackets; the ratios are the best rounds', then the median of
the paired rounds' (the one to read on a busy machine) and each pair; load average ${settings.loadAvg1m.start.toFixed(1)} at the start,
${settings.loadAvg1m.end.toFixed(1)} at the end. Latency columns are p50 / p99 in ms.

| Scenario | Parameters | pg req/s | Prisma req/s | floor req/s | pg/floor | Prisma/floor | Prisma/pg | pg latency | Prisma latency |
|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Memory (RSS): pg reads ${mem('pg')}; Prisma reads ${mem('prisma')}.
Prisma's answers byte for byte pg's: ${r.bodyChecks.map((c) => `${c.scenario} ${c.identical ? 'yes' : `NO (${c.detail})`}`).join('; ')}.
`;
  const start = previous.indexOf('\n## Read clients');
  const soak = previous.indexOf('\n## Soak run');
  let text: string;
  if (start !== -1) {
    const next = previous.indexOf('\n## ', start + 1);
    text = `${previous.slice(0, start).trimEnd()}\n\n${section}${next === -1 ? '' : `\n${previous.slice(next + 1)}`}`;
  } else if (soak !== -1) {
    text = `${previous.slice(0, soak).trimEnd()}\n\n${section}\n${previous.slice(soak + 1)}`;
  } else {
    text = `${previous.trimEnd()}\n\n${section}`;
  }
  writeFileSync(md, text);
  return [json, md];
}
