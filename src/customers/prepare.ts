/**
 * What a starting service does to its database before taking traffic:
 * apply pending migrations, then, on a database without customers, load the
 * demo data (and mint the demo token, which the caller prints once).
 */
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { hasCustomers, seedDemoData, type SeedResult } from './seed.js';
import { createTokenStore } from '../auth/token-store.js';

export interface PrepareResult {
  applied: string[];
  seed: SeedResult | null;
}

export async function prepareDatabase(
  db: Database,
  options: { seedWhenEmpty: boolean; log?: (message: string) => void },
): Promise<PrepareResult> {
  const { applied } = await migrate(db.migrationPool, { log: options.log ?? (() => undefined) });
  const seed =
    options.seedWhenEmpty && !(await hasCustomers(db.pool))
      ? await seedDemoData(db.pool, createTokenStore(db))
      : null;
  return { applied, seed };
}
