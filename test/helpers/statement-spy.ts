/**
 * Records every statement this process sends to a database, however it is sent: pool.query, a
 * snapshot's BEGIN, its cursor or COPY (all go through pg.Client.prototype.query). Registers its
 * hooks in the calling describe: installed before its tests, cleared after each, removed after all.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, vi } from 'vitest';

export function spyOnStatements(): { statements(): readonly string[]; clear(): void } {
  let statements: string[] = [];
  beforeAll(() => {
    const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
    vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const first = args[0];
      statements.push(typeof first === 'string' ? first : String((first as { text?: string }).text));
      return query.apply(this, args);
    } as typeof pg.Client.prototype.query);
  });
  afterAll(() => vi.restoreAllMocks());
  afterEach(() => {
    statements = [];
  });
  return {
    statements: () => statements,
    clear: () => {
      statements = [];
    },
  };
}
