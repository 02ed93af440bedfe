/**
 * Compression's cost, measured in the same run on the same service process: page 1 requests and
 * full CSV exports asked with `Accept-Encoding: gzip` against the same requests without it,
 * alternating round by round (page 1) and export by export, so other work on a shared machine
 * hits both alike. The export client decompresses, as a real one does, and counts the rows.
 */
import { loadavg } from 'node:os';
import type { Started } from './processes.js';
import { download, median, runAutocannon, type Download } from './load.js';
import { withPeakRss } from './processes.js';
import { LIST_PATH } from './scenarios.js';
import type { Measured } from './load.js';

export const GZIP = { 'accept-encoding': 'gzip' } as const;

export interface CompressedExport {
  runs: number; rows: number; wireBytes: number; ms: number; rowsPerSec: number; peakRssMb: number | null; errors: string | null;
}

export interface CompressionResult {
  page1: { identity: Measured; gzip: Measured };
  exportCsv: { identity: CompressedExport; gzip: CompressedExport } | null;
}

export interface CompressionSettings {
  durationS: number;
  warmupS: number;
  rounds: number;
  connections: number;
}

/** Page 1, `rounds` alternating rounds of each; the best round of each is its result. */
export async function measurePage1(service: Started, token: string, s: CompressionSettings): Promise<CompressionResult['page1']> {
  const url = `${service.baseUrl}${LIST_PATH}`;
  const variants = [{ authorization: `Token ${token}` }, { authorization: `Token ${token}`, ...GZIP }];
  if (s.warmupS > 0) for (const headers of variants) await runAutocannon(url, headers, s.connections, s.warmupS);
  const rounds: Measured[][] = [[], []];
  for (let round = 0; round < s.rounds; round++) {
    for (const [i, headers] of variants.entries()) {
      const loadAvg1m = loadavg()[0]!;
      const { result, peakRssMb } = await withPeakRss(service.pid, () => runAutocannon(url, headers, s.connections, s.durationS / s.rounds));
      rounds[i]!.push({ ...result, peakRssMb, loadAvg1m, roundsRps: [] });
    }
  }
  const [identity, gzip] = rounds.map((runs) => {
    const best = runs.reduce((a, b) => (b.rps > a.rps ? b : a));
    return { ...best, roundsRps: runs.map((r) => Math.round(r.rps)) };
  });
  return { identity: identity!, gzip: gzip! };
}

/** Full CSV exports, identity and gzip one after the other until `seconds` are up (at least one pair after a warm-up pair). */
export async function measureExportCsv(service: Started, token: string, seconds: number): Promise<NonNullable<CompressionResult['exportCsv']>> {
  const url = `${service.baseUrl}${LIST_PATH}?format=csv&limit=all`;
  const get = (extra: Record<string, string>) => download(url, { authorization: `Token ${token}`, ...extra });
  const runs: [Download[], Download[]] = [[], []];
  const { peakRssMb } = await withPeakRss(service.pid, async () => {
    await get({});
    await get(GZIP);
    const until = performance.now() + seconds * 1000;
    do {
      runs[0].push(await get({}));
      runs[1].push(await get(GZIP));
    } while (performance.now() < until);
  });
  const summarise = (list: Download[]): CompressedExport => {
    const ms = median(list.map((d) => d.ms));
    const bad = list.find((d) => d.status !== 200);
    const rows = list[0]!.lines - 1;
    return { runs: list.length, rows, wireBytes: list[0]!.bytes, ms, rowsPerSec: rows / (ms / 1000), peakRssMb, errors: bad ? `HTTP ${bad.status}` : null };
  };
  return { identity: summarise(runs[0]), gzip: summarise(runs[1]) };
}
