/**
 * Latency under load, open loop (issue 14, target 2): page 1 offered at half the floor's best
 * page-1 rate, paced evenly (bench/paced.ts in its own process), once on its own, once while
 * full XLSX exports run one after another at full download speed, and once beside full CSV
 * exports (which PostgreSQL writes: no target, reported because they once went unchecked). The
 * service runs with bench/loop-delay.mjs preloaded, so each phase also reports the service's
 * event-loop delay.
 * Targets (p99 < 10 ms, < 50 ms) are reported as met or not, never enforced.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuTimes, stealPct, stealShare } from './cpu-steal.js';
import type { PacedResult } from './paced.js';
import type { Started } from './processes.js';
import { download, median, nodeOutput } from './load.js';
import { LIST_PATH } from './scenarios.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
/** Node flags that make a started service record its event-loop delay into LOOP_DELAY_FILE. */
export const LOOP_DELAY_FLAGS = ['--import', join(BENCH, 'loop-delay.mjs')];
export const TARGET_P99_MS = { idle: 10, duringExport: 50 } as const;
const EXPORT_QUERY = { xlsx: 'limit=all&format=xls', csv: 'limit=all&format=csv' } as const;

/** The service's event-loop delay over a phase, from bench/loop-delay.mjs's 250 ms windows (ms). */
export interface LoopDelay {
  windows: number;
  /** The longest single delay seen. */
  max: number;
  /** The median window's p99. */
  medianWindowP99: number;
  /** Windows whose longest delay exceeded 10 ms. */
  windowsOver10ms: number;
}

/** A paced run, with the CPU time stolen from the machine meanwhile (bench/cpu-steal.ts; absent in older results). */
export type PacedPhase = PacedResult & { steal?: number | null };

export interface LatencyPhase extends PacedPhase {
  loopDelay: LoopDelay | null;
}

/** A paced phase beside full exports run back to back. */
export type ExportPhase = LatencyPhase & { exports: number; exportMedianMs: number; exportErrors: number };

export interface LatencyResult {
  floorPage1Rps: number;
  /** The same paced page 1 against the floor alone: what this machine allows any Node process. */
  floorIdle: PacedPhase | null;
  offeredRps: number;
  /** The rate was given (`--rate`), not half the floor's. */
  fixedRate?: boolean;
  seconds: number;
  /** Seconds each phase's client paced unmeasured before them (absent in older results: a separate warm-up client). */
  settleSeconds?: number;
  idle: LatencyPhase;
  /** Beside full XLSX exports (the target's phase). */
  duringExport: ExportPhase;
  /** Beside full CSV exports (absent in older results). */
  duringCsvExport?: ExportPhase;
}

/**
 * The paced client's connections: as many as the closed-loop scenarios keep, opened (and used once)
 * before its first due request, and no more during the run, as a set of clients on persistent
 * connections would send them (why: PacedOptions.warmConnections in paced.ts). A due request that
 * finds all 32 busy waits in the client, and that wait counts in its latency, measured from its due
 * time as ever. Without the cap, a 100 ms stall at 2,000 req/s had the client open ~170 connections
 * (up to its 512): bench/RESULTS.md, "Seventh look".
 */
export const PACED_CONNECTIONS = 32;

/**
 * bench/paced.ts in a child process, so the harness's own work (the export download) cannot delay its sends.
 * It first paces `settleS` seconds unmeasured (PacedOptions.settleSeconds), then calls `onMeasuring`
 * as the measured seconds begin.
 */
export function runPacedProcess(url: string, headers: Record<string, string>, rate: number, seconds: number, settleS = 0, onMeasuring?: () => void): Promise<PacedResult> {
  const args = ['--import', 'tsx', join(BENCH, 'paced.ts'), url, '--rate', String(rate), '--seconds', String(seconds), '--settle', String(settleS), '--warm', String(PACED_CONNECTIONS), '--max-sockets', String(PACED_CONNECTIONS)];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  return nodeOutput(args, 'paced client', (line) => {
    if (line === 'measuring') onMeasuring?.();
  }).then((out) => JSON.parse(out) as PacedResult);
}

/** The loop-delay windows that ended within [from, to] (epoch ms), summarised; null without the file. */
export function loopDelayBetween(file: string, from: number, to: number): LoopDelay | null {
  if (!existsSync(file)) return null;
  const windows = readFileSync(file, 'utf8').split('\n').filter(Boolean)
    .map((line) => JSON.parse(line) as { at: number; p99: number; max: number })
    .filter((w) => w.at >= from && w.at <= to);
  if (windows.length === 0) return null;
  return {
    windows: windows.length,
    max: Math.max(...windows.map((w) => w.max)),
    medianWindowP99: Math.round(median(windows.map((w) => w.p99)) * 100) / 100,
    windowsOver10ms: windows.filter((w) => w.max > 10).length,
  };
}

