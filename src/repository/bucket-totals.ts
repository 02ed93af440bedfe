/**
 * The summaries' totals per data version (resource/summary-sql.ts BucketTotals), kept in this
 * process so that a range count or a deep page does not sum a summary again while nothing has
 * been written: its statement takes the interior's rows or the start bucket from here whenever the
 * version it reads is the one they were read at, and sums the summary otherwise. So a stale entry
 * costs nothing but the summing it would have saved, and can never change an answer.
 *
 * A summary's totals are read (one statement: the version and every bucket's rows, ~1,000 to a few
 * thousand rows here) only after a statement that could have used them read a newer version,
 * one read at a time per summary and at most once per `refreshIntervalMs`: under constant writes
 * the entries are rarely current, and the reads stay a small, bounded cost.
 */
import { parseTotals, type BucketTotals } from '../resource/summary-sql.js';
import type { Sql } from '../resource/list-sql.js';

export interface BucketTotalsCache {
  /** The totals of `summary` at the latest version read, if any; notes that a statement wanted them. */
  of(summary: string): BucketTotals | undefined;
  /** After a statement read `version`: reads again the wanted totals that are at another version. */
  seen(version: string | null): void;
}

export interface BucketTotalsOptions {
  /** Each summary's statement (`totalsStatements`), returning `{ v, t }`. */
  statements: readonly { summary: string; statement: Sql }[];
  /** Runs one of those statements where the list reads (the replica set's choice, or the primary). */
  read(statement: Sql): Promise<{ v: string; t: unknown } | undefined>;
  refreshIntervalMs?: number;
}

export const TOTALS_REFRESH_INTERVAL_MS = 1_000;

/** One summary's totals and what decides when they are read again. */
interface Entry {
  statement: Sql;
  totals: BucketTotals | undefined;
  /** A statement asked for them since they were last read. */
  wanted: boolean;
  reading: boolean;
  /** performance.now() of the last read's start. */
  lastRead: number;
}

export function createBucketTotalsCache({ statements, read, refreshIntervalMs = TOTALS_REFRESH_INTERVAL_MS }: BucketTotalsOptions): BucketTotalsCache {
  const entries = new Map<string, Entry>(
    statements.map(({ summary, statement }) => [summary, { statement, totals: undefined, wanted: false, reading: false, lastRead: -Infinity }]),
  );

  async function refresh(entry: Entry): Promise<void> {
    entry.reading = true;
    entry.lastRead = performance.now();
    try {
      const row = await read(entry.statement);
      const totals = row ? parseTotals(row.v, row.t) : null;
      // Versions only grow; a lagging replica's older totals would only be used less often, never wrongly.
      if (totals && (!entry.totals || BigInt(totals.version) >= BigInt(entry.totals.version))) entry.totals = totals;
    } catch {
      // The totals are only a saving: the statements sum the summary without them. A database that
      // fails here fails the requests themselves too, which report it.
    } finally {
      entry.reading = false;
    }
  }

  return {
    of(summary) {
      const entry = entries.get(summary);
      if (!entry) return undefined;
      entry.wanted = true;
      return entry.totals;
    },
    seen(version) {
      if (version === null) return;
      for (const entry of entries.values()) {
        if (!entry.wanted || entry.reading || entry.totals?.version === version) continue;
        if (performance.now() - entry.lastRead < refreshIntervalMs) continue;
        entry.wanted = false;
        void refresh(entry);
      }
    },
  };
}
