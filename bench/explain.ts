/**
 * EXPLAIN ANALYZE of every filter scenario's statements, with any sequential scan flagged: the
 * issue's "every filter scenario uses an index", checked on the data the load ran against.
 */
import type pg from 'pg';
import { statementsFor, type Scenario } from './scenarios.js';

export interface Plan {
  scenario: string;
  statement: 'page' | 'count';
  sql: string;
  values: string[];
  plan: string;
  seqScan: boolean;
  /** Scan nodes in plan order, e.g. `Index Only Scan using customer_pkey on customer`. */
  scans: string[];
  executionMs: number | null;
}

const SCAN = /((?:Parallel )?(?:Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan|Bitmap Index Scan)(?: Backward)?(?: using \S+)? on \S+|Bitmap Index Scan on \S+)/;

export async function explainScenarios(pool: pg.Pool, scenarios: readonly Scenario[]): Promise<Plan[]> {
  const plans: Plan[] = [];
  for (const scenario of scenarios.filter((s) => s.explain)) {
    const { page, count } = statementsFor(scenario.query);
    for (const [statement, fragment] of [['page', page], ['count', count]] as const) {
      if (!fragment) continue;
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${fragment.text}`, fragment.values);
      const lines = rows.map((r) => r['QUERY PLAN']);
      const time = /Execution Time: ([\d.]+) ms/.exec(lines.join('\n'));
      plans.push({
        scenario: scenario.id,
        statement,
        sql: fragment.text,
        values: fragment.values.map(String),
        plan: lines.join('\n'),
        // On the customer table: the summaries (a few thousand rows, read whole) are scanned sequentially by design.
        seqScan: lines.some((l) => /Seq Scan on customer(?!_)/.test(l)),
        scans: lines.map((l) => SCAN.exec(l)?.[1]).filter((s): s is string => Boolean(s)),
        executionMs: time ? Number(time[1]) : null,
      });
    }
  }
  return plans;
}
