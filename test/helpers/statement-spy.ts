/**
 * Records every statement this process sends to a database, however it is sent: pool.query, a
 * snapshot's BEGIN, its cursor or COPY (all go through pg.Client.prototype.query). Registers its
 * hooks in the calling describe: installed before its tests, cleared after each, removed after all.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, vi } from 'vitest';

export interface SpiedStatement {
  text: string;
  values: readonly unknown[];
}

export function spyOnStatements(): { statements(): readonly string[]; calls(): readonly SpiedStatement[]; clear(): void } {
  let calls: SpiedStatement[] = [];
  beforeAll(() => {
    const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
    vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const first = args[0];
      if (typeof first === 'string') calls.push({ text: first, values: Array.isArray(args[1]) ? (args[1] as unknown[]) : [] });
      else {
        const config = first as { text?: string; values?: unknown[] };
        calls.push({ text: String(config.text), values: config.values ?? [] });
      }
      return query.apply(this, args);
    } as typeof pg.Client.prototype.query);
  });
  afterAll(() => vi.restoreAllMocks());
  afterEach(() => {
    calls = [];
  });
  return {
    statements: () => calls.map((call) => call.text),
    calls: () => calls,
    clear: () => {
      calls = [];
    },
  };
}
