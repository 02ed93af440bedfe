/**
 * Operator commands, thin wrappers over the modules that do the work:
 *   migrate                  apply pending migrations (offline, no Prisma engine)
 *   seed                     load the demo data (idempotent); prints a demo token if one was minted
 *   token:create <username>  create the user if needed; the new key is the last line of output
 *   token:revoke <key>       delete that token
 *   user:deactivate <username> / user:activate <username>
 *   customers:import <file> [--dry-run]  load a CSV export or JSON Lines, all or nothing
 * They run against DATABASE_URL, or the embedded database in DATA_DIR (stop the
 * server first: an embedded database has one owner at a time).
 */
import { ConfigError, defaultConfig, loadConfig, type Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { seedDemoData } from './db/seed.js';
import { createTokenStore } from './auth/token-store.js';
import { runImportCommand } from './db/import-customers.js';
import { customerResource } from './customers/customer.resource.js';
import { runMain } from './lib/run-main.js';

type Out = (line: string) => void;

const USAGE = 'usage: cli <migrate | seed | token:create USERNAME | token:revoke KEY | user:deactivate USERNAME | user:activate USERNAME | customers:import FILE [--dry-run]>';

export async function runCommand(
  db: Database,
  args: string[],
  out: Out,
  err: Out,
  config: Pick<Config, 'CSV_FORMULA_GUARD'> = defaultConfig(),
): Promise<number> {
  const [command, arg] = args;
  const tokens = createTokenStore(db);
  switch (command) {
    case 'migrate': {
      const { applied } = await migrate(db.pool, { log: err });
      out(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'no pending migrations');
      return 0;
    }
    case 'seed': {
      await migrate(db.pool, { log: err });
      const { customersInserted, demoToken } = await seedDemoData(db.pool, tokens);
      out(`demo data: ${customersInserted} customer(s) inserted`);
      if (demoToken) out(`demo user token (shown once):\n${demoToken}`);
      else out('the demo user already has a token; create another with: npm run token:create -- demo');
      return 0;
    }
    case 'token:create': {
      if (!arg) break;
      // A newcomer may mint a token before the first start: bring the schema up first.
      await migrate(db.pool, { log: err });
      const key = await tokens.create(arg);
      out(`token created for ${arg} (shown once; only its hash is stored):`);
      out(key);
      return 0;
    }
    case 'token:revoke': {
      if (!arg) break;
      if (await tokens.revoke(arg)) {
        out('token revoked');
        return 0;
      }
      err('no such token');
      return 1;
    }
    case 'user:deactivate':
    case 'user:activate': {
      if (!arg) break;
      if (await tokens.setUserActive(arg, command === 'user:activate')) {
        out(`user ${arg} ${command === 'user:activate' ? 'activated' : 'deactivated'}`);
        return 0;
      }
      err(`no such user: ${arg}`);
      return 1;
    }
    case 'customers:import':
      return runImportCommand(db.pool, customerResource, args.slice(1), { out, err, restoreFormulas: config.CSV_FORMULA_GUARD });
  }
  err(USAGE);
  return 2;
}

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const db = await openDatabase(config);
  try {
    return await runCommand(db, process.argv.slice(2), (l) => process.stdout.write(`${l}\n`), (l) => process.stderr.write(`${l}\n`), config);
  } finally {
    await db.close();
  }
}

runMain(import.meta.url, main);