export interface LatencyOptions {
  /** A service started with LOOP_DELAY_FLAGS and LOOP_DELAY_FILE=loopDelayFile. */
  service: Started;
  token: string;
  loopDelayFile: string;
  floorPage1Rps: number;
  /** The offered rate, when not half the floor's (`--rate`). */
  rate?: number;
  /** The floor (bench/floor-server.ts), running: measured alone the same way, when given. */
  floor?: Started;
  seconds: number;
  warmupS: number;
  log: (line: string) => void;
}

export async function measureLatencyUnderLoad(o: LatencyOptions): Promise<LatencyResult> {
  const headers = { authorization: `Token ${o.token}` };
  const page1 = `${o.service.baseUrl}${LIST_PATH}`;
  const rate = o.rate ?? Math.max(1, Math.round(o.floorPage1Rps / 2));
  /**
   * `url` paced after `o.warmupS` seconds of settling at the same rate in the same client, with the
   * steal over its measured seconds and when they began (epoch ms). `onMeasuring` is called then.
   */
  const pacedPhase = async (url: string, onMeasuring?: () => void) => {
    let measuredFrom = Date.now();
    let cpuFrom = cpuTimes();
    const result = await runPacedProcess(url, headers, rate, o.seconds, o.warmupS, () => {
      measuredFrom = Date.now();
      cpuFrom = cpuTimes();
      onMeasuring?.();
    });
    return { result: { ...result, steal: stealShare(cpuFrom, cpuTimes()) }, measuredFrom };
  };
  /** Page 1 of the service paced, and its loop delay over exactly the measured span (not an export's tail after it). */
  const paced = async (onMeasuring?: () => void) => {
    const { result, measuredFrom } = await pacedPhase(page1, onMeasuring);
    // The window that was open when the run ended is written up to 250 ms later.
    const to = Date.now() + 250;
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { ...result, loopDelay: loopDelayBetween(o.loopDelayFile, measuredFrom, to) };
  };

  let floorIdle: PacedPhase | null = null;
  if (o.floor) {
    o.log(`latency: the floor's page 1 paced at ${rate} req/s for ${o.seconds} s (after ${o.warmupS} s settling)`);
    floorIdle = (await pacedPhase(`${o.floor.baseUrl}${LIST_PATH}`)).result;
  }
  o.log(`latency: page 1 paced at ${rate} req/s (the floor's best: ${Math.round(o.floorPage1Rps)}) for ${o.seconds} s (after ${o.warmupS} s settling)`);
  const idle = await paced();

  /**
   * The paced run while full exports of `format` run one at a time, back to back, so that one is
   * running throughout: the first starts as the measured seconds begin (its start is part of what a
   * page beside an export sees), not while the client settles.
   */
  const besideExports = async (format: keyof typeof EXPORT_QUERY): Promise<ExportPhase> => {
    o.log(`latency: the same while full ${format.toUpperCase()} exports run one after another`);
    let pacedDone = false;
    const exports: { ms: number; status: number }[] = [];
    let exporting: Promise<void> = Promise.resolve();
    const startExports = () => {
      exporting = (async () => {
        while (!pacedDone) exports.push(await download(`${o.service.baseUrl}${LIST_PATH}?${EXPORT_QUERY[format]}`, headers));
      })();
    };
    let during: LatencyPhase;
    try {
      during = await paced(startExports);
    } finally {
      pacedDone = true;
      await exporting;
    }
    return {
      ...during, exports: exports.length,
      exportMedianMs: Math.round(median(exports.map((e) => e.ms))), exportErrors: exports.filter((e) => e.status !== 200).length,
    };
  };
  const duringExport = await besideExports('xlsx');
  const duringCsvExport = await besideExports('csv');
  return {
    floorPage1Rps: o.floorPage1Rps,
    floorIdle,
    offeredRps: rate,
    ...(o.rate === undefined ? {} : { fixedRate: true }),
    seconds: o.seconds,
    settleSeconds: o.warmupS,
    idle,
    duringExport,
    duringCsvExport,
  };
}

const exportsRun = (p: ExportPhase) => `${p.exports} export(s), median ${p.exportMedianMs} ms each, ${p.exportErrors} failed`;
const met = (p99: number, target: number) => (p99 < target ? `met (< ${target} ms)` : `not met (target < ${target} ms)`);
const delay = (d: LoopDelay | null) =>
  d ? `max ${d.max} ms, median window p99 ${d.medianWindowP99} ms, ${d.windowsOver10ms}/${d.windows} windows over 10 ms` : 'n/a';

