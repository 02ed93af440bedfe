/**
 * Big ranges and deep pages (issue 14, part 4), before and after, in one run: two built services
 * on the same database, this checkout's and another's (`--before DIR`, e.g. `git archive main`
 * unpacked and built), driven in alternating rounds by autocannon. The range scenarios move their
 * bound on every request (a different second, or id, each time), so every count is cold: the count
 * cache (repository/count-cache.ts) never answers, as for clients that each sync from their own
 * last timestamp.
 *
 *   DATABASE_URL=postgresql://…/db npx tsx bench/ranges.ts --before /tmp/before [--seconds 10] [--rounds 3]
 *
 * The database must be migrated (with this checkout's migrations) and filled
 * (`npm run db:generate-customers -- --count 1000000`); both services must be built (`node scripts/build.mjs`).
 * `--only 1,3` runs only those scenarios (1-based).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { freshToken } from './databases.js';
import { NODE_FLAGS, startProcess, type Started } from './processes.js';

const LIST = '/api/v1/oms/customers/list-simple/';
const ROOT = join(import.meta.dirname, '..');

interface RangeScenario {
  id: string;
  /** The query of the i-th request. */
  query(i: number): string;
  connections: number;
}

const SINCE = Date.parse('2022-01-01T00:00:00Z');
const SCENARIOS: RangeScenario[] = [
  { id: 'id__gt=500000+i&sort=-id', query: (i) => `id__gt=${500_000 + (i % 100_000)}&sort=-id`, connections: 32 },
  {
    id: 'modified_date__gte=2022-01-01T00:00:00Z+i s&sort=modified_date',
    query: (i) => `modified_date__gte=${new Date(SINCE + (i % 86_400) * 1000).toISOString()}&sort=modified_date`,
    connections: 32,
  },
  { id: 'page=50000', query: () => 'page=50000', connections: 32 },
  // The ceiling: what the service answers when the SQL costs next to nothing.
  { id: '(page 1, for reference)', query: () => '', connections: 32 },
];

const { values } = parseArgs({ options: { before: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' }, warmup: { type: 'string' }, only: { type: 'string' } } });
const only = values.only?.split(',');
if (!values.before || !process.env.DATABASE_URL) {
  process.stderr.write('usage: DATABASE_URL=… npx tsx bench/ranges.ts --before DIR [--seconds 10] [--rounds 3] [--warmup 3]\n');
  process.exit(2);
}
const seconds = Number(values.seconds ?? 10);
const rounds = Number(values.rounds ?? 3);
const warmup = Number(values.warmup ?? 3);

async function load(service: Started, token: string, scenario: RangeScenario, duration: number) {
  let i = 0;
  const result = await autocannon({
    url: service.baseUrl,
    connections: scenario.connections,
    duration,
    headers: { authorization: `Token ${token}` },
    requests: [{ setupRequest: (request) => ({ ...request, path: `${LIST}?${scenario.query(i++)}` }) }],
  });
  return { rps: result.requests.total / result.duration, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx };
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
const token = await freshToken(pool, 'bench-ranges');

/**
 * Waits (up to 60 s) until no statement of either service still runs: autocannon's end closes the
 * sockets, not the statements behind them, and a slow round's 32 leftover statements (a deep page
 * of the "before" service takes ~0.3 s each) would otherwise eat into the next round.
 */
async function databaseSettles(): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'oms-customers' AND state = 'active'`,
    );
    if (rows[0]!.n === 0) return;
  }
}

const env = { NODE_ENV: 'production', LOG_LEVEL: 'warn', DATABASE_URL: process.env.DATABASE_URL, SEED_DEMO_DATA: 'false' };
const before = await startProcess('before', [...NODE_FLAGS, join(values.before, 'dist', 'server.js')], env, '/tmp/bench-ranges-before.log');
const after = await startProcess('after', [...NODE_FLAGS, join(ROOT, 'dist', 'server.js')], env, '/tmp/bench-ranges-after.log');
try {
  for (const scenario of SCENARIOS.filter((_, i) => !only || only.includes(String(i + 1)))) {
    const runs: Record<string, { rps: number; p50: number; p99: number; errors: number }[]> = { before: [], after: [] };
    for (const [, service] of [['before', before], ['after', after]] as const) {
      await load(service, token, scenario, warmup);
      await databaseSettles();
    }
    for (let round = 0; round < rounds; round++) {
      for (const [name, service] of [['before', before], ['after', after]] as const) {
        runs[name]!.push(await load(service, token, scenario, seconds));
        await databaseSettles();
      }
    }
    // Best round of each: interference on shared cores only ever slows a round down.
    const best = (name: string) => runs[name]!.reduce((a, b) => (b.rps > a.rps ? b : a));
    const [b, a] = [best('before'), best('after')];
    const rounded = (name: string) => runs[name]!.map((r) => Math.round(r.rps)).join(', ');
    process.stdout.write(
      `| \`${scenario.id}\` | ${Math.round(b.rps)} (${rounded('before')}) | ${b.p50} / ${b.p99} | ${Math.round(a.rps)} (${rounded('after')}) | ${a.p50} / ${a.p99} | ` +
        `${(a.rps / b.rps).toFixed(1)}× | ${b.errors + a.errors} |\n`,
    );
  }
} finally {
  await Promise.all([before.stop(), after.stop()]);
  await pool.end();
}
