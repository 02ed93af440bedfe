/**
 * EXPLAIN ANALYZE of every filter scenario's statements, with any sequential scan flagged: the
 * issue's "every filter scenario uses an index", checked on the data the load ran against. The
 * service runs them as named prepared statements (src/db/prepared-statements.ts), so each is first
 * executed as the service would, six times under its name: the plan explained is the one PostgreSQL
 * then uses, its generic plan where it chose one (`plan` says which), else a custom one.
 */
import type pg from 'pg';
import { statementName } from '../src/db/prepared-statements.js';
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
  /** Which plan a warm prepared statement runs: `generic` (planned once) or `custom` (planned per execution). */
  planKind: 'generic' | 'custom';
}

/** PostgreSQL plans a named statement's first five executions with their values, then weighs a generic plan. */
const WARM_EXECUTIONS = 6;

const SCAN = /((?:Parallel )?(?:Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan|Bitmap Index Scan)(?: Backward)?(?: using \S+)? on \S+|Bitmap Index Scan on \S+)/;

export async function explainScenarios(pool: pg.Pool, scenarios: readonly Scenario[]): Promise<Plan[]> {
  const plans: Plan[] = [];
  const client = await pool.connect();
  try {
    for (const scenario of scenarios.filter((s) => s.explain)) {
      const { page, count } = statementsFor(scenario.query);
      for (const [statement, fragment] of [['page', page], ['count', count]] as const) {
        if (!fragment) continue;
        const name = statementName(fragment.text);
        for (let i = 0; i < WARM_EXECUTIONS; i++) await client.query({ name, text: fragment.text, values: fragment.values });
        const { rows: kinds } = await client.query<{ generic: boolean }>('SELECT generic_plans > 0 AS generic FROM pg_prepared_statements WHERE name = $1', [name]);
        const planKind = kinds[0]?.generic ? 'generic' : 'custom';
        // EXPLAIN takes no statement name; the same text under the same plan mode gives the same plan.
        await client.query(`SET plan_cache_mode = ${planKind === 'generic' ? 'force_generic_plan' : 'force_custom_plan'}`);
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${fragment.text}`, fragment.values);
        await client.query('RESET plan_cache_mode');
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
          planKind,
        });
      }
    }
  } finally {
    await client.query('DEALLOCATE ALL').catch(() => {});
    client.release();
  }
  return plans;
}
