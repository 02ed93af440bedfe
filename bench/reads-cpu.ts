/**
 * `tsx bench/reads-cpu.ts` (DATABASE_URL: a PostgreSQL server): what one read costs the Node
 * process, in CPU microseconds, on `pg` and through Prisma's `$queryRaw`, for the same page-1
 * statement (resource/list-sql.ts) on the same pool, 8 at a time, in alternating passes; the best
 * pass of each is printed. Beside the service benchmark (`npm run bench -- --reads`), this isolates
 * the client's own work from HTTP, rendering and the database, and compares the variants tried:
 * `$queryRaw` and `$queryRawUnsafe` with the statement's text and values (what
 * repository/prisma-reads.ts runs) on the service's client (errorFormat 'minimal'), and Prisma's
 * default error format. Uses the benchmark's 10,000-customer database (bench/databases.ts).
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { loadConfig } from '../src/config.js';
import { customerResource } from '../src/customers/customer.resource.js';
import { openDatabase } from '../src/db/database.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { compileListQuery } from '../src/resource/list-sql.js';
import { prepareBenchDatabase } from './databases.js';

const QUERIES = 6_000;
const CONCURRENCY = 8;
const PASSES = 4;

const { DATABASE_URL } = loadConfig();
if (!DATABASE_URL) {
  process.stderr.write('usage: DATABASE_URL=postgresql://… tsx bench/reads-cpu.ts\n');
  process.exit(2);
}
const bench = await prepareBenchDatabase(DATABASE_URL, 10_000, (line) => process.stderr.write(`[reads-cpu] ${line}\n`));
await bench.pool.end();
const db = await openDatabase({ ...loadConfig(), DATABASE_URL: bench.url, DB_POOL_MAX: 4 });
const prettyErrors = new PrismaClient({ adapter: new PrismaPg(db.pool) });
try {
  const sql = compileListQuery(customerResource);
  const { conditions, ordering } = customerResource.parseQuery(new Map());
  const page = () => sql.page(conditions, ordering, 0, 10);
  const prisma = await db.prisma();
  const variants: Record<string, () => Promise<unknown>> = {
    'pg': () => db.pool.query(page()),
    "$queryRaw (errorFormat 'minimal')": () => prisma.$queryRaw(page()),
    '$queryRawUnsafe(text, ...values) (minimal, as served)': () => {
      const { text, values } = page();
      return prisma.$queryRawUnsafe(text, ...values);
    },
    '$queryRaw (default errorFormat)': () => prettyErrors.$queryRaw(page()),
  };
  const best = new Map<string, { cpuUs: number; perSecond: number }>();
  for (let pass = 0; pass < PASSES; pass++) {
    for (const [name, read] of Object.entries(variants)) {
      const started = performance.now();
      const cpu = process.cpuUsage();
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        for (let i = 0; i < QUERIES / CONCURRENCY; i++) await read();
      }));
      const used = process.cpuUsage(cpu);
      const result = { cpuUs: (used.user + used.system) / QUERIES, perSecond: QUERIES / ((performance.now() - started) / 1000) };
      if (!best.has(name) || result.cpuUs < best.get(name)!.cpuUs) best.set(name, result);
    }
  }
  for (const [name, { cpuUs, perSecond }] of best) {
    process.stdout.write(`${name.padEnd(54)} ${cpuUs.toFixed(0).padStart(5)} µs CPU per read  ${perSecond.toFixed(0).padStart(6)} reads/s\n`);
  }
} finally {
  await prettyErrors.$disconnect();
  await db.close();
}