/** The `## Latency under load (open loop)` section of RESULTS.md. */
export function latencySection(r: LatencyResult, about: { commit: string; date: string; rows: number; command: string }): string {
  const row = (name: string, p: PacedPhase & { loopDelay?: LoopDelay | null }, target: number | null) =>
    `| ${name} | ${p.requests} | ${p.achievedRps.toFixed(0)} | ${p.p50} | ${p.p99} | ${p.max} | ${p.errors} | ${p.lateSends} | ${p.connectionsOpened} | ${p.clientCpuPerRequestUs} | ${stealPct(p.steal)} | ` +
    `${target === null ? '—' : met(p.p99, target)} | ${p.loopDelay === undefined ? '—' : delay(p.loopDelay)} |`;
  const bySecond = (p: PacedResult) => p.p99BySecond.join(', ');
  return `## Latency under load (open loop)

\`${about.command}\` at ${about.commit}, ${about.date}: ${about.rows.toLocaleString('en')} customers. Page 1 offered at
${r.offeredRps} req/s, ${r.fixedRate ? `as \`--rate\` set it (not the issue's rate: half the floor's best page-1 rate in the same run, ${Math.round(r.floorPage1Rps)} req/s, would be ${Math.round(r.floorPage1Rps / 2)})` : `half the floor's best page-1 rate in the same run (${Math.round(r.floorPage1Rps)} req/s)`}, for ${r.seconds} s,
by bench/paced.ts: each request sent at its own due time (evenly spaced) whatever the others are doing, its latency
measured from that due time (ms). "Late" counts sends more than 2 ms behind schedule (the client fell behind).
The client opens ${PACED_CONNECTIONS} connections before each phase and keeps to them (a due request that finds all busy waits in
the client, its wait counted); "Opened" counts connections it had to open again during the phase (after one was closed).
${r.settleSeconds ? `Each phase's client first paces ${r.settleSeconds} s at the same rate, unmeasured, and runs on into the measured seconds
without a gap: a fresh process's first seconds are cold code, the client's and the service's, as wrk2 calibrates before it measures.
The export phases start their first export as the measured seconds begin.
` : ''}"Client µs" is the paced client's own CPU per request (user + system, its process): what the load generator took from
the two cores it shares with the service and PostgreSQL (at R req/s, R × µs / 1,000,000 of a core).
"Steal" is the share of the machine's CPU time the hypervisor gave to other guests during the phase's measured seconds (bench/cpu-steal.ts).
Event-loop delay is the service's own (perf_hooks.monitorEventLoopDelay, preloaded by bench/loop-delay.mjs, 250 ms windows).
During the export phases, full exports ran one after another, downloaded at full speed: XLSX (\`${EXPORT_QUERY.xlsx}\`)
${exportsRun(r.duringExport)}${r.duringCsvExport ? `; CSV (\`${EXPORT_QUERY.csv}\`, written by PostgreSQL's \`COPY\`: no target) ${exportsRun(r.duringCsvExport)}` : ''}.

| Phase | Requests | Achieved req/s | p50 | p99 | max | Errors | Late | Opened | Client µs | Steal | p99 target | Service event-loop delay |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${r.floorIdle ? `${row('Floor alone (node:http + pg, the same statement)', r.floorIdle, null)}\n` : ''}${row('Page 1 alone', r.idle, TARGET_P99_MS.idle)}
${row('Page 1 during an XLSX export', r.duringExport, TARGET_P99_MS.duringExport)}
${r.duringCsvExport ? `${row('Page 1 during a CSV export', r.duringCsvExport, null)}\n` : ''}
p99 of each second's requests, in order (ms): ${r.floorIdle ? `floor alone ${bySecond(r.floorIdle)}; ` : ''}page 1 alone ${bySecond(r.idle)};
during the XLSX export ${bySecond(r.duringExport)}${r.duringCsvExport ? `; during the CSV export ${bySecond(r.duringCsvExport)}` : ''}.
`;
}

/** Puts `section` into the markdown file at `md`, replacing an earlier one, else before "## Read clients"/"## Soak run", else at the end. */
export function writeLatencySection(md: string, section: string): void {
  const previous = existsSync(md) ? readFileSync(md, 'utf8') : '';
  const start = previous.indexOf('\n## Latency under load');
  let text: string;
  if (start !== -1) {
    const next = previous.indexOf('\n## ', start + 1);
    text = `${previous.slice(0, start).trimEnd()}\n\n${section}${next === -1 ? '' : `\n${previous.slice(next + 1)}`}`;
  } else {
    const before = [previous.indexOf('\n## Read clients'), previous.indexOf('\n## Soak run')].filter((i) => i !== -1);
    const at = before.length ? Math.min(...before) : -1;
    text = at === -1 ? `${previous.trimEnd()}\n\n${section}` : `${previous.slice(0, at).trimEnd()}\n\n${section}\n${previous.slice(at + 1)}`;
  }
  writeFileSync(md, text);
}
