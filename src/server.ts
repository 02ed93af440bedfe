/**
 * Process entry: read config, open and prepare the database, build the app,
 * listen, and shut down gracefully on SIGTERM/SIGINT (in-flight requests get
 * SHUTDOWN_GRACE_MS to finish; then the pool and embedded database close).
 */
import { pathToFileURL } from 'node:url';
import closeWithGrace from 'close-with-grace';
import { ConfigError, ConfigSchema, loadConfig, seedsDemoData, type Config } from './config.js';
import { commandLineOrExit, type CommandSpec } from './command-line.js';

const SERVER_COMMAND: CommandSpec = {
  script: 'start',
  summary: 'Builds, then serves GET/HEAD/OPTIONS /api/v1/oms/customers/list-simple/ (migrating, and seeding an empty database, first).',
  env: Object.keys(ConfigSchema.shape) as (keyof typeof ConfigSchema.shape)[],
  notes: [
    'An embedded DATA_DIR has one owner at a time: a second server on it exits 1 naming the owner;',
    'the npm commands run meanwhile work through this server\'s database.',
  ],
};

export async function startServer(config: Config) {
  // Loaded here rather than at the top: `--help` and a bad configuration answer without loading the
  // app, the database drivers and Prisma (about a second of CPU).
  const [{ buildApp }, { openDatabase }, { prepareDatabase }, { statementTimeoutMismatch }] = await Promise.all([
    import('./app.js'),
    import('./db/database.js'),
    import('./customers/prepare.js'),
    import('./db/statement-timeout.js'),
  ]);
  const database = await openDatabase(config, { role: 'server' });
  const app = await buildApp(config, { database });
  try {
    const { applied, seed } = await prepareDatabase(database, {
      seedWhenEmpty: seedsDemoData(config),
      log: (message) => app.log.info(message),
    });
    if (applied.length > 0) app.log.info({ applied }, 'migrations applied');
    // PGlite enforces no statement_timeout at all (db/embedded.ts): nothing to compare there.
    const mismatch = database.embedded ? null : await statementTimeoutMismatch(database.pool, config.DB_STATEMENT_TIMEOUT_MS);
    if (mismatch) app.log.warn(mismatch);
    await app.listen({ port: config.PORT, host: config.HOST });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    // Only now, migrated and serving: commands on this DATA_DIR use the server's database from here on.
    database.publish(port);
    if (seed?.demoToken) {
      const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
      // Printed once, on the start that minted it: only its hash is stored.
      app.log.info(
        { demoToken: seed.demoToken },
        `demo data loaded; try: curl -H 'Authorization: Token ${seed.demoToken}' http://${host}:${port}/api/v1/oms/customers/list-simple/`,
      );
    }
    app.log.info({ database: database.embedded ? `embedded (${config.DATA_DIR})` : 'postgresql' }, 'oms-customers ready');
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}

/** How long before SHUTDOWN_GRACE_MS is spent the connections still open are closed: time for the app to close after them. */
const CUT_BEFORE_GRACE_MS = 1_000;

async function main() {
  const args = commandLineOrExit(SERVER_COMMAND, process.argv.slice(2));
  if ('exitCode' in args) process.exit(args.exitCode);
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const app = await startServer(config);
  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down');
    // What still runs shortly before the grace is spent (a long export) is cut, rather than left to
    // the forced exit: the app then closes in order, its export workers ended by asking them
    // (rest/renderers/xlsx-worker-pool.ts), which a process exit would stop wherever they are.
    const cut = setTimeout(() => {
      app.log.warn({ shutdownGraceMs: config.SHUTDOWN_GRACE_MS }, 'shutting down: closing the connections still open');
      app.server.closeAllConnections();
    }, Math.max(0, config.SHUTDOWN_GRACE_MS - CUT_BEFORE_GRACE_MS));
    try {
      await app.close();
    } finally {
      clearTimeout(cut);
    }
  });
}

// Run only as the entry point, so tests can import startServer.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`oms-customers failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
