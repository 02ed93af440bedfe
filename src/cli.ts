/**
 * Operator commands, thin wrappers over the modules that do the work; each is an npm script
 * (package.json) and answers `--help` (command-line.ts). Every command but `db:migrate`
 * brings the schema up first, so each works on a database never migrated.
 *
 * They run against DATABASE_URL, or the embedded database in DATA_DIR: through the running
 * server's database when a server owns DATA_DIR (what they write is served at once), else
 * owning DATA_DIR themselves for their run (db/database.ts, db/data-dir-owner.ts).
 */
import { ConfigError, defaultConfig, loadConfig, type Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { seedDemoData } from './customers/seed.js';
import { createTokenStore } from './auth/token-store.js';
import { runImportCommand } from './customers/customer.import.js';
import { customerResource } from './customers/customer.resource.js';
import { commandLineOrExit, EMBEDDED_NOTE, processIo, type ArgSpec, type CommandIo, type CommandSpec, type ParsedCommandLine } from './command-line.js';
import { runMain } from './lib/run-main.js';

type Out = (line: string) => void;

interface Io {
  out: Out;
  err: Out;
  config: Pick<Config, 'CSV_FORMULA_GUARD'>;
}

type RunArgs<Args extends readonly ArgSpec[]> = Omit<Extract<ParsedCommandLine<Args>, { kind: 'run' }>, 'kind'>;

interface Command {
  spec: CommandSpec;
  /** The exit code once help (0) or a usage error (2) has been printed, or the run `argv` asks for. */
  parse(argv: readonly string[], io: CommandIo): { exitCode: number } | { run(db: Database, io: Io): Promise<number> };
}

/** A command whose `run` gets the arguments its spec declares, typed: a required positional is a string. */
function defineCommand<const Args extends readonly ArgSpec[]>(definition: {
  spec: CommandSpec<Args>;
  run(db: Database, args: RunArgs<Args>, io: Io): Promise<number>;
}): Command {
  const { spec, run } = definition;
  return {
    spec,
    parse(argv, io) {
      const parsed = commandLineOrExit(spec, argv, io);
      return 'exitCode' in parsed ? parsed : { run: (db, runIo) => run(db, parsed, runIo) };
    },
  };
}

/** What every command reads; with the embedded database, see the note. */
const DATABASE_ENV = ['DATABASE_URL', 'DIRECT_DATABASE_URL', 'DATA_DIR', 'DB_CONNECT_TIMEOUT_MS'] as const;

const spec = <const Args extends readonly ArgSpec[] = readonly []>(
  s: Omit<CommandSpec<Args>, 'env' | 'notes'> & { env?: CommandSpec['env'] },
): CommandSpec<Args> => ({
  ...s,
  env: s.env ?? DATABASE_ENV,
  notes: EMBEDDED_NOTE,
});

/** Brings the schema up quietly, saying only what it applied. */
async function migrateFirst(db: Database, err: Out): Promise<void> {
  const { applied } = await migrate(db.migrationPool);
  if (applied.length) err(`applied ${applied.length} migration(s): ${applied.join(', ')}`);
}

const userCommand = (script: string, active: boolean): Command => defineCommand({
  spec: spec({
    script,
    summary: active
      ? 'Activates USERNAME again: its tokens authenticate once more.'
      : 'Deactivates USERNAME: its tokens then answer 401 "User inactive or deleted.".',
    args: [{ name: 'USERNAME', text: 'an existing user' }],
  }),
  async run(db, { positionals: [username] }, { out, err }) {
    await migrateFirst(db, err);
    if (await createTokenStore(db).setUserActive(username, active)) {
      out(`user ${username} ${active ? 'activated' : 'deactivated'}`);
      return 0;
    }
    err(`no such user: ${username}`);
    return 1;
  },
});

/** By the name src/cli.ts is given in package.json's scripts. */
export const COMMANDS: Record<string, Command> = {
  migrate: defineCommand({
    spec: spec({ script: 'db:migrate', summary: 'Applies the pending migrations of prisma/migrations.' }),
    async run(db, _args, { out, err }) {
      const { applied } = await migrate(db.migrationPool, { log: err });
      out(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'no pending migrations');
      return 0;
    },
  }),
  seed: defineCommand({
    spec: spec({
      script: 'db:seed',
      summary: 'Loads the demo customers (idempotent) and prints a demo token if the demo user had none.',
    }),
    async run(db, _args, { out, err }) {
      await migrateFirst(db, err);
      const { customersInserted, demoToken } = await seedDemoData(db.pool, createTokenStore(db));
      out(`demo data: ${customersInserted} customer(s) inserted`);
      if (demoToken) out(`demo user token (shown once):\n${demoToken}`);
      else out('the demo user already has a token; create another with: npm run token:create -- demo');
      return 0;
    },
  }),
  'token:create': defineCommand({
    spec: spec({
      script: 'token:create',
      summary: 'Creates USERNAME if needed (active) and a new API token for it; the key is alone on the last line.',
      args: [{ name: 'USERNAME', text: 'the user the token authenticates as (a name starting with - goes after --)' }],
    }),
    async run(db, { positionals: [username] }, { out, err }) {
      await migrateFirst(db, err);
      const key = await createTokenStore(db).create(username);
      out(`token created for ${username} (shown once; only its hash is stored):`);
      out(key);
      return 0;
    },
  }),
  'token:revoke': defineCommand({
    spec: spec({
      script: 'token:revoke',
      summary: 'Deletes the token with this key; exits 1 if there is none.',
      args: [{ name: 'KEY', text: 'the 40-character key token:create printed' }],
    }),
    async run(db, { positionals: [key] }, { out, err }) {
      await migrateFirst(db, err);
      if (await createTokenStore(db).revoke(key)) {
        out('token revoked');
        return 0;
      }
      err('no such token');
      return 1;
    },
  }),
  'user:deactivate': userCommand('user:deactivate', false),
  'user:activate': userCommand('user:activate', true),
  'customers:import': defineCommand({
    spec: spec({
      script: 'customers:import',
      summary: 'Loads customers from a CSV export (this service\'s or the original\'s) or JSON Lines, all or nothing.',
      args: [{ name: 'FILE', text: '.csv as exported, or .jsonl/.ndjson with one result object per line' }],
      options: { 'dry-run': { type: 'boolean', text: 'validate and report what would change, write nothing' } },
      env: [...DATABASE_ENV, 'CSV_FORMULA_GUARD'],
    }),
    async run(db, { positionals: [file], values }, { out, err, config }) {
      // The database first: a missing schema or an unreachable database shows before the file is read.
      await migrateFirst(db, err);
      return runImportCommand(db.pool, customerResource, { file, dryRun: values['dry-run'] === true }, {
        out,
        err,
        restoreFormulas: config.CSV_FORMULA_GUARD,
      });
    },
  }),
};

const GENERAL_USAGE = `usage: tsx src/cli.ts COMMAND [options] [arguments], COMMAND one of: ${Object.keys(COMMANDS).join(', ')}
(run through their npm scripts, e.g. npm run token:create -- --help)`;

/**
 * The command `args` names (first) and the run its arguments ask for, or the exit code once help
 * (0) or what is wrong with them (2) has been printed.
 */
function parseInvocation(
  args: readonly string[],
  io: CommandIo = processIo,
): { exitCode: number } | { command: Command; run(db: Database, io: Io): Promise<number> } {
  const [name, ...rest] = args;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    io.err(`${GENERAL_USAGE}\n`);
    return { exitCode: 2 };
  }
  const parsed = command.parse(rest, io);
  return 'exitCode' in parsed ? parsed : { ...parsed, command };
}

/** Runs `args` (command name first) on an open database; returns the exit code. */
export async function runCommand(
  db: Database,
  args: string[],
  out: Out,
  err: Out,
  config: Pick<Config, 'CSV_FORMULA_GUARD'> = defaultConfig(),
): Promise<number> {
  const parsed = parseInvocation(args, { out: (text) => out(text.trimEnd()), err: (text) => err(text.trimEnd()) });
  if ('exitCode' in parsed) return parsed.exitCode;
  return parsed.run(db, { out, err, config });
}

async function main(): Promise<number> {
  // Help and argument errors before the configuration and the database: they do nothing else.
  const parsed = parseInvocation(process.argv.slice(2));
  if ('exitCode' in parsed) return parsed.exitCode;
  const { command } = parsed;
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
  const db = await openDatabase(config, { role: 'command', name: command.spec.script });
  try {
    return await parsed.run(db, {
      out: (l) => process.stdout.write(`${l}\n`),
      err: (l) => process.stderr.write(`${l}\n`),
      config,
    });
  } finally {
    await db.close();
  }
}

runMain(import.meta.url, main);
